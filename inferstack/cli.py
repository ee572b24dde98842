"""The `inferstack` command: what no standard tool covers (local environment, model build, SLO verdict,
cost comparison, rendering). Each area lives in its own module; this file only wires them together.
Users' mistakes (InferstackError) are printed as one clear message, without a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from inferstack.errors import InferstackError

app = typer.Typer(
    name="inferstack",
    help="One GPU inference stack, on-prem or on AWS: build the model, serve it, prove its SLO, price it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


def _register() -> None:
    # Each module adds its commands to `app`. Imports are deferred so `inferstack --help` stays fast
    # and a group's missing optional dependencies only matter when that group is used.
    from inferstack.commands import register_all

    register_all(app)


def main() -> None:
    _register()
    try:
        app()
    except InferstackError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
