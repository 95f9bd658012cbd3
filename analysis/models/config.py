"""Architecture configurations: a family's frozen config dataclass with caller overrides."""

from __future__ import annotations

import dataclasses

from analysis.errors import ConfigError


def config_with_overrides(config, overrides: dict, what: str):
    """``dataclasses.replace(config, **overrides)``, refusing unknown fields with a clear error
    (``what`` names the architecture in the message)."""
    unknown = set(overrides) - {f.name for f in dataclasses.fields(config)}
    if unknown:
        raise ConfigError(f"unknown {what} config field(s): {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(f.name for f in dataclasses.fields(config))}")
    return dataclasses.replace(config, **overrides)
