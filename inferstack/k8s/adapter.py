"""prometheus-adapter values: expose Triton's average queue time per request as a pods custom metric.

Triton exports cumulative counters; the rate of queue time divided by the rate of successful requests is
the average time a request waited for an instance over the last minute. The HPA (triton.hpa) targets it.
"""

from __future__ import annotations

from typing import Any

from inferstack.k8s.spec import MONITORING_NS, PlatformSpec

QUEUE_METRIC = "triton_queue_time_per_request_us"
PROMETHEUS_URL = f"http://kube-prometheus-stack-prometheus.{MONITORING_NS}.svc"


def queue_rule() -> dict[str, Any]:
    return {
        "seriesQuery": 'nv_inference_queue_duration_us{namespace!="",pod!=""}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": "^nv_inference_queue_duration_us$", "as": QUEUE_METRIC},
        # clamp_min: an idle pod (no requests) reads 0 instead of NaN.
        "metricsQuery": (
            "sum(rate(nv_inference_queue_duration_us{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)"
            " / clamp_min(sum(rate(nv_inference_request_success{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>), 0.001)"
        ),
    }


def values(spec: PlatformSpec) -> dict[str, Any]:
    return {
        "prometheus": {"url": PROMETHEUS_URL, "port": 9090},
        "rules": {"default": False, "custom": [queue_rule()]},
        "replicas": 1,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    }
