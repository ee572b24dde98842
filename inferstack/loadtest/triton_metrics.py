"""Triton's server-side view of a window, from two scrapes of its Prometheus metrics endpoint."""

from __future__ import annotations

import urllib.error
import urllib.request

COUNTERS = {
    "nv_inference_request_success": "success",
    "nv_inference_request_failure": "failure",
    "nv_inference_count": "inferences",
    "nv_inference_exec_count": "executions",
    "nv_inference_request_duration_us": "request_us",
    "nv_inference_queue_duration_us": "queue_us",
    "nv_inference_compute_infer_duration_us": "compute_infer_us",
    "nv_inference_compute_input_duration_us": "compute_input_us",
    "nv_inference_compute_output_duration_us": "compute_output_us",
}


def scrape(url: str, model: str, timeout: float = 3.0) -> dict[str, float] | None:
    """Sum each counter over the model's versions; None when the endpoint cannot be read."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError, ValueError):
        return None
    totals = dict.fromkeys(COUNTERS.values(), 0.0)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        if name not in COUNTERS or f'model="{model}"' not in rest:
            continue
        try:
            totals[COUNTERS[name]] += float(line.rsplit(" ", 1)[1])
        except (IndexError, ValueError):
            continue
    return totals


def window(before: dict | None, after: dict | None) -> dict:
    if before is None or after is None:
        return {
            "available": False,
            "note": "Triton's metrics endpoint could not be read (pass --metrics-url)",
        }
    d = {k: after[k] - before[k] for k in after}
    inferences, executions, success = d["inferences"], d["executions"], d["success"]
    per = (lambda us: round(us / success / 1000, 3)) if success else (lambda us: None)
    return {
        "available": True,
        "inference_count": inferences,
        "execution_count": executions,
        "avg_batch_size": round(inferences / executions, 3) if executions else None,
        "avg_request_ms": per(d["request_us"]),
        "avg_queue_ms": per(d["queue_us"]),
        "avg_compute_ms": per(d["compute_input_us"] + d["compute_infer_us"] + d["compute_output_us"]),
        "failures": d["failure"],
    }
