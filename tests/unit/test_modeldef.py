"""Model definitions: the demo loads; every mistake names the file, the field and the fix."""

from pathlib import Path

import pytest
import yaml

from inferstack.errors import ConfigError
from inferstack.modeldef import load_definition
from inferstack.paths import default_model_definition

DEMO = yaml.safe_load(default_model_definition().read_text())


def write(tmp_path: Path, data) -> Path:
    (tmp_path / "slo.yaml").write_text(
        (default_model_definition().parent.parent / "loadtests" / "slo.yaml").read_text()
    )
    data = {**data, "slo": "slo.yaml"}
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_demo_definition_loads_with_its_slo():
    spec = load_definition(default_model_definition())
    assert spec.name == "sentiment"
    assert spec.labels == ["rotten", "fresh"]
    assert spec.slo_path.name == "slo.yaml" and spec.slo_path.is_file()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"labelz": ["a", "b"]}, "labelz", "unknown field"),
        ({"labels": ["only"]}, "labels", "at least 2"),
        ({"labels": ["a", "a"]}, None, "unique"),
        ({"max_sequence_length": "long"}, "max_sequence_length", "integer"),
        ({"name": "Bad Name"}, "name", "pattern"),
        (
            {"serving": {"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": [8]}}},
            None,
            "exceeds",
        ),
        ({"dataset": {"kind": "pypi-wheel", "package": "x"}}, "dataset", "version"),
        ({"source": {"kind": "directory", "path": "no/such/dir"}}, "source.path", "not found"),
    ],
)
def test_malformed_definition_names_file_field_and_fix(tmp_path, change, field, words):
    path = write(tmp_path, {**DEMO, **change})
    with pytest.raises(ConfigError) as caught:
        load_definition(path)
    message = str(caught.value)
    assert str(path) in message
    assert "fix:" in message
    assert words in message
    if field:
        assert caught.value.field == field


def test_missing_required_field_says_to_add_it(tmp_path):
    data = {k: v for k, v in DEMO.items() if k != "labels"}
    with pytest.raises(ConfigError) as caught:
        load_definition(write(tmp_path, data))
    assert (
        caught.value.field == "labels" and "missing" in caught.value.problem and "add it" in caught.value.fix
    )


def test_invalid_yaml_reports_line(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="line"):
        load_definition(path)


def test_fingerprint_ignores_serving_but_not_training_settings(tmp_path):
    base = load_definition(write(tmp_path, DEMO))
    served = load_definition(write(tmp_path, {**DEMO, "serving": {**DEMO["serving"], "instances": 2}}))
    trained = load_definition(write(tmp_path, {**DEMO, "head": {"pooling": "cls", "regularization_c": 1.0}}))
    assert base.fingerprint() == served.fingerprint()
    assert base.fingerprint() != trained.fingerprint()
