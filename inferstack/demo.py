"""`inferstack demo` (what `make demo` runs): the whole loop on this machine.

Build the demo model (cached when unchanged), publish it, start the local stack, load-test it against
loadtests/slo.yaml, price the measured throughput, and print the verdict, the figures and where the
report is. Exit code 0 only when every objective holds.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import typer
from rich.console import Console

from inferstack.errors import GateError
from inferstack.paths import default_model_definition, default_model_repo, default_slo, results_dir

console = Console()


def refresh_latest(run_dir: Path) -> Path:
    """results/latest becomes a copy of this run, swapped in whole (never half old, half new)."""
    latest = results_dir() / "latest"
    staging = results_dir() / ".latest-staging"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(run_dir, staging)
    old = results_dir() / ".latest-old"
    shutil.rmtree(old, ignore_errors=True)
    if latest.exists():
        latest.rename(old)
    staging.rename(latest)
    shutil.rmtree(old, ignore_errors=True)
    return latest


def demo_cmd(
    definition: Path = typer.Option(
        None, "--definition", "-d", help="model definition (default: the demo's)"
    ),
    slo: Path = typer.Option(None, "--slo", help="SLO file (default: loadtests/slo.yaml)"),
    keep_up: bool = typer.Option(True, "--keep-up/--down", help="leave the local stack running afterwards"),
) -> None:
    """Build, serve, load-test against the SLO and price the demo model on this machine."""
    from inferstack.loadtest.cli import run_loadtest, verdict_table
    from inferstack.local import stack
    from inferstack.model.build import build_and_publish
    from inferstack.model.cli import metrics_table
    from inferstack.modeldef import load_definition
    from inferstack.slo import load_slo

    started = time.time()
    definition_path = definition or default_model_definition()
    spec = load_definition(definition_path)
    slo_path = slo or spec.slo_path or default_slo()
    load_slo(slo_path)  # a broken SLO file stops the demo before anything is built or started
    repo = default_model_repo()

    console.rule("1/4 model build")
    result = build_and_publish(spec, repo)
    console.print(metrics_table(result.metrics))
    published = result.published
    assert published is not None
    console.print(
        f"model {spec.name} version {published.version} ({'new' if published.new else 'unchanged'}); "
        f"MLflow registered version {result.mlflow_model_version}"
    )

    console.rule("2/4 local stack")
    status = stack.up(repo, echo=console.print)
    triton_url = status["endpoints"]["triton_http"]["url"]
    stack.load_model(triton_url, spec.name)  # explicit model control: serve the version just published

    console.rule("3/4 load test")
    run_dir = results_dir() / "runs" / time.strftime("%Y%m%d-%H%M%S")
    build_info = json.loads((published.path / "build.json").read_text())
    results, _ = run_loadtest(
        triton_url,
        slo_path,
        run_dir,
        definition_path,
        environment="local",
        metrics_url=status["endpoints"]["triton_metrics"]["url"],
        build_info=build_info,
    )
    console.print(verdict_table(results))

    console.rule("4/4 cost per inference (CPU demo)")
    from inferstack import cost
    from inferstack.errors import InferstackError

    try:
        comparison = cost.compare(
            run_dir / "results.json", out_dir=run_dir / "cost", allow_failed_slo=not results.verdict.passed
        )
        console.print(str(comparison))
    except InferstackError as exc:  # the verdict stands even when pricing is refused; say why
        console.print(f"[yellow]cost comparison skipped:[/] {exc}")
    latest = refresh_latest(run_dir)

    console.rule("result")
    console.print(
        f"verdict: {'[bold green]PASS[/]' if results.verdict.passed else '[bold red]FAIL[/]'} "
        f"({len(results.objectives) - len(results.verdict.failed)}/{len(results.objectives)} objectives hold)"
    )
    m = results.measured
    console.print(
        f"achieved {m.achieved_rps:.1f} req/s of {results.load.offered_rps:g} offered; p50 {m.latency_ms.p50} ms, "
        f"p95 {m.latency_ms.p95} ms, p99 {m.latency_ms.p99} ms; errors {m.error_ratio:.2%}"
    )
    console.print(f"results: {latest / 'results.json'}\nreport:  {latest / 'report.md'}")
    if (latest / "cost").is_dir():
        console.print(f"cost:    {latest / 'cost'}")
    for key, endpoint in status["endpoints"].items():
        console.print(f"  {key:15} {endpoint['url']}")
    console.print(f"done in {time.time() - started:.0f} s")
    if not keep_up:
        stack.down(echo=console.print)
    else:
        console.print("the local stack is still running: inferstack down local (or make down) stops it")
    if not results.verdict.passed:
        raise GateError(f"SLO {results.slo_name} missed: {', '.join(results.verdict.failed)}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
