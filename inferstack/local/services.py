"""How to start each local service: command line, environment, health check, log file.

Every service binds 127.0.0.1 only. Ports come from the environment (INFERSTACK_*_PORT) so tests and a
running demo never collide.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from inferstack.errors import ServiceError
from inferstack.model.tracking import mlflow_dir
from inferstack.paths import default_model_repo, state_dir

HOST = "127.0.0.1"


def port(name: str, default: int) -> int:
    return int(os.environ.get(f"INFERSTACK_{name.upper()}_PORT", default))


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    urls: dict[str, str]
    ports: list[int]
    env: dict[str, str] = field(default_factory=dict)
    start_timeout_s: float = 60.0
    log_dir: Path | None = None  # default: <state>/local/logs
    # For an https health URL: the CA file that signed the server's certificate, or "loopback-unverified"
    # for a loopback-only component whose serving certificate is self-signed at start (scheduler, kcm).
    health_ca: str = ""

    @property
    def log(self) -> Path:
        path = (self.log_dir or state_dir() / "local" / "logs") / f"{self.name}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def _pytriton_root() -> Path:
    try:
        import pytriton
    except ImportError:
        raise ServiceError(
            "the tritonserver binary comes from the nvidia-pytriton package, which is not installed: "
            "run `make demo` (or pip install -e '.[serve]')"
        ) from None
    return Path(pytriton.__file__).resolve().parent / "tritonserver"


def triton_backends() -> Path:
    """A backend directory of our own: pytriton's python backend plus the stub for this Python.

    pytriton keeps the stubs per Python version beside the backend; Triton wants the stub inside the
    backend directory. Linking into the state dir leaves site-packages untouched.
    """
    root = _pytriton_root()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = root / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise ServiceError(f"nvidia-pytriton has no python backend stub for Python {version} ({stub})")
    target = state_dir() / "local" / "triton-backends" / "python"
    target.mkdir(parents=True, exist_ok=True)
    for item in (root / "backends" / "python").iterdir():
        if item.name != "__pycache__":
            link = target / item.name
            if not link.exists():
                link.symlink_to(item)
    if not (target / stub.name).exists():
        shutil.copy2(stub, target / stub.name)
    return target.parent


def python_lib_dir() -> str:
    """The directory holding this Python's shared libpython, which the python backend stub links against.

    A Python built without --enable-shared (some pyenv and source builds) has no libpython3.X.so: the
    stub would die at start-up with a loader error, and Triton would report the model as failed. Say so first.
    """
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    name = sysconfig.get_config_var("LDLIBRARY") or ""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    shared = sysconfig.get_config_var("Py_ENABLE_SHARED")
    if not shared or not name.endswith(".so") or not (Path(libdir) / name).exists():
        raise ServiceError(
            f"Triton's python backend needs a shared libpython{version}.so, and {sys.executable} has none "
            f"(Py_ENABLE_SHARED={shared!r}, LIBDIR={libdir!r}, LDLIBRARY={name!r}).\n"
            f"  fix: use a Python built with --enable-shared (Debian/Ubuntu's python3, or pyenv with "
            f"PYTHON_CONFIGURE_OPTS=--enable-shared), then `rm -rf .venv` and run make again"
        )
    return libdir


def check_stub_numpy() -> None:
    """The stub runs our venv's python3; numpy 2.x there makes every output come back empty (versions.yaml)."""
    import numpy

    from inferstack import versions

    if int(numpy.__version__.split(".")[0]) >= 2:
        pin = versions.get("python.numpy")
        raise ServiceError(
            f"numpy {numpy.__version__} is installed in {sys.prefix}; Triton's python backend stub returns "
            f"empty outputs with numpy 2.x (versions.yaml python.numpy is {pin}).\n"
            f"  fix: {sys.executable} -m pip install numpy=={pin}"
        )


def triton(repo: Path | None = None, models: list[str] | None = None) -> Service:
    root = _pytriton_root()
    python_lib = python_lib_dir()
    check_stub_numpy()
    binary = root / "bin" / "tritonserver"
    repo = (repo or default_model_repo()).resolve()
    http, grpc, metrics = port("triton_http", 8000), port("triton_grpc", 8001), port("triton_metrics", 8002)
    libs = root.parent.parent / "nvidia_pytriton.libs"
    env = {
        "LD_LIBRARY_PATH": os.pathsep.join(
            p for p in (str(libs), python_lib, os.environ.get("LD_LIBRARY_PATH", "")) if p
        ),
        # The python backend stub runs the `python3` first on PATH: ours, with numpy<2 (see versions.yaml).
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    command = [
        str(binary),
        f"--model-repository={repo}",
        f"--backend-directory={triton_backends()}",
        f"--http-address={HOST}",
        f"--http-port={http}",
        f"--grpc-address={HOST}",
        f"--grpc-port={grpc}",
        f"--metrics-address={HOST}",
        f"--metrics-port={metrics}",
        "--allow-metrics=true",
        "--allow-gpu-metrics=false",
        "--metrics-config=summary_latencies=true",
        "--metrics-interval-ms=1000",
        "--model-control-mode=explicit",
        "--strict-readiness=true",
        "--exit-timeout-secs=10",
        "--log-verbose=0",
    ]
    for model in models or ["sentiment"]:
        command.append(f"--load-model={model}")
    return Service(
        name="triton",
        command=command,
        env=env,
        ports=[http, grpc, metrics],
        health_url=f"http://{HOST}:{http}/v2/health/ready",
        urls={
            "triton_http": f"http://{HOST}:{http}",
            "triton_grpc": f"{HOST}:{grpc}",
            "triton_metrics": f"http://{HOST}:{metrics}/metrics",
        },
        start_timeout_s=120.0,
    )


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )


def prometheus(triton_metrics_port: int) -> Service:
    binary = prometheus_binary()
    if not binary:
        raise ServiceError(
            "prometheus is not installed: run `make demo` as root (it installs the Debian package "
            "`prometheus`), or `sudo apt-get install prometheus`"
        )
    p = port("prometheus", 9090)
    base = state_dir() / "local" / "prometheus"
    (base / "data").mkdir(parents=True, exist_ok=True)
    config = base / "prometheus.yml"
    config.write_text(
        "# Written by `inferstack up local`: scrape the local Triton's metrics port.\n"
        "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\n"
        "scrape_configs:\n"
        f"  - job_name: triton\n    scrape_interval: 2s\n    static_configs:\n      - targets: ['{HOST}:{triton_metrics_port}']\n"
        f"  - job_name: prometheus\n    static_configs:\n      - targets: ['{HOST}:{p}']\n"
    )
    return Service(
        name="prometheus",
        command=[
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address={HOST}:{p}",
            "--storage.tsdb.retention.time=2d",
        ],
        ports=[p],
        health_url=f"http://{HOST}:{p}/-/ready",
        urls={"prometheus": f"http://{HOST}:{p}"},
        start_timeout_s=30.0,
    )


def mlflow() -> Service:
    p = port("mlflow", 5000)
    store = mlflow_dir()
    binary = Path(sys.executable).parent / "mlflow"
    if not binary.exists():
        raise ServiceError("mlflow is not installed: run `make demo` (or pip install -e '.[tracking]')")
    return Service(
        name="mlflow",
        command=[
            str(binary),
            "server",
            "--host",
            HOST,
            "--port",
            str(p),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{store / 'mlflow.db'}",
            "--default-artifact-root",
            (store / "artifacts").as_uri(),
        ],
        env={"MLFLOW_DISABLE_TELEMETRY": "true"},
        ports=[p],
        health_url=f"http://{HOST}:{p}/health",
        urls={"mlflow": f"http://{HOST}:{p}"},
        start_timeout_s=90.0,
    )
