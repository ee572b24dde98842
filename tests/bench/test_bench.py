"""`inferstack bench` at a tiny scale: real servers, real load, well-formed results (no timing asserts).

The figures of a tiny run mean nothing; what is pinned down is that both servers answer the same
KServe v2 requests correctly, every figure and ratio lands in bench.json, the report and plots are
written, the run is logged to MLflow, and the servers are stopped afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest

from inferstack.bench.run import SCALES, Bench, apply_overrides
from inferstack.modeldef import load_definition
from inferstack.paths import default_model_definition


class LimitBench(Bench):
    """A system that holds the SLO up to `limit` req/s: exercises the search without servers."""

    def __init__(self, scale, limit):
        self.scale, self.limit, self.offered = scale, limit, []

    def step(self, system, rnd, kind, rps, warmup_s, measure_s):
        self.offered.append(rps)
        return SimpleNamespace(passed=rps <= self.limit)


@pytest.mark.parametrize("limit", [7.0, 37.0, 240.0])
def test_search_brackets_the_highest_rate_that_holds(limit):
    bench = LimitBench(SCALES["full"], limit)
    found = bench.search("x", 1, start=10.0)
    assert found <= limit
    assert found >= limit / 1.07, (found, bench.offered)
    assert len(bench.offered) <= SCALES["full"].max_steps * 2 + SCALES["full"].bisections


def test_search_reports_zero_when_nothing_holds():
    assert LimitBench(SCALES["quick"], 0.0).search("x", 1, start=10.0) == 0.0


def test_serving_overrides_are_validated_against_the_definition():
    definition = load_definition(default_model_definition())
    tuned = apply_overrides(definition, ["instances=2", "dynamic_batching.max_queue_delay_microseconds=5000"])
    assert tuned.serving.instances == 2
    assert tuned.serving.dynamic_batching.max_queue_delay_microseconds == 5000
    with pytest.raises(ValueError, match="no such setting"):
        apply_overrides(definition, ["instance=2"])
    with pytest.raises(ValueError):
        apply_overrides(definition, ["instances=0"])


def _free_base() -> int:
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if base + 10 < 65535 and all(_free(base + i) for i in (1, 2, 10)):
            return base
    raise RuntimeError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.integration
@pytest.mark.slow
def test_tiny_bench_writes_well_formed_results(tmp_path):
    from inferstack.model.build import build_and_publish

    state = tmp_path / "state"
    env = {
        **os.environ,
        "INFERSTACK_STATE_DIR": str(state),
        "INFERSTACK_RESULTS_DIR": str(tmp_path / "results"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        "HF_HUB_OFFLINE": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "INFERSTACK_BENCH_PORT": str(_free_base()),
    }
    repo = tmp_path / "model-repo"
    saved = os.environ.copy()
    os.environ.update({k: env[k] for k in ("INFERSTACK_STATE_DIR", "MLFLOW_TRACKING_URI", "HF_HUB_OFFLINE")})
    try:
        build_and_publish(load_definition(default_model_definition()), repo)  # cached on a warm machine
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out = tmp_path / "bench"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inferstack.cli",
            "bench",
            "--scale",
            "tiny",
            "--out",
            str(out),
            "--repo",
            str(repo),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "inferstack bench" in proc.stdout  # the table was printed

    result = json.loads((out / "bench.json").read_text())
    assert result["schema"] == "inferstack.bench/v1"
    assert set(result["ratios"]) >= {
        "throughput_at_slo",
        "p95_at_fixed_rate",
        "serving_efficiency",
        "model_size",
    }
    assert result["ratios"]["model_size"] > 3  # FP32 / INT8 of the published build
    assert result["ratios"]["p95_at_fixed_rate"] > 0
    naive, triton = result["systems"]["naive"], result["systems"]["triton"]
    for system in (naive, triton):
        assert system["fixed_rate"]["p95_ms"] > 0
        assert system["cold_start_to_ready_s"] > 0
        assert system["max_rps_within_slo"] >= 0
    if naive["max_rps_within_slo"] and triton["max_rps_within_slo"]:
        assert result["ratios"]["throughput_at_slo"] == pytest.approx(
            triton["max_rps_within_slo"] / naive["max_rps_within_slo"], rel=0.01
        )
    assert result["ceiling"]["engine_seq_per_s"] > 0
    assert {r["batch_size"] for r in result["ceiling"]["by_batch_size"]} == set(SCALES["tiny"].batch_sizes)
    assert result["machine"]["cpu_count"] >= 1 and "cpu_flags" in result["machine"]
    assert len(result["machine"]["load_average_before"]) == 3
    assert result["model"]["label_agreement"]["label_agreement"] >= 0.9  # the same classifier in both servers

    steps = result["steps"]
    assert {(s["system"], s["kind"]) for s in steps} == {
        ("naive", "fixed"),
        ("naive", "search"),
        ("triton", "fixed"),
        ("triton", "search"),
    }
    for s in steps:
        # the locustfile checks every answer: a malformed KServe v2 answer from either server is an error
        assert s["error_ratio"] < 0.01, s
        assert s["cpu_cores"]["server"] is not None and s["cpu_cores"]["server"] > 0, s
        assert (out / s["samples_file"]).is_file()
    assert all(s["server"].get("avg_batch_size") for s in steps if s["system"] == "triton")

    for name in result["artifacts"].values():
        path = out / name
        assert path.is_file() and path.stat().st_size > 0
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| max req/s with p95" in (out / "report.md").read_text()

    import mlflow

    run = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"]).get_run(result["mlflow"]["run_id"])
    assert run.data.metrics["ratio.model_size"] == pytest.approx(result["ratios"]["model_size"])

    port = int(env["INFERSTACK_BENCH_PORT"])
    assert _free(port) and _free(port + 10), "the bench left a server running"
