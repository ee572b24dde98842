"""Command registration: one line per area. Heavy imports happen inside each command."""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    from inferstack.model import cli as model_cli

    model_cli.register(app)
    from inferstack.local import cli as local_cli

    local_cli.register(app)
    from inferstack.loadtest import cli as loadtest_cli

    loadtest_cli.register(app)
    from inferstack import demo

    demo.register(app)
    from inferstack.testbed import cli as testbed_cli; testbed_cli.register(app)  # noqa: E702
    from inferstack.cost import cli as cost_cli; cost_cli.register(app)  # noqa: E702
    from inferstack import render; render.register(app)  # noqa: E702
    from inferstack.engine import cli as engine_cli; engine_cli.register(app)  # noqa: E702
    from inferstack.testbed import cli as testbed_cli; testbed_cli.register(app)  # noqa: E702
    from inferstack.bench import cli as bench_cli; bench_cli.register(app)  # noqa: E702
