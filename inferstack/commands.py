"""Command registration: one entry per area. Each area's module defines `register(app)` and imports its
heavy dependencies inside its commands, so `inferstack --help` stays fast."""

from __future__ import annotations

import importlib

import typer

AREAS = (
    "inferstack.model.cli",  # model build, model-repo render
    "inferstack.local.cli",  # up / status / down local
    "inferstack.loadtest.cli",  # loadtest
    "inferstack.demo",  # demo
    "inferstack.cost.cli",  # cost
    "inferstack.bench.cli",  # bench
    "inferstack.render",  # render --env aws|onprem
    "inferstack.engine.cli",  # engine, images
    "inferstack.testbed.cli",  # testbed up / down
    "inferstack.cluster.cli",  # tools build|status, cluster up|status|down (simulated cluster)
)


def register_all(app: typer.Typer) -> None:
    for name in AREAS:
        importlib.import_module(name).register(app)
