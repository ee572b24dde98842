"""`inferstack render` writes reviewable YAML from the same builders the Pulumi program applies."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from inferstack import render
from inferstack.errors import ConfigError


@pytest.mark.parametrize("env", ["aws", "onprem"])
def test_render_cli_writes_objects_values_and_the_placeholders(env, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "inferstack.cli", "render", "--env", env, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    objects = sorted((tmp_path / "objects").glob("*.yaml"))
    docs = [yaml.safe_load(p.read_text()) for p in objects]
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "ServiceMonitor",
        "PrometheusRule",
        "CronJob",
        "NetworkPolicy",
        "PodDisruptionBudget",
    } <= {d["kind"] for d in docs}
    values = {p.stem for p in (tmp_path / "values").glob("*.yaml")}
    assert {"gpu-operator", "kube-prometheus-stack", "prometheus-adapter"} <= values
    readme = (tmp_path / "README.md").read_text()
    assert "Placeholders" in readme


def test_render_refuses_a_stack_file_of_the_other_environment():
    with pytest.raises(ConfigError) as info:
        render.build("aws", render.example_stack_file("onprem"))
    assert info.value.field == "inferstack:substrate"


def test_secrets_are_never_rendered_in_clear():
    result = render.build("aws")
    for obj in (o for o in result.objects if o["kind"] == "Secret"):
        assert all(str(v).startswith("<secret ") or k == "admin-user" for k, v in obj["stringData"].items())


def test_slo_rules_cover_error_and_latency_objectives_and_say_why_throughput_has_none():
    from inferstack.k8s import alerts

    result = render.build("aws")
    rule = next(
        o
        for o in result.objects
        if o["kind"] == "PrometheusRule" and o["metadata"]["name"].startswith("slo-")
    )
    names = [r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
    assert names.count("SLOErrorBudgetBurn1h") == 1 and names.count("SLOLatency1h") == 2
    assert "inferstack.io/no-alert-throughput" in rule["metadata"]["annotations"]
    assert alerts.burn_factor(0.02, "1h", "30d") == 14.4 and alerts.burn_factor(0.05, "6h", "30d") == 6.0
