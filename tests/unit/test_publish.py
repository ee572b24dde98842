"""Publishing: numbered versions, never overwritten, no new version for an unchanged build."""

import json

import pytest

from inferstack.model import publish
from inferstack.modeldef import load_definition
from inferstack.paths import default_model_definition


def fake_build(tmp_path, key: str):
    build = tmp_path / f"build-{key}"
    (build / "tokenizer").mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "source.onnx"):
        (build / name).write_bytes(f"{name}-{key}".encode())
    (build / "tokenizer" / "tokenizer.json").write_text("{}")
    (build / "build.json").write_text(json.dumps({"build_key": key, "labels": ["rotten", "fresh"]}))
    return build


@pytest.fixture
def spec():
    return load_definition(default_model_definition())


def test_versions_are_numbered_and_never_overwritten(tmp_path, spec):
    repo = tmp_path / "repo"
    first = publish.publish(fake_build(tmp_path, "aaa"), spec, repo)
    again = publish.publish(fake_build(tmp_path, "aaa"), spec, repo)
    second = publish.publish(fake_build(tmp_path, "bbb"), spec, repo)
    assert (first.version, first.new) == (1, True)
    assert (again.version, again.new) == (1, False)
    assert (second.version, second.new) == (2, True)
    assert (repo / "sentiment" / "1" / "model.onnx").read_bytes() == b"model.onnx-aaa"
    assert (repo / "sentiment" / "2" / "model.onnx").read_bytes() == b"model.onnx-bbb"
    assert (repo / "sentiment" / "2" / "model.py").is_file()
    assert json.loads((repo / "sentiment" / "2" / "build.json").read_text())["published"]["version"] == 2
    assert not [p for p in (repo / "sentiment").iterdir() if p.name.startswith(".staging")]


def test_a_failed_publish_leaves_no_half_version(tmp_path, spec):
    repo = tmp_path / "repo"
    build = fake_build(tmp_path, "ccc")
    (build / "source.onnx").unlink()
    with pytest.raises(FileNotFoundError):
        publish.publish(build, spec, repo)
    assert publish.versions(repo / "sentiment") == []
    assert not [p for p in (repo / "sentiment").iterdir() if p.name.startswith(".staging")]
