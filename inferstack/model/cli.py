"""`inferstack model build` and `inferstack model-repo render`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inferstack.paths import default_model_definition, default_model_repo

console = Console()
model_app = typer.Typer(help="Build, evaluate and publish models.", no_args_is_help=True)
repo_app = typer.Typer(
    help="Render Triton model repositories from the model definition.", no_args_is_help=True
)

DefinitionOpt = typer.Option(
    None, "--definition", "-d", help="model definition YAML (default: model-repo/sentiment.model.yaml)"
)


def metrics_table(metrics: dict) -> Table:
    table = Table(title="FP32 vs INT8 on the held-out set")
    for column in ("", "FP32", "INT8"):
        table.add_column(column, justify="right" if column else "left")
    for key, label, fmt in (
        ("accuracy", "accuracy", "{:.3f}"),
        ("roc_auc", "ROC AUC", "{:.3f}"),
        ("size_mb", "size (MB)", "{:.1f}"),
        ("latency_p50_ms", "p50 batch 1 (ms)", "{:.1f}"),
        ("latency_p95_ms", "p95 batch 1 (ms)", "{:.1f}"),
    ):
        table.add_row(label, fmt.format(metrics[f"fp32_{key}"]), fmt.format(metrics[f"int8_{key}"]))
    table.caption = f"label agreement {metrics['label_agreement']:.3f}, AUC drop {metrics['auc_drop']:+.4f}"
    return table


@model_app.command("build")
def build_cmd(
    definition: Path = DefinitionOpt,
    repo: Path = typer.Option(
        None, "--repo", help="Triton model repository to publish into (default: model-repo/)"
    ),
    tracking_uri: str = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or a SQLite store in the state dir)",
    ),
    force: bool = typer.Option(False, "--force", help="rebuild even when a cached build matches"),
) -> None:
    """Train the head, export ONNX, optimize, quantize to INT8, gate, track in MLflow, publish a new version."""
    from inferstack.model.build import build_and_publish
    from inferstack.modeldef import load_definition

    spec = load_definition(definition or default_model_definition())
    result = build_and_publish(spec, repo or default_model_repo(), tracking_uri=tracking_uri, force=force)
    console.print(metrics_table(result.metrics))
    published = result.published
    assert published is not None
    state = "published new version" if published.new else "already published as version"
    console.print(f"{state} [bold]{published.version}[/] at {published.path}")
    console.print(
        f"MLflow: run {result.meta['mlflow']['run_id']}, registered model {spec.name} version {result.mlflow_model_version}"
    )


@repo_app.command("render")
def render_cmd(
    target: str = typer.Option(
        "cpu", "--target", help="cpu (python backend + ONNX Runtime) or another registered target"
    ),
    out: Path = typer.Option(
        None, "--out", help="repository directory to write (default: model-repo/ for cpu)"
    ),
    definition: Path = DefinitionOpt,
) -> None:
    """Write the config.pbtxt files of a target; existing versions are left untouched."""
    from inferstack.modeldef import load_definition
    from inferstack.modelrepo.render import TARGETS, write_repository

    if target not in TARGETS:
        raise typer.BadParameter(
            f"unknown target {target!r}; known: {', '.join(TARGETS)}", param_hint="--target"
        )
    spec = load_definition(definition or default_model_definition())
    for path in write_repository(spec, target, out or default_model_repo()):
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
    app.add_typer(repo_app, name="model-repo")
