"""Exceptions whose message is a complete, one-line explanation for the user.

The command line prints ``error: <message>`` for any :class:`AnalysisError` and exits with
status 2; no traceback is shown. Each subclass also derives from the built-in exception a
Python user would expect (``ValueError``, ``KeyError`` …) so ``except ValueError`` works.
"""

from __future__ import annotations


class AnalysisError(Exception):
    """Base class: a user-facing error with a self-contained message."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class UnknownModelError(AnalysisError, KeyError):
    """A model name that is not in the registry (the message suggests close names)."""


class CheckpointError(AnalysisError, ValueError):
    """A checkpoint that does not fit the model (missing / unexpected / mis-shaped keys)."""


class ConfigError(AnalysisError, ValueError):
    """A wrong argument or parameter value."""


class DataFormatError(AnalysisError, ValueError):
    """A malformed input file; the message names the file, line and column."""


def first_line(exc: BaseException, *, with_type: bool = False) -> str:
    """The first non-empty line of ``exc``'s message (its type name when it has none), for
    one-line reports of a failure; ``with_type`` prefixes ``TypeName: ``."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return f"{type(exc).__name__}: {line}" if with_type and text else line
