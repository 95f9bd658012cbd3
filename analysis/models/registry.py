"""The model registry: one :class:`ModelEntry` per architecture, in the style of timm.

A family module registers each builder with the decorator :func:`register_model` (the one
registration style of the package)::

    @register_model("mobilenetv1", display_name="MobileNetV1", family="conv", paper=PAPER_V1)
    def mobilenetv1(**kwargs): ...

A family with a table of variants (MobileOne, RepVGG, the ablation networks) decorates the
builder the same way inside a ``_register(variant)`` function called once per variant.

Names resolve case-insensitively through the canonical id, the display name (exactly as in
the ``model`` column of ``data/paper/table9_imagenet.csv``) and any aliases. The published
numbers of Table 9 are read from the project's own copy of the table, never typed in.

Groups: every family name (``conv``, ``transformer``, ``mobileone``, ``ablation`` …), ``table9``
(every entry whose display name is a Table 9 row), ``figure2`` (Table 9 rows with a Figure 2
label) and any extra group a registration names.
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import torch.nn as nn

from analysis import paths
from analysis.errors import ConfigError, UnknownModelError

FAMILIES = ("conv", "transformer", "mobileone", "ablation", "ablation_extra")


@dataclass(frozen=True)
class Published:
    """One row of the paper's Table 9 (sizes in millions, latencies in ms; NaN = not given)."""

    top1: float
    macs_m: float  # the paper's "FLOPs": fvcore multiply-accumulates, in millions
    params_m: float
    cpu_ms: float  # desktop CPU, Intel Xeon Gold 5118
    gpu_ms: float  # RTX-2080Ti, TensorRT, median of 100 runs
    mobile_ms: float  # iPhone 12, Core ML, minimum of the runs
    input_size: int
    figure2_label: str  # "" (not drawn), "named", or the number the model carries in Figure 2


@dataclass(frozen=True)
class ModelEntry:
    """Registry entry: how to build one model and what the paper says about it."""

    id: str
    display_name: str
    family: str
    builder: Callable[..., nn.Module] = field(repr=False, compare=False)
    input_size: int = 224
    paper: str = ""
    aliases: tuple[str, ...] = ()
    extra_groups: tuple[str, ...] = ()

    @property
    def published(self) -> Published | None:
        """The Table 9 row of this model, or ``None`` when the paper's table has none."""
        return _table9().get(self.display_name.lower())

    @property
    def figure2_label(self) -> str:
        pub = self.published
        return pub.figure2_label if pub else ""

    @property
    def groups(self) -> tuple[str, ...]:
        groups = [self.family, *self.extra_groups]
        if self.published is not None:
            groups.append("table9")
            if self.figure2_label:
                groups.append("figure2")
        return tuple(groups)

    def build(self, **kwargs) -> nn.Module:
        return self.builder(**kwargs)


_REGISTRY: dict[str, ModelEntry] = {}
_LOOKUP: dict[str, str] = {}  # lower-cased id / display name / alias -> id


def register_model(
    id: str,
    *,
    display_name: str,
    family: str,
    input_size: int = 224,
    paper: str = "",
    aliases: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a model builder under ``id`` (and its display name, aliases)."""
    if family not in FAMILIES:
        raise ConfigError(f"model {id!r}: family {family!r} is not one of {', '.join(FAMILIES)}")

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        entry = ModelEntry(id, display_name, family, builder, input_size, paper,
                           tuple(aliases), tuple(groups))
        for name in (id, display_name, *aliases):
            key = name.lower()
            if key in _LOOKUP and _LOOKUP[key] != id:
                raise ConfigError(f"model name {name!r} is registered twice "
                                  f"({_LOOKUP[key]!r} and {id!r})")
            _LOOKUP[key] = id
        _REGISTRY[id] = entry
        return builder

    return decorate


def _all_names() -> list[str]:
    names = []
    for entry in _REGISTRY.values():
        names += [entry.id, entry.display_name]
    return names


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name`` (id, display name or alias, case-insensitive).

    Raises :class:`UnknownModelError` naming the closest known names.
    """
    key = str(name).strip().lower()
    if key in _LOOKUP:
        return _REGISTRY[_LOOKUP[key]]
    raise UnknownModelError(f"unknown model {name!r}{suggest(name)}")


def suggest(name: str, n: int = 3, *, groups: bool = False) -> str:
    """``"; did you mean 'A', 'B'?"`` for the registry names closest to ``name``; with
    ``groups`` (where a group is allowed too) the closest groups first (``"the group
    'mobileone'"``); without any close name, where to find the list."""
    key = str(name).strip().lower()
    close_groups = difflib.get_close_matches(key, list_groups(), n=1, cutoff=0.8) if groups \
        else []
    by_lower = {k.lower(): k for k in _all_names()}
    close = difflib.get_close_matches(key, list(by_lower), n=n, cutoff=0.5)
    shown = [f"the group {g!r}" for g in close_groups] + [repr(by_lower[c]) for c in close]
    if not shown:
        return ("; `python -m analysis count --list` lists the known models"
                + (" and groups" if groups else ""))
    return "; did you mean " + ", ".join(shown) + "?"


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` with random weights (``kwargs`` go to its builder)."""
    return get_entry(name).build(**kwargs)


def list_groups() -> list[str]:
    groups = {g for e in _REGISTRY.values() for g in e.groups}
    return sorted(groups)


def list_models(group: str | None = None) -> list[str]:
    """Canonical ids of the registered models, in registration order, optionally of one group."""
    if group is None:
        return list(_REGISTRY)
    members = [e.id for e in _REGISTRY.values() if group.lower() in e.groups]
    if not members:
        raise UnknownModelError(f"unknown model group {group!r}; known groups: "
                                f"{', '.join(list_groups())}")
    return members


def resolve_models(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """Ids for a group name, a model name, or a comma-separated / list mix of both; a
    selection of no model at all is an error."""
    items = [spec] if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if part.lower() in list_groups() and part.lower() not in _LOOKUP:
                names += list_models(part)
            elif part.lower() in _LOOKUP:
                names.append(_LOOKUP[part.lower()])
            else:  # a group is allowed here: suggest groups too (mobilone → mobileone)
                raise UnknownModelError(f"unknown model or group {part!r}"
                                        f"{suggest(part, groups=True)}")
    if not names:
        raise ConfigError(f"no model selected by {spec!r}; give a model name or a group "
                          f"({', '.join(list_groups())})")
    return list(dict.fromkeys(names))  # keep order, drop repeats


def _float(text: str) -> float:
    return float(text) if text.strip() else math.nan


@functools.lru_cache(maxsize=1)
def _table9() -> dict[str, Published]:
    rows: dict[str, Published] = {}
    with open(paths.paper_table("table9_imagenet"), newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows[row["model"].lower()] = Published(
                top1=_float(row["top1"]), macs_m=_float(row["flops_m"]),
                params_m=_float(row["params_m"]), cpu_ms=_float(row["cpu_ms"]),
                gpu_ms=_float(row["gpu_ms"]), mobile_ms=_float(row["mobile_ms"]),
                input_size=int(row["input_size"]), figure2_label=row["figure2_label"].strip())
    return rows
