"""results.json: what a load test leaves behind, and what the cost tool and reports read.

The schema is versioned (`schema: inferstack.results/v1`). Fields are documented in docs/results.md;
this module is the executable form of that page: writers build a Results, readers call load_results().
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from inferstack.config import validate

SCHEMA = "inferstack.results/v1"


class _Model(BaseModel):
    model_config = {"extra": "forbid"}


class Target(_Model):
    url: str = Field(description="base URL of the Triton HTTP endpoint that was tested")
    model: str = Field(description="Triton model name")
    model_version: str | None = Field(None, description="version that answered (from Triton), if known")
    environment: str = Field("unknown", description="local | onprem | cloud | unknown")
    replicas: int = Field(1, ge=1, description="Triton replicas behind the URL (throughput is divided by it)")
    accelerator: str | None = Field(None, description="GPU model serving the requests, or null for CPU")
    instance_type: str | None = Field(
        None, description="cloud instance type or on-prem server model, if known"
    )


class LoadInfo(_Model):
    shape: Literal["constant", "stages"]
    offered_rps: float = Field(description="mean offered rate over the judged window")
    stages: list[dict] = Field(default_factory=list, description="[{duration_s, rps}] as run")
    users: int
    warmup_s: float
    measure_s: float


class Latency(_Model):
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    mean: float | None = None


class Measured(_Model):
    requests: int = Field(description="requests completed in the judged window")
    failures: int
    achieved_rps: float = Field(description="requests / judged window seconds (successful and failed)")
    successful_rps: float = Field(description="successful requests per second in the judged window")
    achieved_ratio: float = Field(description="achieved_rps / offered_rps")
    error_ratio: float
    latency_ms: Latency
    errors: dict[str, int] = Field(default_factory=dict, description="failure kind -> count")


class ObjectiveOutcome(_Model):
    name: str
    metric: str
    op: str
    threshold: float
    measured: float | None
    passed: bool


class Verdict(_Model):
    passed: bool
    failed: list[str] = Field(default_factory=list, description="names of the objectives that were missed")


class ServerView(_Model):
    """Triton's own account of the judged window, from its Prometheus metrics (deltas)."""

    source: str = "triton-metrics"
    available: bool = True
    note: str | None = None
    inference_count: float | None = None
    execution_count: float | None = None
    avg_batch_size: float | None = None
    avg_request_ms: float | None = None
    avg_queue_ms: float | None = None
    avg_compute_ms: float | None = None
    failures: float | None = None


class Results(_Model):
    schema_: str = Field(SCHEMA, alias="schema")
    started_at: str
    finished_at: str
    slo_file: str
    slo_name: str
    target: Target
    versions: dict[str, str] = Field(default_factory=dict)
    machine: dict = Field(default_factory=dict)
    load: LoadInfo
    measured: Measured
    objectives: list[ObjectiveOutcome]
    verdict: Verdict
    server: ServerView
    timeseries: list[dict] = Field(
        default_factory=list, description="[{t, rps, failures, p50, p95, p99}] per second"
    )
    artifacts: dict[str, str] = Field(
        default_factory=dict, description="report and plots, relative to results.json"
    )

    model_config = {"extra": "forbid", "populate_by_name": True}

    def dump(self) -> dict:
        return self.model_dump(by_alias=True)


def write_results(results: Results, path: Path) -> Path:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(results.dump(), handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def load_results(path: str | Path) -> Results:
    from inferstack.config import read_yaml  # JSON is YAML; one reader gives one kind of error

    return validate(Results, read_yaml(path), path)
