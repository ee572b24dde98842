"""Fixtures for the engine tests. No TensorRT and no GPU here: the builder runs against FakeBackend,
which records what it would hand TensorRT; the check runs against Runtime values. docs/gpu.md has the
commands that prove an engine on a GPU host."""

from __future__ import annotations

import glob
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from inferstack.engine.metadata import Runtime
from inferstack.paths import project_root

PUBLISHED = project_root() / "model-repo" / "sentiment" / "1"
L4 = Runtime(tensorrt_version="10.13.3.9", gpu_name="NVIDIA L4", compute_capability="8.9")


class FakeBackend:
    """Stands in for TensorRTBackend: returns a deterministic 'engine' and records every call."""

    def __init__(self, runtime: Runtime = L4):
        self._runtime = runtime
        self.calls: list[tuple] = []

    def runtime(self) -> Runtime:
        return self._runtime

    def build(self, plan, onnx_path, calibration):
        self.calls.append((plan, Path(onnx_path), calibration))
        return b"PLAN:" + hashlib.sha256(json.dumps(plan.describe(), sort_keys=True).encode()).digest()


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend()


def real_tokenizer() -> Path:
    """The real tokenizer: a published version's copy, else the checkpoint's own (what every version copies)."""
    path = PUBLISHED / "tokenizer" / "tokenizer.json"
    if path.is_file():
        return path
    from inferstack.model.encoder import checkpoint_dir
    from inferstack.modeldef import load_definition
    from inferstack.paths import default_model_definition

    return checkpoint_dir(load_definition(default_model_definition())) / "tokenizer.json"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A model store with one published version: a small stand-in source.onnx whose sha256 build.json
    records, and the real tokenizer of the built demo model when there is one."""
    version = tmp_path / "repo" / "sentiment" / "1"
    version.mkdir(parents=True)
    onnx = b"stand-in for source.onnx: the builder only hashes it here"
    (version / "source.onnx").write_bytes(onnx)
    build = {
        "name": "sentiment",
        "labels": ["rotten", "fresh"],
        "max_sequence_length": 128,
        "pad_token_id": 0,
        "inputs": ["input_ids", "attention_mask"],
        "output": "probabilities",
        "source_onnx_sha256": hashlib.sha256(onnx).hexdigest(),
    }
    (version / "build.json").write_text(json.dumps(build))
    (version / "tokenizer").mkdir()
    shutil.copy2(real_tokenizer(), version / "tokenizer" / "tokenizer.json")
    return tmp_path / "repo"


@pytest.fixture(scope="session")
def heldout_texts() -> list[str]:
    """Real held-out texts of the demo definition (the build's cached split, else the dataset itself)."""
    cached = sorted(
        glob.glob(str(project_root() / ".inferstack" / "cache" / "builds" / "sentiment-*" / "heldout.json"))
    )
    if cached:
        return json.loads(Path(cached[0]).read_text())["texts"]
    from inferstack.model.data import load_dataset
    from inferstack.modeldef import load_definition
    from inferstack.paths import default_model_definition

    return list(load_dataset(load_definition(default_model_definition())).test.texts)


@pytest.fixture
def tokenizer_json() -> Path:
    return real_tokenizer()
