"""`inferstack bench`: optimized vs naive serving, side by side in one run (what `make bench` runs)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from inferstack.paths import default_model_definition, default_slo, results_dir

console = Console()


def _latest(out: Path) -> None:
    """results/bench/latest -> this run (a relative link, replaced atomically)."""
    link = out.parent / "latest"
    tmp = out.parent / ".latest.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(out.name)
    os.replace(tmp, link)


def bench_cmd(
    quick: Annotated[
        bool, typer.Option("--quick", help="one round of short steps (about 5 minutes) instead of two")
    ] = False,
    scale: Annotated[
        str | None,
        typer.Option("--scale", help="full | quick | tiny (tiny: seconds, for tests; figures meaningless)"),
    ] = None,
    definition: Annotated[
        Path | None,
        typer.Option(
            "--definition", "-d", help="model definition (default: model-repo/sentiment.model.yaml)"
        ),
    ] = None,
    slo: Annotated[
        Path | None,
        typer.Option(
            "--slo", help="SLO file: its p95 objective bounds the search, its rate is the fixed rate"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="output directory (default: results/bench/<timestamp>, linked as results/bench/latest)",
        ),
    ] = None,
    serving: Annotated[
        list[str] | None,
        typer.Option(
            "--serving",
            help="override a serving setting for this run, e.g. instances=2 "
            "or dynamic_batching.max_queue_delay_microseconds=5000 (repeatable; for tuning)",
        ),
    ] = None,
    repo: Annotated[
        Path | None,
        typer.Option("--repo", help="model repository holding the published versions (default: model-repo/)"),
    ] = None,
    only: Annotated[
        str | None, typer.Option("--only", help="run one system only: naive | triton (tuning runs)")
    ] = None,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="do not log the run to MLflow")] = False,
) -> None:
    """Naive (FastAPI + torch eager FP32) vs ours (Triton + INT8 + dynamic batching) vs the raw engine.

    Searches each server's highest rate within the SLO's p95, compares latency at the SLO's fixed rate,
    measures CPU per process and cold start, writes bench.json and a report with plots, logs to MLflow."""
    from inferstack.bench import report
    from inferstack.bench.run import SCALES, SYSTEMS, execute

    name = scale or ("quick" if quick else "full")
    if name not in SCALES:
        raise typer.BadParameter(f"unknown scale {name!r}; choose {', '.join(SCALES)}", param_hint="--scale")
    if only and only not in SYSTEMS:
        raise typer.BadParameter(f"unknown system {only!r}; choose {', '.join(SYSTEMS)}", param_hint="--only")
    root = results_dir() / "bench"
    target = out or root / time.strftime("%Y%m%d-%H%M%S")
    result = execute(
        definition or default_model_definition(),
        slo or default_slo(),
        SCALES[name],
        target,
        overrides=serving or [],
        repo=repo,
        systems=(only,) if only else SYSTEMS,
        log_mlflow=not no_mlflow,
        echo=console.print,
    )
    if out is None:
        _latest(target)
    console.print(report.table(result))
    shown = root / "latest" if out is None else target
    console.print(f"bench.json: {shown / 'bench.json'}\nreport:     {shown / 'report.md'}")
    if result.get("mlflow"):
        console.print(f"MLflow:     run {result['mlflow']['run_id']} in experiment inferstack-bench")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_cmd)
