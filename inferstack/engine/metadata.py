"""The provenance of one engine (`metadata.json`) and the facts of the runtime it is compared with."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

METADATA_FILE = "metadata.json"
PLAN_FILE = "model.plan"
SCHEMA = 1


@dataclass(frozen=True)
class Runtime:
    """What a machine offers an engine: the TensorRT library and the GPU it would run on."""

    tensorrt_version: str  # full version, e.g. "10.13.3.9"
    gpu_name: str  # e.g. "NVIDIA L4"
    compute_capability: str  # e.g. "8.9"


@dataclass
class EngineMetadata:
    model: str
    version: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    profiles: list[dict]
    source_onnx_sha256: str
    builder_image: str
    cache_key: str
    plan_sha256: str = ""
    hardware_compatibility: str = "none"  # engines are built for exactly the GPU they run on
    settings: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    built_at: str = ""
    schema: int = SCHEMA

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, path: Path) -> EngineMetadata:
        data = json.loads(Path(path).read_text())
        if data.get("schema") != SCHEMA:
            raise ValueError(f"{path}: unknown metadata schema {data.get('schema')!r} (expected {SCHEMA})")
        known = {f for f in cls.__dataclass_fields__}
        missing = [
            f
            for f in ("model", "version", "tensorrt_version", "compute_capability", "precision")
            if f not in data
        ]
        if missing:
            raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in known})


def write_atomic(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    tmp.replace(path)


# --- Probing the runtime (only on a GPU host; tests pass a Runtime instead) -------------------------


def tensorrt_version_from_library(name: str = "libnvinfer.so.10") -> str:
    """The TensorRT version of the shared library Triton's tensorrt backend loads.

    The Triton image has no `tensorrt` Python package, but TensorRT 10 exports its version as C
    functions (getInferLib{Major,Minor,Patch,Build}Version).
    """
    lib = ctypes.CDLL(name)
    parts = []
    for part in ("Major", "Minor", "Patch", "Build"):
        fn = getattr(lib, f"getInferLib{part}Version")
        fn.restype = ctypes.c_int32
        parts.append(str(fn()))
    return ".".join(parts)


def tensorrt_version() -> str:
    try:
        import tensorrt  # the builder image has the Python package

        return str(tensorrt.__version__)
    except ImportError:
        return tensorrt_version_from_library(os.environ.get("INFERSTACK_LIBNVINFER", "libnvinfer.so.10"))


def parse_nvidia_smi(output: str) -> list[tuple[str, str]]:
    """`nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader` -> [(name, "8.9"), ...]."""
    gpus = []
    for line in output.strip().splitlines():
        if not line.strip():
            continue
        name, _, cap = line.rpartition(",")
        gpus.append((name.strip(), cap.strip()))
    return gpus


def gpus() -> list[tuple[str, str]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise RuntimeError("nvidia-smi is not on PATH: run the container with --gpus all (or on a GPU node)")
    out = subprocess.run(
        [smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    found = parse_nvidia_smi(out)
    if not found:
        raise RuntimeError("nvidia-smi lists no GPU: this container sees no GPU")
    return found


def probe_runtime() -> Runtime:
    """The runtime of this machine. Several GPUs must be the same product: one engine serves them all."""
    found = gpus()
    kinds = sorted(set(found))
    if len(kinds) > 1:
        raise RuntimeError(
            f"GPUs of different kinds in one container ({kinds}): an engine fits one kind; "
            "give the container one kind of GPU (NVIDIA_VISIBLE_DEVICES)"
        )
    name, cap = kinds[0]
    return Runtime(tensorrt_version=tensorrt_version(), gpu_name=name, compute_capability=cap)
