"""Build a TensorRT engine for one published model version, or reuse the one already built.

Reads `<store>/<model>/<N>/source.onnx` (the FP32 export, standard ONNX ops) and `build.json`, writes
`<store>/<model>_encoder/<N>/model.plan` and `metadata.json`. The engine backend is behind a small
interface: TensorRTBackend does the real build inside the trt-builder image on a GPU; tests pass a fake
that records the plan, so everything but the TensorRT calls is tested without a GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from inferstack.engine.calibration import calibration_batches, read_calibration_texts, tokenizer_encoder
from inferstack.engine.metadata import (
    METADATA_FILE,
    PLAN_FILE,
    EngineMetadata,
    Runtime,
    probe_runtime,
    write_atomic,
)
from inferstack.engine.plan import BuildPlan, BuildSettings, cache_key, encoder_name, make_plan


class Backend(Protocol):
    def runtime(self) -> Runtime: ...

    def build(self, plan: BuildPlan, onnx_path: Path, calibration: list[dict] | None) -> bytes: ...


@dataclass
class Result:
    path: Path
    metadata: EngineMetadata
    built: bool  # False: an engine with the same key was already there (the cache hit)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def latest_version(store: Path, model: str) -> str:
    versions = sorted(
        int(p.parent.name) for p in Path(store).glob(f"{model}/*/source.onnx") if p.parent.name.isdigit()
    )
    if not versions:
        raise FileNotFoundError(
            f"no version of {model!r} with a source.onnx under {store}; "
            "publish one with `inferstack model build`"
        )
    return str(versions[-1])


def build_engine(
    store: Path,
    model: str,
    version: str | None,
    settings: BuildSettings,
    backend: Backend,
    builder_image: str,
    max_batch_size: int,
    max_sequence_length: int | None = None,
    force: bool = False,
    expected_tensorrt: str | None = None,
) -> Result:
    store = Path(store)
    version = str(version or latest_version(store, model))
    source_dir = store / model / version
    onnx_path = source_dir / "source.onnx"
    build_json = source_dir / "build.json"
    for needed in (onnx_path, build_json):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} is missing: the model version was not published whole")
    build = json.loads(build_json.read_text())
    seq = int(max_sequence_length or build["max_sequence_length"])
    if seq > int(build["max_sequence_length"]):
        raise ValueError(
            f"max_sequence_length {seq} exceeds the model's {build['max_sequence_length']} ({build_json})"
        )
    source_sha = sha256_file(onnx_path)
    recorded = build.get("source_onnx_sha256")
    if recorded and recorded != source_sha:
        raise ValueError(
            f"{onnx_path} has sha256 {source_sha}, {build_json} records {recorded}: "
            "the model store is inconsistent; republish the version"
        )

    runtime = backend.runtime()
    if expected_tensorrt and not (runtime.tensorrt_version + ".").startswith(expected_tensorrt + "."):
        raise RuntimeError(
            f"this image has TensorRT {runtime.tensorrt_version}, versions.yaml locks "
            f"{expected_tensorrt}: build the trt-builder image from the locked NGC release"
        )
    plan = make_plan(model, version, max_batch_size, seq, settings)

    texts: list[str] = []
    calib_sha = ""
    if plan.precision == "int8":
        texts, calib_sha = read_calibration_texts(source_dir)
    key = cache_key(
        plan, source_sha, runtime.tensorrt_version, runtime.compute_capability, runtime.gpu_name, calib_sha
    )

    out_dir = store / encoder_name(model) / version
    meta_path, plan_path = out_dir / METADATA_FILE, out_dir / PLAN_FILE
    if meta_path.is_file() and plan_path.is_file():
        existing = EngineMetadata.read(meta_path)
        if existing.cache_key == key and sha256_file(plan_path) == existing.plan_sha256:
            return Result(out_dir, existing, built=False)
        if not force:
            raise FileExistsError(
                f"{out_dir} holds an engine built for other inputs (TensorRT {existing.tensorrt_version}, "
                f"{existing.gpu_name}, {existing.precision}, key {existing.cache_key}; now {key}). Publish a new "
                "model version, or pass --force to replace it (Triton serving it must be restarted)"
            )

    calibration = None
    calibration_info: dict = {}
    if plan.calibration_profile is not None:
        shape = plan.calibration_profile.opt
        encode = tokenizer_encoder(source_dir / "tokenizer" / "tokenizer.json", seq)
        calibration = calibration_batches(
            texts,
            encode,
            shape[0],
            shape[1],
            settings.calibration_batches,
            pad_id=int(build.get("pad_token_id", 0)),
        )
        calibration_info = {
            "file_sha256": calib_sha,
            "texts": len(texts),
            "batches": len(calibration),
            "shape": list(shape),
            "origin": "held-out split of the model definition's dataset",
        }

    engine = backend.build(plan, onnx_path, calibration)
    if not engine:
        raise RuntimeError("TensorRT returned no engine; see the builder log above")
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = EngineMetadata(
        model=encoder_name(model),
        version=version,
        tensorrt_version=runtime.tensorrt_version,
        gpu_name=runtime.gpu_name,
        compute_capability=runtime.compute_capability,
        precision=plan.precision,
        profiles=[p.shapes() for p in plan.profiles],
        source_onnx_sha256=source_sha,
        builder_image=builder_image,
        cache_key=key,
        plan_sha256=hashlib.sha256(engine).hexdigest(),
        settings=plan.describe(),
        calibration=calibration_info,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    # The plan first, the metadata last: a metadata.json always describes a complete model.plan.
    write_atomic(plan_path, engine)
    write_atomic(meta_path, meta.to_json())
    return Result(out_dir, meta, built=True)


class TensorRTBackend:
    """The real build (TensorRT 10 Python API). Runs only in the trt-builder image on a GPU."""

    def __init__(self, verbose: bool = False):
        import tensorrt as trt

        self.trt = trt
        self.logger = trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.INFO)

    def runtime(self) -> Runtime:
        return probe_runtime()

    def build(self, plan: BuildPlan, onnx_path: Path, calibration: list[dict] | None) -> bytes:
        trt = self.trt
        builder = trt.Builder(self.logger)
        network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse_from_file(str(onnx_path)):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, plan.workspace_bytes)
        config.builder_optimization_level = plan.builder_optimization_level
        if plan.tactic_sources is not None:
            mask = 0
            for name in plan.tactic_sources:
                mask |= 1 << int(getattr(trt.TacticSource, name))
            config.set_tactic_sources(mask)
        for flag in plan.flags:
            config.set_flag(getattr(trt.BuilderFlag, flag))
        for prof in plan.profiles:
            profile = builder.create_optimization_profile()
            for name, shape in prof.shapes().items():
                profile.set_shape(name, shape["min"], shape["opt"], shape["max"])
            config.add_optimization_profile(profile)
        if plan.calibration_profile is not None:
            if not calibration:
                raise RuntimeError("INT8 needs calibration batches")
            profile = builder.create_optimization_profile()
            for name, shape in plan.calibration_profile.shapes().items():
                profile.set_shape(name, shape["min"], shape["opt"], shape["max"])
            config.set_calibration_profile(profile)
            config.int8_calibrator = _calibrator(trt, calibration, onnx_path.with_name("calibration.cache"))
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError("TensorRT failed to build the engine; see the log above")
        return bytes(serialized)


def _calibrator(trt, batches: list[dict], cache_path: Path):
    """An entropy calibrator feeding the held-out batches through device buffers (CUDA runtime via ctypes:
    the TensorRT image has no pycuda)."""
    import ctypes

    cudart = ctypes.CDLL(os.environ.get("INFERSTACK_LIBCUDART", "libcudart.so"))

    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            super().__init__()
            self.batches = batches
            self.index = 0
            self.device: dict[str, ctypes.c_void_p] = {}
            for name, array in batches[0].items():
                pointer = ctypes.c_void_p()
                if cudart.cudaMalloc(ctypes.byref(pointer), ctypes.c_size_t(array.nbytes)) != 0:
                    raise RuntimeError("cudaMalloc failed for a calibration buffer")
                self.device[name] = pointer

        def get_batch_size(self):
            return int(next(iter(batches[0].values())).shape[0])

        def get_batch(self, names):
            if self.index >= len(self.batches):
                return None
            batch = self.batches[self.index]
            self.index += 1
            for name in names:
                host = batch[name]
                if (
                    cudart.cudaMemcpy(
                        self.device[name],
                        host.ctypes.data_as(ctypes.c_void_p),
                        ctypes.c_size_t(host.nbytes),
                        1,
                    )
                    != 0
                ):  # 1: host to device
                    raise RuntimeError("cudaMemcpy failed for a calibration batch")
            return [int(self.device[name].value) for name in names]

        def read_calibration_cache(self):
            return None  # always calibrate on the batches given: the cache key covers them

        def write_calibration_cache(self, cache):
            return None

    return Calibrator()


def main(argv: list[str] | None = None, backend: Backend | None = None) -> int:
    """The trt-builder image's entrypoint. Flags default to the environment the Kubernetes Job sets."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description="Build the TensorRT engine of a published model version.")
    parser.add_argument(
        "--store",
        default=env("MODEL_STORE", "/models/repository"),
        help="model repository directory (env MODEL_STORE)",
    )
    parser.add_argument("--model", default=env("MODEL_NAME", "sentiment"), help="model name (env MODEL_NAME)")
    parser.add_argument("--version", default=env("MODEL_VERSION"), help="version to build (default: latest)")
    parser.add_argument("--max-batch-size", type=int, default=int(env("MAX_BATCH_SIZE", "32")))
    parser.add_argument(
        "--max-sequence-length", type=int, default=int(env("MAX_SEQUENCE_LENGTH", "0")) or None
    )
    parser.add_argument(
        "--config",
        default=env("ENGINE_CONFIG", "/opt/inferstack/engine-config.json"),
        help="build settings JSON (workspace, tactics, precision, calibration)",
    )
    parser.add_argument("--precision", choices=["fp16", "int8"], help="override the config's precision")
    parser.add_argument(
        "--expected-tensorrt",
        default=env("EXPECTED_TENSORRT_VERSION"),
        help="refuse to build when the image's TensorRT is not this (versions.yaml ngc.tensorrt)",
    )
    parser.add_argument(
        "--expected-gpu",
        default=env("EXPECTED_GPU_PRODUCT"),
        help="refuse to build when the GPU is not this product (the node type Triton serves on)",
    )
    parser.add_argument("--builder-image", default=env("BUILDER_IMAGE", "unknown"))
    parser.add_argument("--force", action="store_true", help="replace an engine built for other inputs")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    if "://" in args.store:
        print(
            f"trt-builder: {args.store} is a remote store; mount the repository (or sync it to a volume) "
            "and pass its path: see docs/gpu.md",
            file=sys.stderr,
        )
        return 2
    settings = BuildSettings.from_file(Path(args.config)) if Path(args.config).is_file() else BuildSettings()
    if args.precision:
        settings = BuildSettings(**{**settings.__dict__, "precision": args.precision})
    backend = backend or TensorRTBackend(verbose=args.verbose)
    if args.expected_gpu:
        gpu = backend.runtime().gpu_name
        if args.expected_gpu.replace("-", " ").lower() not in gpu.replace("-", " ").lower():
            print(
                f"trt-builder: refused: this GPU is {gpu!r}, the engine is for {args.expected_gpu!r}; "
                "schedule the Job on a node of that product",
                file=sys.stderr,
            )
            return 3
    try:
        result = build_engine(
            Path(args.store),
            args.model,
            args.version,
            settings,
            backend,
            args.builder_image,
            args.max_batch_size,
            args.max_sequence_length,
            force=args.force,
            expected_tensorrt=args.expected_tensorrt,
        )
    except (FileNotFoundError, FileExistsError, ValueError, RuntimeError) as exc:
        print(f"trt-builder: {exc}", file=sys.stderr)
        return 2
    meta = result.metadata
    state = "built" if result.built else "cache hit: already built with key"
    print(
        f"trt-builder: {state} {meta.cache_key}: {result.path / PLAN_FILE} ({meta.precision}, TensorRT "
        f"{meta.tensorrt_version}, {meta.gpu_name}, compute capability {meta.compute_capability})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
