"""Publish a build into a Triton model repository as a new numbered version, never overwriting one.

A version directory is assembled beside the model under a hidden name and renamed into place, so Triton
(and anyone reading the repository) never sees half a version. Publishing a build that is already the
latest version is a no-op.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from inferstack.modeldef import ModelDefinition
from inferstack.modelrepo.render import install_version_code, write_repository

# Files of a build that go into a served version.
VERSION_FILES = ("model.onnx", "source.onnx", "build.json")


@dataclass
class Published:
    version: int
    path: Path
    new: bool


def versions(model_dir: Path) -> list[int]:
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def latest_build_key(model_dir: Path) -> tuple[int | None, str | None]:
    existing = versions(model_dir)
    if not existing:
        return None, None
    meta = model_dir / str(existing[-1]) / "build.json"
    if not meta.is_file():
        return existing[-1], None
    return existing[-1], json.loads(meta.read_text()).get("build_key")


def publish(
    build_dir: Path,
    definition: ModelDefinition,
    repo: Path,
    target: str = "cpu",
    extra_meta: dict | None = None,
) -> Published:
    write_repository(definition, target, repo)
    model_dir = repo / definition.name
    build = json.loads((build_dir / "build.json").read_text())
    latest, key = latest_build_key(model_dir)
    if latest is not None and key == build["build_key"]:
        return Published(latest, model_dir / str(latest), new=False)
    version = (latest or 0) + 1
    staging = model_dir / f".staging-{version}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        for name in VERSION_FILES:
            shutil.copy2(build_dir / name, staging / name)
        shutil.copytree(build_dir / "tokenizer", staging / "tokenizer")
        install_version_code(staging)
        meta = dict(build, published={"version": version, **(extra_meta or {})})
        (staging / "build.json").write_text(json.dumps(meta, indent=2) + "\n")
        final = model_dir / str(version)
        if final.exists():  # someone published concurrently: never overwrite
            raise FileExistsError(f"{final} appeared while publishing; run the build again")
        staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return Published(version, final, new=True)
