"""Small helpers shared by the study modules, the command line and the notebooks: one value or
a list, slugs for file and column names, and the per-item loop that reports failures and goes
on. (Base layer: no pandas; results are written by :func:`analysis.studies.core.write`.)"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Callable, Iterable, Iterator

from analysis.errors import first_line


def as_list(value) -> list:
    """A parameter given as one value, a comma-separated string or a list, as a list.

    ``None``, ``""`` and ``"none"`` give ``[]``; ``"a, b"`` gives ``["a", "b"]`` (papermill's
    ``-p`` passes strings, ``-y`` lists)."""
    if value is None:
        return []
    if isinstance(value, os.PathLike):
        return [value]
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() == "none":
            return []
        return [part.strip() for part in text.split(",") if part.strip()]
    return list(value)


def slug(text: str, default: str = "x") -> str:
    """Lower-case ``[a-z0-9_]`` form of a name, for column and file names (``default`` when
    nothing is left)."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or default


@contextlib.contextmanager
def failure_of(labels: list[str],
               reraise: tuple[type[BaseException], ...] = ()) -> Iterator[dict[str, str]]:
    """Run the block; an exception in it is recorded in the yielded dict as
    ``{label: "Type: first line"}`` for each of ``labels`` and swallowed, so a loop over
    items goes on — except ``KeyboardInterrupt`` and the types in ``reraise``, which propagate.
    The dict is empty when the block succeeded."""
    failed: dict[str, str] = {}
    try:
        yield failed
    except KeyboardInterrupt:
        raise
    except reraise:
        raise
    except Exception as exc:  # noqa: BLE001 - reported per item, the others go on
        message = first_line(exc, with_type=True)
        failed.update(dict.fromkeys(labels, message))


def run_each(items: Iterable, work: Callable, *, label: Callable = str, progress: bool = False,
             desc: str = "", reraise: tuple[type[BaseException], ...] = ()) -> tuple[list, dict]:
    """Call ``work(item)`` for every item; return ``(results, failures)``.

    A failure is recorded as ``{label(item): "Type: first line"}`` and the loop goes on, except
    for the exception types in ``reraise`` (and ``KeyboardInterrupt``). With ``progress`` a
    tqdm bar is shown and failures are written above it."""
    items = list(items)
    results, failures = [], {}
    bar = None
    if progress:
        from tqdm.auto import tqdm  # lazy: only a progress bar needs it (import ~0.1 s)

        bar = tqdm(items, desc=desc, unit="model", leave=False)
        iterator = bar
    else:
        iterator = items
    for item in iterator:
        with failure_of([label(item)], reraise) as failed:
            results.append(work(item))
        failures.update(failed)
        if failed and bar is not None:
            bar.write(f"{label(item)}: failed ({failed[label(item)]})")
    if bar is not None:
        bar.close()
    return results, failures
