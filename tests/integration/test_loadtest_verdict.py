"""Load tests end in a verdict: a generous SLO passes, an impossible one fails with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from inferstack.results import load_results
from tests.integration.conftest import cli_env, free_port

pytestmark = pytest.mark.integration


def slo_file(tmp_path, p95_ms: float, rps: float = 10) -> str:
    path = tmp_path / "slo.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "integration",
                "model": "sentiment",
                "load": {"offered_rps": rps},
                "window": {"warmup": "2s", "measure": "8s"},
                "objectives": [
                    {"name": "p95-latency", "metric": "latency_p95_ms", "op": "<=", "threshold": p95_ms},
                    {"name": "error-rate", "metric": "error_ratio", "op": "<", "threshold": 0.05},
                    {"name": "throughput", "metric": "achieved_ratio", "op": ">=", "threshold": 0.8},
                ],
            }
        )
    )
    return str(path)


def loadtest(isolated_env, target, slo, out, timeout=120):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "inferstack.cli",
            "loadtest",
            "--target",
            target,
            "--slo",
            slo,
            "--out",
            str(out),
            "--environment",
            "local",
        ],
        capture_output=True,
        text=True,
        env=cli_env(isolated_env),
        timeout=timeout,
    )


def test_short_load_test_passes_a_generous_slo(tmp_path, triton_url, isolated_env):
    proc = loadtest(isolated_env, triton_url, slo_file(tmp_path, p95_ms=2000), tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = load_results(tmp_path / "out" / "results.json")
    assert results.verdict.passed and not results.verdict.failed
    assert results.measured.requests >= 60 and results.measured.failures == 0
    assert results.target.model_version == "1"
    assert results.server.available and results.server.inference_count > 0
    assert results.server.avg_batch_size >= 1
    assert results.machine["cpu_count"] >= 1
    report = (tmp_path / "out" / "report.md").read_text()
    assert "PASS" in report and (tmp_path / "out" / "latency.png").stat().st_size > 1000


def test_an_impossible_slo_fails_the_verdict_and_the_exit_code(tmp_path, triton_url, isolated_env):
    proc = loadtest(isolated_env, triton_url, slo_file(tmp_path, p95_ms=0.001), tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "p95-latency" in proc.stderr
    results = load_results(tmp_path / "out" / "results.json")
    assert results.verdict.passed is False and results.verdict.failed == ["p95-latency"]
    assert "FAIL" in (tmp_path / "out" / "report.md").read_text()


def test_a_target_where_nothing_listens_fails_fast(tmp_path, isolated_env, built):
    start = time.monotonic()
    proc = loadtest(
        isolated_env, f"http://127.0.0.1:{free_port()}", slo_file(tmp_path, 100), tmp_path / "out", timeout=60
    )
    assert time.monotonic() - start < 30
    assert proc.returncode == 3
    assert "nothing answers" in proc.stderr
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_broken_slo_file_stops_before_anything_runs(tmp_path, isolated_env, built):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nmodel: sentiment\nload: {offered_rps: 5}\nobjectives:\n  - {name: a, metric: p95, op: '<', threshold: 1}\n"
    )
    proc = loadtest(isolated_env, "http://127.0.0.1:1", str(bad), tmp_path / "out", timeout=60)
    assert proc.returncode == 2
    assert "objectives[0].metric" in proc.stderr and str(bad) in proc.stderr
