"""Command registration: one line per area. Heavy imports happen inside each command."""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    from inferstack.model import cli as model_cli
    from inferstack.local import cli as local_cli
    from inferstack.loadtest import cli as loadtest_cli
    from inferstack import demo

    model_cli.register(app)
    local_cli.register(app)
    loadtest_cli.register(app)
    demo.register(app)
    from inferstack.cost import cli as cost_cli; cost_cli.register(app)  # noqa: E702
