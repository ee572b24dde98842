"""`inferstack cost` end to end on a fixture results.json, through the typer app as a user runs it."""

import json

import typer
from typer.testing import CliRunner

from inferstack.cost.cli import register
from inferstack.errors import ConfigError


def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.callback()
    def _root() -> None:  # keeps `cost` a subcommand, as in the real app
        pass

    return application


def test_cost_prints_the_table_and_writes_the_report(results_file, tmp_path):
    path = results_file()
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app(),
        [
            "cost",
            "--results",
            str(path),
            "--out",
            str(out),
            "--throughput",
            "A10G=287",
            "--target-rps",
            "100",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "CPU DEMO" in result.output
    assert "g5.xlarge on-demand" in result.output
    assert str(out / "cost-per-million.png") in result.output
    data = json.loads((out / "cost.json").read_text())
    assert data["assumptions"]["target_rps"] == 100
    assert (out / "cost-per-million.png").stat().st_size > 0


def test_cost_refuses_a_failed_slo_with_a_config_error(results_file, tmp_path):
    result = CliRunner().invoke(
        app(), ["cost", "--results", str(results_file(passed=False)), "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)  # cli.main prints it as one message, no traceback
    assert not (tmp_path / "cost.json").exists()


def test_cost_with_allow_failed_slo_labels_the_output(results_file, tmp_path):
    path = results_file(passed=False)
    result = CliRunner().invoke(
        app(), ["cost", "--results", str(path), "--out", str(tmp_path), "--allow-failed-slo"]
    )
    assert result.exit_code == 0, result.output
    assert "SLO FAILED" in result.output
