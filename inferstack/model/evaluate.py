"""Evaluate FP32 and INT8 graphs on the held-out texts through the serving code itself.

Accuracy, ROC AUC, label agreement between the two, file size, and batch-1 latency p50/p95. One graph
is timed at a time (interleaved ONNX Runtime sessions in one process inflate each other's latency).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from inferstack.modeldef import ModelDefinition
from inferstack.modelrepo.render import PYTHON_MODEL


def serving_module():
    """The Triton python model's module, loaded from its file: evaluation uses the code that serves."""
    spec = importlib.util.spec_from_file_location("inferstack_served_model", PYTHON_MODEL)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def auc(labels: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if probs.shape[1] == 2:
        return float(roc_auc_score(labels, probs[:, 1]))
    return float(roc_auc_score(labels, probs, multi_class="ovr", average="macro"))


def evaluate_graph(
    version_dir: Path,
    model_file: str,
    texts: list[str],
    labels: list[int],
    definition: ModelDefinition,
    latency_samples: int = 200,
    batch_size: int = 32,
) -> dict:
    module = serving_module()
    pipeline = module.Pipeline(
        str(version_dir),
        encoder="onnxruntime",
        intra_op_threads=definition.serving.intra_op_threads,
        padding="longest",
    )
    # Pipeline reads the graph named in build.json; evaluate the requested file instead.
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = definition.serving.intra_op_threads
    options.inter_op_num_threads = 1
    pipeline.session = ort.InferenceSession(
        str(version_dir / model_file), options, providers=["CPUExecutionProvider"]
    )
    probs = np.concatenate(
        [pipeline.probabilities(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    )
    y = np.asarray(labels)
    for text in texts[:10]:  # warm-up before timing
        pipeline.probabilities([text])
    timings = []
    for text in texts[:latency_samples]:
        start = time.perf_counter()
        pipeline.probabilities([text])
        timings.append((time.perf_counter() - start) * 1000)
    del pipeline
    return {
        "probs": probs,
        "accuracy": float((probs.argmax(1) == y).mean()),
        "roc_auc": auc(y, probs),
        "size_mb": (version_dir / model_file).stat().st_size / 1e6,
        "latency_p50_ms": float(np.percentile(timings, 50)),
        "latency_p95_ms": float(np.percentile(timings, 95)),
    }


def compare(fp32: dict, int8: dict) -> dict:
    agreement = float((fp32["probs"].argmax(1) == int8["probs"].argmax(1)).mean())
    metrics = {}
    for name, result in (("fp32", fp32), ("int8", int8)):
        for key in ("accuracy", "roc_auc", "size_mb", "latency_p50_ms", "latency_p95_ms"):
            metrics[f"{name}_{key}"] = round(result[key], 6)
    metrics["label_agreement"] = round(agreement, 6)
    metrics["auc_drop"] = round(fp32["roc_auc"] - int8["roc_auc"], 6)
    metrics["size_ratio"] = round(fp32["size_mb"] / int8["size_mb"], 3)
    return metrics


def gate(metrics: dict, definition: ModelDefinition) -> list[str]:
    """Reasons the INT8 model may not be published; empty when it passes the fidelity gate."""
    rules = definition.fidelity
    problems = []
    if metrics["auc_drop"] > rules.max_auc_drop:
        problems.append(
            f"INT8 lost {metrics['auc_drop']:.4f} ROC AUC against FP32; the gate allows {rules.max_auc_drop:.4f} "
            f"(over by {metrics['auc_drop'] - rules.max_auc_drop:.4f}; fidelity.max_auc_drop)"
        )
    if metrics["label_agreement"] < rules.min_label_agreement:
        problems.append(
            f"INT8 agrees with FP32 on {metrics['label_agreement']:.3f} of held-out labels; the gate needs "
            f"{rules.min_label_agreement:.3f} (short by {rules.min_label_agreement - metrics['label_agreement']:.3f}; "
            "fidelity.min_label_agreement)"
        )
    return problems
