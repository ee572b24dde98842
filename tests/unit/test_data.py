"""Datasets from a CSV: group split without leakage, clear errors for wrong columns and labels."""

import csv

import pytest
import yaml

from inferstack.errors import ConfigError
from inferstack.model.data import load_dataset
from inferstack.modeldef import load_definition
from inferstack.paths import default_model_definition, default_slo


def definition(tmp_path, **dataset):
    rows = [
        {"review": f"text {i}", "verdict": "good" if i % 2 else "bad", "film": f"film{i % 10}"}
        for i in range(200)
    ]
    rows.append({"review": "a plot summary", "verdict": "plot", "film": "film0"})
    with (tmp_path / "data.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["review", "verdict", "film"])
        writer.writeheader()
        writer.writerows(rows)
    data = yaml.safe_load(default_model_definition().read_text())
    data.update(
        labels=["bad", "good"],
        slo=str(default_slo()),
        dataset={
            "kind": "csv",
            "path": "data.csv",
            "text_column": "review",
            "label_column": "verdict",
            "group_column": "film",
            "split": {"test_fraction": 0.3, "seed": 1},
            **dataset,
        },
    )
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_definition(path)


def test_split_by_group_has_no_leakage_and_drops_other_labels(tmp_path):
    ds = load_dataset(definition(tmp_path))
    train_films = {int(t.split()[1]) % 10 for t in ds.train.texts}
    test_films = {int(t.split()[1]) % 10 for t in ds.test.texts}
    assert train_films and test_films and not train_films & test_films
    assert len(ds.train.texts) + len(ds.test.texts) == 200
    assert set(ds.train.labels) == {0, 1}


def test_split_is_reproducible(tmp_path):
    assert load_dataset(definition(tmp_path)).test.texts == load_dataset(definition(tmp_path)).test.texts


def test_unknown_column_is_named(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_dataset(definition(tmp_path, text_column="body"))
    assert caught.value.field == "dataset.text_column" and "review" in caught.value.problem


def test_labels_missing_from_the_data_are_named(tmp_path):
    spec = definition(tmp_path)
    spec = spec.model_copy(update={"labels": ["bad", "excellent"]})
    with pytest.raises(ConfigError) as caught:
        load_dataset(spec)
    assert caught.value.field == "labels" and "excellent" in caught.value.problem
