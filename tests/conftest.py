"""Shared test set-up: a private cache folder, deterministic seeds, quiet third-party warnings."""

from __future__ import annotations

import os
import warnings

import pytest


def pytest_configure(config):
    warnings.filterwarnings("ignore", message="Torch version .* has not been tested")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)  # one thread per xdist worker: no oversubscription


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Point the complexity cache at a fresh folder so tests never read a stale user cache."""
    old = os.environ.get("MOBILEONE_STUDY_CACHE")
    os.environ["MOBILEONE_STUDY_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("MOBILEONE_STUDY_CACHE", None)
    else:
        os.environ["MOBILEONE_STUDY_CACHE"] = old


@pytest.fixture(autouse=True)
def _seed():
    import torch

    torch.manual_seed(0)
