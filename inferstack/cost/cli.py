"""`inferstack cost`: what one inference costs on each option, from a load test's results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def cost(
    results: Annotated[Path, typer.Option("--results", help="results.json of a load test that met its SLO")],
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="YAML laid over the default catalog: your own prices")
    ] = None,
    target_rps: Annotated[
        float | None, typer.Option("--target-rps", help="rate to serve (default: the rate the test served)")
    ] = None,
    utilization: Annotated[
        float | None,
        typer.Option("--utilization", help="average busy fraction of bought capacity (default 0.5)"),
    ] = None,
    throughput: Annotated[
        list[str] | None,
        typer.Option(
            "--throughput",
            help="DEVICE=RPS estimate per GPU (per vCPU for cpu) for hardware not measured here; repeatable",
        ),
    ] = None,
    allow_failed_slo: Annotated[
        bool, typer.Option("--allow-failed-slo", help="price a run that missed its SLO (labelled SLO FAILED)")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="report folder (default: cost/ beside results)")
    ] = None,
) -> None:
    """Cost per million inferences on-prem vs cloud, from throughput measured within the SLO."""
    from rich.console import Console

    from inferstack.cost.comparison import compare
    from inferstack.cost.report import render_table

    console = Console()
    comparison = compare(
        results,
        out_dir=out,
        catalog=catalog,
        target_rps=target_rps,
        utilization=utilization,
        throughput=throughput,
        allow_failed_slo=allow_failed_slo,
    )
    render_table(comparison, console)
    for name, path in comparison.files.items():
        console.print(f"{name}: {path}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("cost")(cost)
