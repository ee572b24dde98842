"""SLO files and the verdict arithmetic."""

import pytest
import yaml

from inferstack.errors import ConfigError
from inferstack.paths import default_slo
from inferstack.slo import SLO, judge, load_slo, parse_duration

DEMO = yaml.safe_load(default_slo().read_text())


def test_demo_slo_is_the_documented_default():
    slo = load_slo(default_slo())
    assert slo.load.offered_rps == 20
    bounds = {o.metric: (o.op, o.threshold) for o in slo.objectives}
    assert bounds == {
        "latency_p95_ms": ("<=", 100),
        "latency_p99_ms": ("<=", 200),
        "error_ratio": ("<", 0.01),
        "achieved_ratio": (">=", 0.95),
    }
    assert slo.stages == [(70.0, 20.0)] and slo.warmup_s == 10 and slo.measure_s == 60


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), ("30d", 2592000), ("0.5s", 0.5)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"objectives": [{"name": "x", "metric": "latency_p97_ms", "op": "<=", "threshold": 1}]},
            "objectives[0].metric",
        ),
        (
            {"objectives": [{"name": "x", "metric": "error_ratio", "op": "=<", "threshold": 1}]},
            "objectives[0].op",
        ),
        ({"objectives": []}, "objectives"),
        ({"window": {"measure": "sixty"}}, "window.measure"),
        ({"load": {"offered_rps": -5}}, "load.offered_rps"),
        ({"load": {"offered_rps": 5, "stages": [{"duration": "5s", "rps": 1}]}}, "load"),
    ],
)
def test_malformed_slo_names_the_field(tmp_path, change, field):
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump({**DEMO, **change}))
    with pytest.raises(ConfigError) as caught:
        load_slo(path)
    assert caught.value.field == field
    assert str(path) in str(caught.value)


def _slo(**objective) -> SLO:
    return SLO.model_validate({**DEMO, "objectives": [{"name": "o", **objective}]})


@pytest.mark.parametrize(
    ("op", "threshold", "measured", "passed"),
    [
        ("<=", 100, 100.0, True),
        ("<=", 100, 100.01, False),
        ("<", 0.01, 0.01, False),
        ("<", 0.01, 0.0099, True),
        (">=", 0.95, 0.95, True),
        (">=", 0.95, 0.9499, False),
        (">", 0, 0, False),
    ],
)
def test_verdict_boundaries(op, threshold, measured, passed):
    result = judge(_slo(metric="latency_p95_ms", op=op, threshold=threshold), {"latency_p95_ms": measured})
    assert result[0].passed is passed
    assert result[0].measured == measured


def test_unmeasured_metric_fails_its_objective():
    result = judge(_slo(metric="latency_p99_ms", op="<=", threshold=1e9), {"latency_p95_ms": 1.0})
    assert result[0].passed is False and result[0].measured is None


def test_stepped_load_stages():
    slo = SLO.model_validate(
        {**DEMO, "load": {"stages": [{"duration": "10s", "rps": 5}, {"duration": "1m", "rps": 50}]}}
    )
    assert slo.stages == [(10.0, 5.0), (60.0, 50.0)]
