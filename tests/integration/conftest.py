"""Integration fixtures: a real model build, a real local stack on free 127.0.0.1 ports, stopped at the end.

Everything runs in a temporary state directory (pids, logs, MLflow store) and a temporary model
repository, so a user's running demo is never touched. The build cache is shared: a warm machine reuses
the demo's build, a cold one (CI) builds once for the whole session.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from inferstack.paths import default_model_definition


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def isolated_env(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    values = {
        "INFERSTACK_STATE_DIR": str(state),
        "INFERSTACK_RESULTS_DIR": str(state / "results"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow' / 'mlflow.db'}",
        "HF_HUB_OFFLINE": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    for name in ("triton_http", "triton_grpc", "triton_metrics", "prometheus", "mlflow"):
        values[f"INFERSTACK_{name.upper()}_PORT"] = str(free_port())
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield values
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def definition():
    from inferstack.modeldef import load_definition

    return load_definition(default_model_definition())


@pytest.fixture(scope="session")
def built(isolated_env, definition, tmp_path_factory):
    from inferstack.model.build import build_and_publish

    repo = tmp_path_factory.mktemp("model-repo")
    result = build_and_publish(definition, repo)
    return result, Path(repo)


@pytest.fixture(scope="session")
def local_stack(built):
    from inferstack.local import stack

    _, repo = built
    status = stack.up(repo)
    yield status
    stack.down()


@pytest.fixture(scope="session")
def triton_url(local_stack):
    return local_stack["endpoints"]["triton_http"]["url"]


def cli_env(isolated_env) -> dict:
    return {**os.environ, **isolated_env}
