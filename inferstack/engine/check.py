"""Refuse to start Triton with engines that cannot run here, naming the model, the version and the fact.

Triton's own message for a plan built by another TensorRT version or for another GPU architecture is a
deserialization error deep in the log, after minutes of start-up. This check reads every engine's
`metadata.json` first and stops with a sentence a person can act on. Rules:
- TensorRT version: must be identical (major.minor.patch.build): a plan is not portable across versions.
- compute capability: must be identical (hardware_compatibility "none", how trt-builder builds).
  An engine built with hardware_compatibility "ampere_plus" runs on any compute capability >= 8.0.
- GPU name: a different product of the same compute capability runs, but slower than an engine built
  for it; this is reported as a warning, not a refusal.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from inferstack.engine.metadata import METADATA_FILE, PLAN_FILE, EngineMetadata, Runtime, probe_runtime


@dataclass(frozen=True)
class Finding:
    model: str
    version: str
    problem: str
    fatal: bool = True

    def __str__(self) -> str:
        kind = "refused" if self.fatal else "warning"
        return f"{kind}: model {self.model!r} version {self.version}: {self.problem}"


def _cc(value: str) -> tuple[int, int]:
    major, _, minor = str(value).partition(".")
    return int(major), int(minor or 0)


def compare(meta: EngineMetadata, runtime: Runtime) -> list[Finding]:
    found: list[Finding] = []
    where = (meta.model, meta.version)
    if meta.tensorrt_version != runtime.tensorrt_version:
        found.append(
            Finding(
                *where,
                f"built with TensorRT {meta.tensorrt_version}, this runtime has TensorRT "
                f"{runtime.tensorrt_version}; rebuild the engine with the trt-builder image "
                "of the same NGC release as this Triton image",
            )
        )
    if meta.hardware_compatibility == "ampere_plus":
        if _cc(runtime.compute_capability) < (8, 0):
            found.append(
                Finding(
                    *where,
                    f"built for compute capability >= 8.0 (ampere_plus), this GPU "
                    f"({runtime.gpu_name}) has {runtime.compute_capability}",
                )
            )
    elif _cc(meta.compute_capability) != _cc(runtime.compute_capability):
        found.append(
            Finding(
                *where,
                f"built for compute capability {meta.compute_capability} ({meta.gpu_name}), "
                f"this GPU ({runtime.gpu_name}) has {runtime.compute_capability}; build the "
                "engine on a node of this GPU type",
            )
        )
    if not found and meta.gpu_name and meta.gpu_name != runtime.gpu_name:
        found.append(
            Finding(
                *where,
                f"built on {meta.gpu_name}, running on {runtime.gpu_name} (same compute "
                "capability: it runs, but tactics were timed on the other product)",
                fatal=False,
            )
        )
    return found


def check_repository(repository: Path, runtime: Runtime) -> list[Finding]:
    """Every `<model>/<version>/model.plan` must have a metadata.json that matches the runtime."""
    findings: list[Finding] = []
    for plan in sorted(Path(repository).glob(f"*/*/{PLAN_FILE}")):
        version_dir = plan.parent
        model, version = version_dir.parent.name, version_dir.name
        meta_path = version_dir / METADATA_FILE
        if not meta_path.is_file():
            findings.append(
                Finding(
                    model,
                    version,
                    f"{plan} has no {METADATA_FILE}: its provenance is unknown; "
                    "rebuild it with the trt-builder image",
                )
            )
            continue
        try:
            meta = EngineMetadata.read(meta_path)
        except (ValueError, TypeError) as exc:
            findings.append(Finding(model, version, f"unreadable {METADATA_FILE}: {exc}"))
            continue
        if (meta.model, str(meta.version)) != (model, version):
            findings.append(
                Finding(
                    model,
                    version,
                    f"{meta_path} describes model {meta.model!r} version "
                    f"{meta.version}: the engine was copied to the wrong place",
                )
            )
            continue
        findings.extend(compare(meta, runtime))
    return findings


def repository_from_args(args: list[str]) -> str | None:
    """The --model-repository Triton is about to be given (the entrypoint passes Triton's arguments)."""
    for i, arg in enumerate(args):
        for flag in ("--model-repository", "--model-store"):
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
            if arg == flag and i + 1 < len(args):
                return args[i + 1]
    return os.environ.get("MODEL_REPOSITORY")


def main(argv: list[str] | None = None, runtime: Runtime | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "triton_args",
        nargs=argparse.REMAINDER,
        help="the tritonserver command line; its --model-repository is checked",
    )
    args = parser.parse_args(argv)
    repository = repository_from_args(args.triton_args)
    if not repository:
        print("engine check: no --model-repository given; nothing to check", file=sys.stderr)
        return 0
    if "://" in repository:
        # Cloud repositories (s3://) are read by Triton itself; the trt-builder Job verified the engine on
        # a node of this GPU type when it wrote it. See docs/gpu.md ("What the start-up check covers").
        print(f"engine check: {repository} is remote; checked by the builder, not here", file=sys.stderr)
        return 0
    if not any(Path(repository).glob(f"*/*/{PLAN_FILE}")):
        print(f"engine check: no TensorRT engines under {repository}", file=sys.stderr)
        return 0
    try:
        runtime = runtime or probe_runtime()
    except (OSError, RuntimeError) as exc:
        print(
            f"engine check: refused: cannot read this runtime's TensorRT version or GPU: {exc}",
            file=sys.stderr,
        )
        return 3
    findings = check_repository(Path(repository), runtime)
    for finding in findings:
        print(f"engine check: {finding}", file=sys.stderr)
    fatal = [f for f in findings if f.fatal]
    if fatal:
        print(
            f"engine check: Triton not started: {len(fatal)} engine(s) do not match TensorRT "
            f"{runtime.tensorrt_version} on {runtime.gpu_name} (compute capability {runtime.compute_capability})",
            file=sys.stderr,
        )
        return 3
    print(
        f"engine check: every engine matches TensorRT {runtime.tensorrt_version} on {runtime.gpu_name} "
        f"(compute capability {runtime.compute_capability})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
