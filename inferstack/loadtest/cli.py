"""`inferstack loadtest`: load-test any Triton against an SLO file and print the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inferstack.errors import ConfigError, GateError
from inferstack.paths import default_model_definition, default_slo, results_dir

console = Console()


def texts_for(definition_path: Path, texts_file: Path | None) -> tuple[list[str], list[str]]:
    """(texts, labels): held-out texts of the model definition's dataset, or a file of texts."""
    from inferstack.modeldef import load_definition

    definition = load_definition(definition_path)
    if texts_file:
        if texts_file.suffix == ".json":
            texts = json.loads(texts_file.read_text())["texts"]
        else:
            texts = [line.strip() for line in texts_file.read_text().splitlines() if line.strip()]
        if not texts:
            raise ConfigError(
                texts_file, None, "no texts in the file", 'one text per line, or JSON {"texts": [...]}'
            )
        return texts, definition.labels
    from inferstack.model.data import load_dataset

    return load_dataset(definition).test.texts, definition.labels


def verdict_table(results) -> Table:
    table = Table(title=f"SLO {results.slo_name}: {'PASS' if results.verdict.passed else 'FAIL'}")
    for column in ("objective", "threshold", "measured", ""):
        table.add_column(column)
    from inferstack.loadtest.report import _fmt

    for o in results.objectives:
        table.add_row(
            o.name,
            f"{o.op} {_fmt(o.metric, o.threshold)}",
            _fmt(o.metric, o.measured),
            "[green]pass[/]" if o.passed else "[bold red]FAIL[/]",
        )
    m = results.measured
    table.caption = (
        f"{m.requests} requests, {m.achieved_rps:.1f} req/s achieved of {results.load.offered_rps:g} offered; "
        f"p50 {m.latency_ms.p50} ms; server avg batch {results.server.avg_batch_size}"
    )
    return table


def default_metrics_url(target: str) -> str | None:
    """The local stack's metrics URL when the target is the local Triton; None lets the runner guess (port 8002)."""
    from inferstack.local import stack

    for entry in stack.read_stack()["services"].values():
        urls = entry.get("urls", {})
        if urls.get("triton_http", "").rstrip("/") == target.rstrip("/"):
            return urls.get("triton_metrics")
    return None


def run_loadtest(
    target: str,
    slo_path: Path,
    out: Path,
    definition: Path,
    texts_file: Path | None = None,
    metrics_url: str | None = None,
    environment: str = "unknown",
    replicas: int = 1,
    accelerator: str | None = None,
    instance_type: str | None = None,
    build_info: dict | None = None,
):
    from inferstack.loadtest import runner
    from inferstack.slo import load_slo

    slo = load_slo(slo_path)  # errors in the SLO file stop us before anything starts
    texts, labels = texts_for(definition, texts_file)
    metrics_url = metrics_url or default_metrics_url(target)
    results = runner.run(
        target,
        slo,
        slo_path,
        out,
        texts,
        labels,
        metrics_url=metrics_url,
        environment=environment,
        replicas=replicas,
        accelerator=accelerator,
        instance_type=instance_type,
        echo=console.print,
    )
    path = runner.finish(results, out, build_info)
    return results, path


def loadtest_cmd(
    target: str = typer.Option(
        "http://127.0.0.1:8000", "--target", help="Triton HTTP base URL (local or a cluster)"
    ),
    slo: Path = typer.Option(None, "--slo", help="SLO file (default: loadtests/slo.yaml)"),
    out: Path = typer.Option(
        None, "--out", help="directory for results.json and the report (default: results/<timestamp>)"
    ),
    definition: Path = typer.Option(
        None, "--definition", "-d", help="model definition (labels, held-out texts)"
    ),
    texts: Path = typer.Option(None, "--texts", help='texts to send: one per line, or JSON {"texts": [...]}'),
    metrics_url: str = typer.Option(
        None, "--metrics-url", help="Triton metrics URL (default: the target host, port 8002)"
    ),
    environment: str = typer.Option(
        "unknown", "--environment", help="local | onprem | cloud, recorded in results.json"
    ),
    replicas: int = typer.Option(1, "--replicas", min=1, help="Triton replicas behind the target"),
    accelerator: str = typer.Option(
        None, "--accelerator", help="GPU model serving the target (e.g. A10G), for the cost tool"
    ),
    instance_type: str = typer.Option(
        None, "--instance-type", help="instance type or server model, for the cost tool"
    ),
) -> None:
    """Run Locust headless and bounded, judge every objective, write results.json and a report.

    Exit code 1 when an objective is missed."""
    import time

    out = out or results_dir() / time.strftime("%Y%m%d-%H%M%S")
    results, path = run_loadtest(
        target,
        slo or default_slo(),
        out,
        definition or default_model_definition(),
        texts,
        metrics_url,
        environment,
        replicas,
        accelerator,
        instance_type,
    )
    console.print(verdict_table(results))
    console.print(f"results: {path}\nreport:  {path.parent / 'report.md'}")
    if not results.verdict.passed:
        raise GateError(f"SLO {results.slo_name} missed: {', '.join(results.verdict.failed)}")


def register(app: typer.Typer) -> None:
    app.command("loadtest")(loadtest_cmd)
