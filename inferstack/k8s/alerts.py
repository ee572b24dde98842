"""PrometheusRules: SLO burn-rate alerts generated from the SLO file, Triton down, GPU XID errors.

Error budget per objective, over the SLO's compliance period:
- `error_ratio < T`: budget = T of requests may fail. SLI = failures / all requests (Triton counters).
- `latency_pXX_ms <= T`: budget = 1 - XX/100 of requests may be slower than T. Triton 25.10 has no
  request-duration histogram for non-decoupled models (its histograms cover only a decoupled model's first
  response), so the share of slow requests cannot be counted server-side. These objectives alert instead
  on Triton's pXX summary quantile exceeding T in both windows of each pair below: the same multi-window
  shape, judged on the quantile itself (per pod, since summaries do not aggregate across pods).
- `achieved_ratio` (offered vs achieved rate) is a property of a load test, not of production traffic:
  no alert is generated for it.

Multi-window, multi-burn-rate (Google SRE workbook): page when 2 % of a 30-day budget burns within 1 h
(14.4x, confirmed over 5 m) or 5 % within 6 h (6x, confirmed over 30 m). Factors scale with the period.
"""

from __future__ import annotations

from typing import Any

from inferstack.k8s.common import meta
from inferstack.k8s.spec import PlatformSpec
from inferstack.k8s.triton import METRICS_JOB
from inferstack.slo import SLO, Objective, parse_duration

# (share of the budget consumed, long window, short window, severity)
BURN_WINDOWS: list[tuple[float, str, str, str]] = [
    (0.02, "1h", "5m", "page"),
    (0.05, "6h", "30m", "page"),
]
QUANTILES = {
    "latency_p50_ms": "0.5",
    "latency_p90_ms": "0.9",
    "latency_p95_ms": "0.95",
    "latency_p99_ms": "0.99",
}
NOT_ALERTING = {
    "achieved_ratio": "offered vs achieved rate is a property of a load test, not of production traffic"
}


def burn_factor(budget_share: float, long_window: str, period: str) -> float:
    """14.4 for 2 % of a 30-day budget in 1 h: share x period / window."""
    return round(budget_share * parse_duration(period) / parse_duration(long_window), 2)


def _model_matcher(slo: SLO) -> str:
    return f'job="{METRICS_JOB}",model="{slo.model}"'


def error_ratio_expr(slo: SLO, window: str) -> str:
    m = _model_matcher(slo)
    return (
        f"sum by (model) (rate(nv_inference_request_failure{{{m}}}[{window}]))"
        f" / clamp_min(sum by (model) (rate(nv_inference_request_success{{{m}}}[{window}]))"
        f" + sum by (model) (rate(nv_inference_request_failure{{{m}}}[{window}])), 1e-9)"
    )


def recording_name(window: str) -> str:
    return f"inferstack:triton_request_errors:ratio_rate{window}"


def _error_rules(slo: SLO, objective: Objective) -> tuple[list[dict], list[dict]]:
    period = slo.window.compliance_period
    windows = sorted({w for _, long, short, _ in BURN_WINDOWS for w in (long, short)}, key=parse_duration)
    records = [{"record": recording_name(w), "expr": error_ratio_expr(slo, w)} for w in windows]
    alerts = []
    for share, long, short, severity in BURN_WINDOWS:
        factor = burn_factor(share, long, period)
        bound = f"({factor} * {objective.threshold})"
        alerts.append(
            {
                "alert": f"SLOErrorBudgetBurn{long}",
                "expr": f'{recording_name(long)}{{model="{slo.model}"}} > {bound}'
                f' and {recording_name(short)}{{model="{slo.model}"}} > {bound}',
                "labels": {"severity": severity, "slo": slo.name, "objective": objective.name},
                "annotations": {
                    "summary": f"{slo.model}: error budget of '{objective.name}' burning {factor}x too fast",
                    "description": (
                        f"Error ratio over {long} and {short} is above {factor} x {objective.threshold} "
                        f"({share:.0%} of the {period} budget gone in {long}). Check Triton's logs and "
                        "the GPU nodes."
                    ),
                },
            }
        )
    return records, alerts


def _latency_alerts(slo: SLO, objective: Objective) -> list[dict]:
    quantile = QUANTILES[objective.metric]
    threshold_us = objective.threshold * 1000.0
    alerts = []
    for _, long, short, severity in BURN_WINDOWS:

        def over(window: str) -> str:
            # Summary quantiles are per pod; the worst pod's quantile, averaged over the window.
            return (
                f"max by (model) (avg_over_time(nv_inference_request_summary_us"
                f'{{{_model_matcher(slo)},quantile="{quantile}"}}[{window}])) > {threshold_us:g}'
            )

        alerts.append(
            {
                "alert": f"SLOLatency{long}",
                "expr": f"{over(long)} and {over(short)}",
                "labels": {"severity": severity, "slo": slo.name, "objective": objective.name},
                "annotations": {
                    "summary": f"{slo.model}: p{float(quantile) * 100:g} above {objective.threshold:g} ms for {long}",
                    "description": (
                        f"Triton's server-side p{float(quantile) * 100:g} has stayed above the objective "
                        f"'{objective.name}' ({objective.op} {objective.threshold:g} ms) over {long} and "
                        f"{short}. Look at queue time (scale out) and compute time (engine, batch size)."
                    ),
                },
            }
        )
    return alerts


def slo_rules(slo: SLO) -> dict[str, Any]:
    """Rule groups for every alerting objective; the `skipped` list says why others have none."""
    records: list[dict] = []
    alerts: list[dict] = []
    skipped: list[tuple[str, str]] = []
    for objective in slo.objectives:
        if objective.metric == "error_ratio" and objective.op in ("<", "<="):
            r, a = _error_rules(slo, objective)
            records += r
            alerts += a
        elif objective.metric in QUANTILES and objective.op in ("<", "<="):
            alerts += _latency_alerts(slo, objective)
        else:
            skipped.append(
                (objective.name, NOT_ALERTING.get(objective.metric, f"op {objective.op} has no budget"))
            )
    return {"records": records, "alerts": alerts, "skipped": skipped}


def slo_prometheus_rule(spec: PlatformSpec) -> dict[str, Any]:
    rules = slo_rules(spec.slo)
    annotations = {f"inferstack.io/no-alert-{name}": why for name, why in rules["skipped"]}
    groups = []
    if rules["records"]:
        groups.append({"name": f"{spec.slo.name}.sli", "interval": "30s", "rules": rules["records"]})
    groups.append({"name": f"{spec.slo.name}.burn-rate", "rules": rules["alerts"]})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta(f"slo-{spec.slo.name}", spec.namespace, "alerting", annotations=annotations),
        "spec": {"groups": groups},
    }


def platform_prometheus_rule(spec: PlatformSpec) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta("inferstack-platform", spec.namespace, "alerting"),
        "spec": {
            "groups": [
                {
                    "name": "inferstack.platform",
                    "rules": [
                        {
                            "alert": "TritonDown",
                            "expr": f'sum(up{{job="{METRICS_JOB}",namespace="{spec.namespace}"}}) == 0'
                            f' or absent(up{{job="{METRICS_JOB}",namespace="{spec.namespace}"}})',
                            "for": "5m",
                            "labels": {"severity": "page"},
                            "annotations": {
                                "summary": "No Triton replica is being scraped",
                                "description": "Prometheus sees no Triton metrics endpoint up for 5 minutes: clients get no "
                                "answers. kubectl -n " + spec.namespace + " describe deploy/triton",
                            },
                        },
                        {
                            "alert": "GPUXidError",
                            "expr": "max by (Hostname, gpu, UUID) (DCGM_FI_DEV_XID_ERRORS) > 0",
                            "for": "1m",
                            "labels": {"severity": "page"},
                            "annotations": {
                                "summary": "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}",
                                "description": "The driver reported an XID error (the value is its code). 48, 63/64, 74, "
                                "79, 94/95 mean ECC, NVLink or fallen-off-the-bus faults: drain the node.",
                            },
                        },
                    ],
                }
            ]
        },
    }


def objects(spec: PlatformSpec) -> list[dict[str, Any]]:
    return [slo_prometheus_rule(spec), platform_prometheus_rule(spec)]
