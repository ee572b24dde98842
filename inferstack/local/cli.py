"""`inferstack up local` / `status local` / `down local`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

console = Console()
ENV_HELP = "environment: only 'local' is started by this command (clusters come from `pulumi up`)"


def _check_env(env: str) -> None:
    if env != "local":
        raise typer.BadParameter(
            f"{env!r}: only 'local' runs as processes; for onprem/cloud use `pulumi up` (see docs/)",
            param_hint="ENV",
        )


def up_cmd(
    env: str = typer.Argument("local", help=ENV_HELP),
    repo: Path = typer.Option(None, "--repo", help="Triton model repository (default: model-repo/)"),
    no_prometheus: bool = typer.Option(False, "--no-prometheus", help="do not start Prometheus"),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="do not start the MLflow server"),
) -> None:
    """Start Triton, Prometheus and MLflow on 127.0.0.1 and wait until each is healthy."""
    from inferstack.local import stack

    _check_env(env)
    result = stack.up(repo, with_prometheus=not no_prometheus, with_mlflow=not no_mlflow, echo=console.print)
    for key, endpoint in result["endpoints"].items():
        console.print(f"  {key:15} {endpoint['url']}")
    console.print("stop with: inferstack down local")


def status_cmd(
    env: str = typer.Argument("local", help=ENV_HELP),
    as_json: bool = typer.Option(False, "--json", help="print endpoints and health as JSON"),
) -> None:
    """Show the local stack's endpoints and whether each is healthy (exit 1 when something is not)."""
    from inferstack.local import stack

    _check_env(env)
    result = stack.status()
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        if not result["services"]:
            console.print("nothing is running (start with: inferstack up local)")
        for name, svc in result["services"].items():
            mark = "[green]healthy[/]" if svc["healthy"] else "[red]not healthy[/]"
            console.print(
                f"{name:11} {mark} pid {svc['pid']}  {'  '.join(svc['urls'].values())}  log {svc['log']}"
            )
    raise typer.Exit(0 if result["healthy"] else 1)


def down_cmd(env: str = typer.Argument("local", help=ENV_HELP)) -> None:
    """Stop exactly the processes `up` started."""
    from inferstack.local import stack

    _check_env(env)
    stack.down(echo=console.print)


def register(app: typer.Typer) -> None:
    app.command("up")(up_cmd)
    app.command("status")(status_cmd)
    app.command("down")(down_cmd)
