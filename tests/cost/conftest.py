"""Fixtures for the cost tests: results.json files built from the Results contract, no load test needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstack.results import (
    Latency,
    LoadInfo,
    Measured,
    ObjectiveOutcome,
    Results,
    ServerView,
    Target,
    Verdict,
    write_results,
)


def build_results(
    rps: float = 40.0,
    accelerator: str | None = None,
    environment: str = "local",
    replicas: int = 1,
    passed: bool = True,
    instance_type: str | None = None,
    machine: dict | None = None,
) -> Results:
    return Results(
        started_at="2026-01-15T10:00:00Z",
        finished_at="2026-01-15T10:01:00Z",
        slo_file="loadtests/slo.yaml",
        slo_name="sentiment-interactive",
        target=Target(
            url="http://127.0.0.1:8000",
            model="sentiment",
            environment=environment,
            replicas=replicas,
            accelerator=accelerator,
            instance_type=instance_type,
        ),
        machine={"cpu_count": 2} if machine is None else machine,
        load=LoadInfo(shape="constant", offered_rps=max(rps, 1.0), users=8, warmup_s=5, measure_s=30),
        measured=Measured(
            requests=int(rps * 30),
            failures=0,
            achieved_rps=rps,
            successful_rps=rps,
            achieved_ratio=1.0,
            error_ratio=0.0,
            latency_ms=Latency(p50=12, p95=30, p99=45),
        ),
        objectives=[
            ObjectiveOutcome(
                name="p95-latency", metric="latency_p95_ms", op="<=", threshold=50, measured=30, passed=passed
            )
        ],
        verdict=Verdict(passed=passed, failed=[] if passed else ["p95-latency"]),
        server=ServerView(),
    )


@pytest.fixture
def results_file(tmp_path: Path):
    """Write a results.json with the given fields and return its path."""

    def make(name: str = "results.json", **fields) -> Path:
        return write_results(build_results(**fields), tmp_path / name)

    return make
