"""Where things live: the project root, the state directory, the results directory.

The state directory holds what the tools create and must survive between commands (build cache,
MLflow store, pids and logs of the local stack). It defaults to `.inferstack/` in the project root
and can be moved with INFERSTACK_STATE_DIR (tests point it at a temporary directory).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    return ROOT


def state_dir() -> Path:
    path = Path(os.environ.get("INFERSTACK_STATE_DIR", ROOT / ".inferstack"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Downloads and build outputs that can be recreated; shared by all state dirs unless moved."""
    path = Path(os.environ.get("INFERSTACK_CACHE_DIR", ROOT / ".inferstack" / "cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    return Path(os.environ.get("INFERSTACK_RESULTS_DIR", ROOT / "results"))


def default_model_definition() -> Path:
    return ROOT / "model-repo" / "sentiment.model.yaml"


def default_model_repo() -> Path:
    return ROOT / "model-repo"


def default_slo() -> Path:
    return ROOT / "loadtests" / "slo.yaml"
