"""The SLO file and the verdict arithmetic.

One format serves the local run, CI and clusters: a load shape (what is offered), a measurement window
(what is judged) and objectives (what must hold). The same objectives generate the burn-rate alerts of
the platform layer, over the compliance period.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from inferstack.config import Strict, load
from inferstack.results import ObjectiveOutcome

# What a load test measures and an objective can be set on.
METRICS: dict[str, str] = {
    "latency_p50_ms": "median client-side latency, ms",
    "latency_p90_ms": "90th percentile client-side latency, ms",
    "latency_p95_ms": "95th percentile client-side latency, ms",
    "latency_p99_ms": "99th percentile client-side latency, ms",
    "error_ratio": "failed requests / all requests (a wrong or malformed answer is a failure)",
    "achieved_ratio": "achieved request rate / offered request rate",
}
OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'90s', '5m', '1h', '30d' -> seconds."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration: write a number and a unit, e.g. 60s, 5m, 1h, 30d")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


class Stage(Strict):
    duration: str = Field(description="how long this stage lasts, e.g. 30s")
    rps: float = Field(gt=0, description="requests per second offered during the stage")

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Load(Strict):
    offered_rps: float | None = Field(None, gt=0, description="constant offered rate, requests per second")
    stages: list[Stage] | None = Field(None, description="stepped load instead of a constant rate")
    users_per_rps: float = Field(
        0.5, gt=0, description="simulated users per offered req/s; each user paces itself to rate/users"
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Load:
        if (self.offered_rps is None) == (self.stages is None):
            raise ValueError("give exactly one of offered_rps (constant) or stages (stepped)")
        return self


class Window(Strict):
    warmup: str = Field("10s", description="load before measuring starts (not judged), e.g. 10s")
    measure: str = Field("60s", description="how long the judged window lasts, e.g. 60s")
    compliance_period: str = Field("30d", description="SLO period the cluster's burn-rate alerts budget over")

    @field_validator("warmup", "measure", "compliance_period")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Objective(Strict):
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$", description="short id, lowercase and dashes, e.g. p95-latency"
    )
    metric: str = Field(description="one of: " + ", ".join(METRICS))
    op: Literal["<", "<=", ">", ">="] = Field(description="comparison the measured value must satisfy")
    threshold: float = Field(description="the bound, in the metric's unit (ms, ratio)")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; known: {', '.join(METRICS)}")
        return value

    def holds(self, measured: float | None) -> bool:
        if measured is None or (isinstance(measured, float) and math.isnan(measured)):
            return False
        return OPS[self.op](measured, self.threshold)


class SLO(Strict):
    name: str = Field(description="name of this SLO, shown in reports and alerts")
    model: str = Field(description="Triton model the load test calls")
    load: Load = Field(description="what is offered")
    window: Window = Field(default_factory=Window, description="warm-up, judged window, compliance period")
    objectives: list[Objective] = Field(min_length=1, description="what must hold; at least one")

    @model_validator(mode="after")
    def _unique_names(self) -> SLO:
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise ValueError("objective names must be unique")
        return self

    @property
    def stages(self) -> list[tuple[float, float]]:
        """[(seconds, rps)] covering warm-up and the judged window."""
        if self.load.stages:
            return [(parse_duration(s.duration), s.rps) for s in self.load.stages]
        total = parse_duration(self.window.warmup) + parse_duration(self.window.measure)
        return [(total, float(self.load.offered_rps or 0))]

    @property
    def warmup_s(self) -> float:
        return parse_duration(self.window.warmup)

    @property
    def measure_s(self) -> float:
        return parse_duration(self.window.measure)


def load_slo(path: str | Path) -> SLO:
    return load(SLO, path)


def judge(slo: SLO, measured: dict[str, float | None]) -> list[ObjectiveOutcome]:
    """Compare measured metrics to every objective. A metric that was not measured fails its objective."""
    return [
        ObjectiveOutcome(
            name=o.name,
            metric=o.metric,
            op=o.op,
            threshold=o.threshold,
            measured=measured.get(o.metric),
            passed=o.holds(measured.get(o.metric)),
        )
        for o in slo.objectives
    ]
