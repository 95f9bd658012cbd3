"""The model zoo: MobileOne, the paper's comparison models and the ablation networks.

Public face of the registry, in the style of timm::

    from analysis.models import create_model, list_models
    model = create_model("MobileOne-S0")          # display name, id or alias; any case
    list_models("figure2")                        # ids of a group

Every family module in this package registers its models when imported; this package imports
them all (one file per family, discovered automatically, so adding a family is adding a file).
"""

from __future__ import annotations

import importlib
import pkgutil

from analysis.models.fusion import deploy, reparameterize_model
from analysis.models.mobileone import MobileOne, MobileOneBlock, load_checkpoint, mobileone
from analysis.models.registry import (ModelEntry, Published, create_model, get_entry,
                                      list_groups, list_models, register_model, resolve_models)

_NOT_FAMILIES = {"config", "fusion", "layers", "registry", "mobileone"}
for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name not in _NOT_FAMILIES:
        importlib.import_module(f"{__name__}.{_info.name}")


__all__ = [
    "MobileOne", "MobileOneBlock", "ModelEntry", "Published", "create_model", "deploy",
    "get_entry", "list_groups", "list_models", "load_checkpoint", "mobileone",
    "register_model", "reparameterize_model", "resolve_models",
]
