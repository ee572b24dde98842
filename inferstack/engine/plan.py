"""What a TensorRT build is asked to do, as data: settings, optimization profiles, the cache key.

Kept apart from TensorRT so every decision is testable on a machine without a GPU: the backend in
builder.py only translates a BuildPlan into TensorRT API calls.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

PRECISIONS = ("fp16", "int8")
INPUTS = ("input_ids", "attention_mask")  # the encoder's inputs in source.onnx, [batch, sequence] INT64
OUTPUT = "probabilities"


def encoder_name(model: str) -> str:
    """The engine is served as its own model beside the front-end model, which calls it through BLS."""
    return f"{model}_encoder"


# Bumped when the builder changes how it builds, so cached engines from an older builder are rebuilt.
BUILDER_REVISION = 1


@dataclass(frozen=True)
class BuildSettings:
    """Workspace, tactics and calibration: from images/trt-builder/engine-config.json (or --config)."""

    precision: str = "int8"
    workspace_mib: int = 4096
    builder_optimization_level: int = 3
    # None keeps TensorRT's default tactic sources; a list names trt.TacticSource members to enable.
    tactic_sources: tuple[str, ...] | None = None
    opt_batch_size: int = 0  # 0: half of max_batch_size (what the dynamic batcher forms under load)
    opt_sequence_length: int = 64  # real texts are short: p95 47 tokens on the demo data
    calibration_batches: int = 16
    calibration_batch_size: int = 16
    calibration_sequence_length: int = 0  # 0: max_sequence_length

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")
        if self.workspace_mib < 64:
            raise ValueError(f"workspace_mib {self.workspace_mib}: give TensorRT at least 64 MiB")
        if not 0 <= self.builder_optimization_level <= 5:
            raise ValueError(
                f"builder_optimization_level {self.builder_optimization_level}: TensorRT takes 0..5"
            )
        for name in ("calibration_batches", "calibration_batch_size", "opt_sequence_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @classmethod
    def from_file(cls, path: Path) -> BuildSettings:
        data = json.loads(Path(path).read_text())
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"{path}: unknown setting(s) {', '.join(unknown)}; known: "
                f"{', '.join(cls.__dataclass_fields__)}"
            )
        if data.get("tactic_sources") is not None:
            data["tactic_sources"] = tuple(data["tactic_sources"])
        try:
            return cls(**data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class Profile:
    """One optimization profile: (min, opt, max) of [batch, sequence] for every input."""

    min: tuple[int, int]
    opt: tuple[int, int]
    max: tuple[int, int]

    def shapes(self) -> dict[str, dict[str, list[int]]]:
        return {
            name: {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)} for name in INPUTS
        }


@dataclass(frozen=True)
class BuildPlan:
    model: str
    version: str
    precision: str
    max_batch_size: int
    max_sequence_length: int
    profiles: tuple[Profile, ...]
    calibration_profile: Profile | None
    workspace_bytes: int
    builder_optimization_level: int
    tactic_sources: tuple[str, ...] | None
    flags: tuple[str, ...] = field(default=())

    def describe(self) -> dict:
        data = asdict(self)
        data["profiles"] = [p.shapes() for p in self.profiles]
        data["calibration_profile"] = self.calibration_profile.shapes() if self.calibration_profile else None
        return data


def make_plan(
    model: str, version: str, max_batch_size: int, max_sequence_length: int, settings: BuildSettings
) -> BuildPlan:
    """Profiles cover every batch Triton may form (1..max_batch_size) and every length the tokenizer emits
    (1..max_sequence_length: batches are padded to their longest text, not to the maximum)."""
    if max_batch_size < 1 or max_sequence_length < 1:
        raise ValueError("max_batch_size and max_sequence_length must be at least 1")
    opt_batch = settings.opt_batch_size or max(1, max_batch_size // 2)
    opt_batch = min(opt_batch, max_batch_size)
    opt_seq = min(settings.opt_sequence_length, max_sequence_length)
    profile = Profile(min=(1, 1), opt=(opt_batch, opt_seq), max=(max_batch_size, max_sequence_length))
    flags: tuple[str, ...] = ("FP16",)
    calibration = None
    if settings.precision == "int8":
        # INT8 where calibration says it is safe, FP16 elsewhere (layers TensorRT cannot quantize).
        flags = ("FP16", "INT8")
        calib_batch = min(settings.calibration_batch_size, max_batch_size)
        calib_seq = min(settings.calibration_sequence_length or max_sequence_length, max_sequence_length)
        calibration = Profile(
            min=(calib_batch, calib_seq), opt=(calib_batch, calib_seq), max=(calib_batch, calib_seq)
        )
    return BuildPlan(
        model=model,
        version=str(version),
        precision=settings.precision,
        max_batch_size=max_batch_size,
        max_sequence_length=max_sequence_length,
        profiles=(profile,),
        calibration_profile=calibration,
        workspace_bytes=settings.workspace_mib * 1024 * 1024,
        builder_optimization_level=settings.builder_optimization_level,
        tactic_sources=settings.tactic_sources,
        flags=flags,
    )


def cache_key(
    plan: BuildPlan,
    source_onnx_sha256: str,
    tensorrt_version: str,
    compute_capability: str,
    gpu_name: str,
    calibration_sha256: str = "",
) -> str:
    """Same key, same engine: the ONNX, the TensorRT version, the GPU, every build decision, the data."""
    material = {
        "builder_revision": BUILDER_REVISION,
        "source_onnx_sha256": source_onnx_sha256,
        "tensorrt_version": tensorrt_version,
        "compute_capability": compute_capability,
        "gpu_name": gpu_name,
        "plan": {k: v for k, v in plan.describe().items() if k not in ("model", "version")},
        "calibration_sha256": calibration_sha256 if plan.precision == "int8" else "",
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:24]
