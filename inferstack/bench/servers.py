"""The two servers under test, on ports and a state directory of their own.

The bench never touches the demo stack (8000-8002, model-repo/sentiment/config.pbtxt): it renders its own
repository under <state>/bench/repo from the model definition (plus any `--serving` overrides) with the
published version's files linked in, and starts Triton and the naive server on 127.0.0.1, ports from
INFERSTACK_BENCH_PORT (default 18000: Triton HTTP/gRPC/metrics 18000-18002, naive 18010). It stops exactly
the processes it started.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from inferstack.local import services, stack
from inferstack.modeldef import ModelDefinition
from inferstack.paths import state_dir

VERSION_FILES = ("model.onnx", "build.json", "tokenizer")
# The serving code comes from this checkout, not the version's copy: a serving change (a new knob in
# model.py) is measured here before any version is published with it.
SERVING_CODE = Path(__file__).resolve().parent.parent / "modelrepo" / "python" / "model.py"


def base_port() -> int:
    return int(os.environ.get("INFERSTACK_BENCH_PORT", "18000"))


def bench_state() -> Path:
    path = state_dir() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _bench_environment() -> Iterator[None]:
    """Ports and the state dir the local-stack helpers read, for the bench's processes only."""
    base = base_port()
    state = bench_state()
    wanted = {
        "INFERSTACK_TRITON_HTTP_PORT": str(base),
        "INFERSTACK_TRITON_GRPC_PORT": str(base + 1),
        "INFERSTACK_TRITON_METRICS_PORT": str(base + 2),
        "INFERSTACK_STATE_DIR": str(state),
    }
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def render_repository(definition: ModelDefinition, version_dir: Path, repo: Path) -> Path:
    """<state>/bench/repo/<model>/{config.pbtxt, 1/}: the published files, this run's serving settings."""
    from inferstack.modelrepo.render import write_repository

    model_dir = repo / definition.name
    if model_dir.exists():
        shutil.rmtree(model_dir)
    write_repository(definition, "cpu", repo)
    version = model_dir / "1"
    version.mkdir(parents=True)
    for name in VERSION_FILES:
        (version / name).symlink_to((version_dir / name).resolve())
    (version / "model.py").symlink_to(SERVING_CODE)
    return repo


@dataclass
class Running:
    name: str
    url: str
    metrics_url: str
    pid: int
    ready_s: float
    log: str


def start_triton(
    definition: ModelDefinition, version_dir: Path, extra_env: dict[str, str] | None = None
) -> Running:
    repo = render_repository(definition, version_dir, bench_state() / "repo")
    with _bench_environment():
        service = services.triton(repo, models=[definition.name])
        service.name = "bench-triton"
        service.env.update(extra_env or {})
        entry = stack.start(service)
    return Running(
        "triton",
        service.urls["triton_http"],
        service.urls["triton_metrics"],
        entry["pid"],
        entry["ready_s"],
        entry["log"],
    )


def start_naive(definition: ModelDefinition, version_dir: Path) -> Running:
    port = base_port() + 10
    url = f"http://{services.HOST}:{port}"
    command = [
        sys.executable,
        "-m",
        "inferstack.bench.naive",
        "--version-dir",
        str(version_dir.resolve()),
        "--port",
        str(port),
    ]
    if definition.file:
        command += ["--definition", str(definition.file)]
    with _bench_environment():
        service = services.Service(
            name="bench-naive",
            command=command,
            health_url=f"{url}/v2/health/ready",
            urls={"http": url},
            ports=[port],
            start_timeout_s=240.0,
            env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        )
        entry = stack.start(service)
    # No metrics endpoint: the runner's scrape gets a 404 and records the server view as unavailable.
    return Running("naive", url, f"{url}/metrics", entry["pid"], entry["ready_s"], entry["log"])


def stop(server: Running | None) -> None:
    if server is not None:
        stack.terminate(server.pid)
