"""`inferstack model build`: definition -> trained head -> ONNX -> optimized -> INT8 -> gate -> MLflow -> repo.

Builds are cached by a key over everything that changes the result (definition fields that matter,
dataset bytes, checkpoint files, library versions, this pipeline's code): unchanged inputs reuse the
cached build and publish nothing new.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from inferstack import versions
from inferstack.errors import GateError
from inferstack.model import data, evaluate, publish, tracking
from inferstack.model.encoder import INPUT_NAMES, OUTPUT_NAME, checkpoint_dir
from inferstack.modeldef import ModelDefinition
from inferstack.modelrepo.render import PYTHON_MODEL
from inferstack.paths import cache_dir

console = Console(stderr=True)
PIPELINE_FILES = ("build.py", "encoder.py", "optimize.py", "data.py", "evaluate.py")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


@dataclass
class BuildResult:
    build_dir: Path
    build_key: str
    cached: bool
    metrics: dict
    meta: dict
    published: publish.Published | None = None
    mlflow_model_version: str | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_key(definition: ModelDefinition, dataset_sha: str, checkpoint: Path) -> str:
    parts = [definition.fingerprint(), dataset_sha]
    for path in sorted(checkpoint.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            stat = path.stat()
            parts.append(f"{path.relative_to(checkpoint)}:{stat.st_size}")
    parts.append(_sha256(checkpoint / "config.json"))
    for name in ("torch", "onnx", "onnxruntime", "transformers", "tokenizers"):
        parts.append(f"{name}={versions.python_pins()[name]}")
    here = Path(__file__).parent
    parts.extend(_sha256(here / name) for name in PIPELINE_FILES)
    # The serving code is copied into every version and evaluated by the build: a change is a new version.
    parts.append(_sha256(PYTHON_MODEL))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _train_and_export(definition: ModelDefinition, ds: data.Dataset, checkpoint: Path, work: Path) -> dict:
    import torch
    from sklearn.linear_model import LogisticRegression

    from inferstack.model import encoder as enc
    from inferstack.model import optimize

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    tokenizer = enc.load_tokenizer(checkpoint)
    model = enc.load_encoder(checkpoint)
    timings = {}
    with _progress() as progress:
        task = progress.add_task("embedding training texts", total=len(ds.train.texts))
        start = time.perf_counter()
        features = enc.embed(
            model,
            tokenizer,
            ds.train.texts,
            definition.max_sequence_length,
            definition.head.pooling,
            progress=lambda n: progress.advance(task, n),
        )
        timings["embed_s"] = time.perf_counter() - start
    console.print("fitting the classification head")
    clf = LogisticRegression(C=definition.head.regularization_c, max_iter=2000)
    clf.fit(features, ds.train.labels)
    weight, bias = enc.head_from_logistic(clf, len(definition.labels))
    module = enc.classifier_module(model, weight, bias, definition.head.pooling)

    console.print("exporting to ONNX (torch.onnx, opset 17)")
    enc.export_onnx(module, tokenizer, work / "source.onnx", definition.max_sequence_length)
    console.print("optimizing the graph (ONNX Runtime transformer fusions)")
    fused = optimize.optimize(work / "source.onnx", work / "model.fp32.onnx", checkpoint)
    if definition.quantization.kind == "dynamic-int8":
        console.print(
            "quantizing to INT8 (dynamic, per-channel)"
            if definition.quantization.per_channel
            else "quantizing to INT8"
        )
        optimize.quantize(work / "model.fp32.onnx", work / "model.onnx", definition.quantization)
    else:
        shutil.copy2(work / "model.fp32.onnx", work / "model.onnx")

    (work / "tokenizer").mkdir(exist_ok=True)
    for name in TOKENIZER_FILES:
        if (checkpoint / name).is_file():
            shutil.copy2(checkpoint / name, work / "tokenizer" / name)
    if not (work / "tokenizer" / "tokenizer.json").is_file():
        tokenizer.backend_tokenizer.save(str(work / "tokenizer" / "tokenizer.json"))
    return {
        "fused_operators": fused,
        "timings": timings,
        "pad_token_id": int(tokenizer.pad_token_id or 0),
        "train_accuracy": float(clf.score(features, ds.train.labels)),
    }


def build(definition: ModelDefinition, force: bool = False) -> BuildResult:
    console.print(f"[bold]model build[/] {definition.name} from {definition.file}")
    checkpoint = checkpoint_dir(definition)
    console.print(f"loading dataset ({definition.dataset.kind})")
    ds = data.load_dataset(definition)
    key = build_key(definition, ds.sha256, checkpoint)
    build_dir = cache_dir() / "builds" / f"{definition.name}-{key}"
    if (build_dir / "build.json").is_file() and not force:
        meta = json.loads((build_dir / "build.json").read_text())
        console.print(f"inputs unchanged: reusing cached build {key}")
        return BuildResult(build_dir, key, True, meta["metrics"], meta)

    work = build_dir.with_name(build_dir.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.time()
    extra = _train_and_export(definition, ds, checkpoint, work)

    # build.json first without metrics: the serving Pipeline reads labels and lengths from it.
    meta = {
        "name": definition.name,
        "build_key": key,
        "labels": definition.labels,
        "max_sequence_length": definition.max_sequence_length,
        "pad_token_id": extra["pad_token_id"],
        "model_file": "model.onnx",
        "inputs": list(INPUT_NAMES),
        "output": OUTPUT_NAME,
        "source_onnx_sha256": _sha256(work / "source.onnx"),
        "model_onnx_sha256": _sha256(work / "model.onnx"),
        "quantization": definition.quantization.model_dump(),
        "dataset": {**ds.info, "sha256": ds.sha256},
        "checkpoint": str(checkpoint),
        "versions": {
            k: versions.python_pins()[k]
            for k in ("torch", "onnx", "onnxruntime", "transformers", "tokenizers")
        },
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "processor": platform.processor(),
        },
    }
    (work / "build.json").write_text(json.dumps(meta, indent=2))

    console.print(f"evaluating FP32 and INT8 on {len(ds.test.texts)} held-out texts")
    fp32 = evaluate.evaluate_graph(work, "model.fp32.onnx", ds.test.texts, ds.test.labels, definition)
    int8 = evaluate.evaluate_graph(work, "model.onnx", ds.test.texts, ds.test.labels, definition)
    metrics = evaluate.compare(fp32, int8)
    metrics["train_accuracy"] = round(extra["train_accuracy"], 6)
    metrics["build_seconds"] = round(time.time() - started, 1)
    problems = evaluate.gate(metrics, definition)
    meta.update(
        metrics=metrics,
        gate={"passed": not problems, "problems": problems},
        fused_operators=extra["fused_operators"],
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    (work / "build.json").write_text(json.dumps(meta, indent=2) + "\n")
    (work / "heldout.json").write_text(json.dumps({"texts": ds.test.texts, "labels": ds.test.labels}))
    if build_dir.exists():
        shutil.rmtree(build_dir)
    work.rename(build_dir)
    return BuildResult(build_dir, key, False, metrics, meta)


def log_to_mlflow(result: BuildResult, definition: ModelDefinition, uri: str) -> str:
    """One MLflow run per new build: parameters, metrics, the ONNX files. Returns the run id."""
    mlflow, _ = tracking.setup(uri, experiment=f"inferstack-{definition.name}")
    params = {
        "build_key": result.build_key,
        "labels": ",".join(definition.labels),
        "max_sequence_length": definition.max_sequence_length,
        "pooling": definition.head.pooling,
        "regularization_c": definition.head.regularization_c,
        "quantization": definition.quantization.kind,
        "per_channel": definition.quantization.per_channel,
        "reduce_range": definition.quantization.reduce_range,
        "gate_max_auc_drop": definition.fidelity.max_auc_drop,
        "gate_min_label_agreement": definition.fidelity.min_label_agreement,
        "dataset": result.meta["dataset"]["origin"],
        "dataset_sha256": result.meta["dataset"]["sha256"][:16],
        "train_examples": result.meta["dataset"]["train_examples"],
        "test_examples": result.meta["dataset"]["test_examples"],
        **{f"version_{k}": v for k, v in result.meta["versions"].items()},
    }
    with mlflow.start_run(run_name=f"build-{result.build_key}") as run:
        mlflow.log_params(params)
        mlflow.log_metrics({k: float(v) for k, v in result.metrics.items()})
        mlflow.set_tags(
            {
                "gate": "passed" if result.meta["gate"]["passed"] else "failed",
                "inferstack.model": definition.name,
            }
        )
        for name in ("model.onnx", "source.onnx", "build.json"):
            mlflow.log_artifact(str(result.build_dir / name), artifact_path="model")
        mlflow.log_artifacts(str(result.build_dir / "tokenizer"), artifact_path="model/tokenizer")
        run_id = run.info.run_id
    meta_path = result.build_dir / "build.json"
    meta = json.loads(meta_path.read_text())
    meta["mlflow"] = {"tracking_uri": uri, "run_id": run_id}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    result.meta = meta
    return run_id


def build_and_publish(
    definition: ModelDefinition, repo: Path, tracking_uri: str | None = None, force: bool = False
) -> BuildResult:
    uri = tracking.tracking_uri(tracking_uri)
    result = build(definition, force=force)
    if not result.cached or result.meta.get("mlflow", {}).get("tracking_uri") != uri:
        log_to_mlflow(result, definition, uri)
    if not result.meta["gate"]["passed"]:
        raise GateError(
            "the fidelity gate refused to publish the INT8 model:\n  - "
            + "\n  - ".join(result.meta["gate"]["problems"])
            + f"\n  build kept at {result.build_dir} (MLflow run tagged gate=failed)"
        )
    result.published = publish.publish(result.build_dir, definition, repo)
    if result.published.new:
        import mlflow

        mlflow.set_tracking_uri(uri)
        client = mlflow.MlflowClient(uri)
        run = client.get_run(result.meta["mlflow"]["run_id"])
        result.mlflow_model_version = tracking.register(
            client,
            definition.name,
            run,
            "model",
            tags={
                "triton_repository": str(repo),
                "triton_version": str(result.published.version),
                "build_key": result.build_key,
            },
        )
        meta_path = result.published.path / "build.json"
        meta = json.loads(meta_path.read_text())
        meta["published"]["mlflow_model_version"] = result.mlflow_model_version
        meta["mlflow"] = result.meta["mlflow"]
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    else:
        meta = json.loads((result.published.path / "build.json").read_text())
        result.mlflow_model_version = meta.get("published", {}).get("mlflow_model_version")
    return result
