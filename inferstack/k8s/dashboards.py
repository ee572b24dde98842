"""Grafana dashboards as code (grafana-foundation-sdk), shipped as ConfigMaps the Grafana sidecar loads.

GPU (DCGM exporter): utilization, memory used, memory bandwidth (DRAM active), tensor core activity, power,
temperature, SM clock. Triton: request rate, p50/p95/p99 latency, error rate, queue time, average batch
size, per model and version. Every query names metrics the platform actually exports (tests check this
against the DCGM field list and Triton's metric names).
"""

from __future__ import annotations

import json
from typing import Any

from inferstack.k8s.common import meta
from inferstack.k8s.monitoring import DASHBOARD_LABEL
from inferstack.k8s.spec import MONITORING_NS, PlatformSpec
from inferstack.k8s.triton import METRICS_JOB

DS = "${datasource}"
GPU_LEGEND = "{{Hostname}} GPU {{gpu}}"
MV = "{{model}} v{{version}}"


def _panel(title: str, unit: str, targets: list[tuple[str, str]], description: str = "", width: int = 12):
    from grafana_foundation_sdk.builders import prometheus, timeseries
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    panel = (
        timeseries.Panel()
        .title(title)
        .unit(unit)
        .height(8)
        .span(width)
        .datasource(DataSourceRef(type_val="prometheus", uid=DS))
    )
    if description:
        panel = panel.description(description)
    for i, (expr, legend) in enumerate(targets):
        panel = panel.with_target(
            prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i))
        )
    return panel


def _dashboard(
    uid: str, title: str, rows: list[tuple[str, list[Any]]], variables: list[Any]
) -> dict[str, Any]:
    from grafana_foundation_sdk.builders import dashboard
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    d = (
        dashboard.Dashboard(title)
        .uid(uid)
        .tags(["inferstack"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("utc")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )
    for variable in variables:
        d = d.with_variable(variable)
    for row_title, panels in rows:
        d = d.with_row(dashboard.Row(row_title))
        for panel in panels:
            d = d.with_panel(panel)
    model = json.loads(JSONEncoder(sort_keys=True).encode(d.build()))
    for i, panel in enumerate(model["panels"], start=1):
        panel["id"] = i
    return model


def gpu_dashboard() -> dict[str, Any]:
    sel = '{Hostname=~"$node"}'
    from grafana_foundation_sdk.builders import dashboard

    node = (
        dashboard.QueryVariable("node")
        .label("Node")
        .query("label_values(DCGM_FI_DEV_GPU_UTIL, Hostname)")
        .datasource(_ds_ref())
        .include_all(True)
        .multi(True)
    )
    rows = [
        (
            "Load",
            [
                _panel("GPU utilization", "percent", [(f"DCGM_FI_DEV_GPU_UTIL{sel}", GPU_LEGEND)]),
                _panel(
                    "Tensor core activity",
                    "percentunit",
                    [(f"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{sel}", GPU_LEGEND)],
                    "Share of cycles the tensor pipes are busy: TensorRT FP16/INT8 engines should keep this up.",
                ),
                _panel(
                    "Memory bandwidth (DRAM active)",
                    "percentunit",
                    [(f"DCGM_FI_PROF_DRAM_ACTIVE{sel}", GPU_LEGEND)],
                ),
                _panel("GPU memory used", "decmbytes", [(f"DCGM_FI_DEV_FB_USED{sel}", GPU_LEGEND)]),
            ],
        ),
        (
            "Health",
            [
                _panel("Power", "watt", [(f"DCGM_FI_DEV_POWER_USAGE{sel}", GPU_LEGEND)], width=8),
                _panel("Temperature", "celsius", [(f"DCGM_FI_DEV_GPU_TEMP{sel}", GPU_LEGEND)], width=8),
                _panel("SM clock", "rotmhz", [(f"DCGM_FI_DEV_SM_CLOCK{sel}", GPU_LEGEND)], width=8),
            ],
        ),
    ]
    return _dashboard("inferstack-gpu", "inferstack / GPUs (DCGM)", rows, [node])


def _ds_ref():
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    return DataSourceRef(type_val="prometheus", uid=DS)


def triton_dashboard() -> dict[str, Any]:
    from grafana_foundation_sdk.builders import dashboard

    m = f'job="{METRICS_JOB}",model=~"$model"'
    model = (
        dashboard.QueryVariable("model")
        .label("Model")
        .query(f'label_values(nv_inference_request_success{{job="{METRICS_JOB}"}}, model)')
        .datasource(_ds_ref())
        .include_all(True)
        .multi(True)
    )

    def rate(metric: str, window: str = "1m") -> str:
        return f"sum by (model, version) (rate({metric}{{{m}}}[{window}]))"

    def quantile(q: str) -> str:
        return f'max by (model, version) (nv_inference_request_summary_us{{{m},quantile="{q}"}}) / 1000'

    rows = [
        (
            "Traffic",
            [
                _panel(
                    "Request rate",
                    "reqps",
                    [
                        (rate("nv_inference_request_success"), f"{MV} ok"),
                        (rate("nv_inference_request_failure"), f"{MV} failed"),
                    ],
                ),
                _panel(
                    "Error rate",
                    "percentunit",
                    [
                        (
                            f"{rate('nv_inference_request_failure')} / clamp_min({rate('nv_inference_request_success')}"
                            f" + {rate('nv_inference_request_failure')}, 1e-9)",
                            MV,
                        )
                    ],
                ),
            ],
        ),
        (
            "Latency",
            [
                _panel(
                    "Request latency p50 / p95 / p99 (server side, worst pod)",
                    "ms",
                    [
                        (quantile("0.5"), f"{MV} p50"),
                        (quantile("0.95"), f"{MV} p95"),
                        (quantile("0.99"), f"{MV} p99"),
                    ],
                    "From Triton's latency summaries (--metrics-config summary_latencies=true).",
                ),
                _panel(
                    "Queue time per request",
                    "µs",
                    [
                        (
                            f"{rate('nv_inference_queue_duration_us')} / clamp_min({rate('nv_inference_request_success')}, 0.001)",
                            MV,
                        )
                    ],
                    "What the HPA scales on (through prometheus-adapter).",
                ),
            ],
        ),
        (
            "Batching",
            [
                _panel(
                    "Average batch size",
                    "none",
                    [
                        (
                            f"{rate('nv_inference_count')} / clamp_min({rate('nv_inference_exec_count')}, 0.001)",
                            MV,
                        )
                    ],
                    "Inferences per model execution: how well dynamic batching fills the GPU.",
                ),
                _panel(
                    "Compute time per execution",
                    "µs",
                    [
                        (
                            f"{rate('nv_inference_compute_infer_duration_us')} / clamp_min({rate('nv_inference_exec_count')}, 0.001)",
                            MV,
                        )
                    ],
                ),
            ],
        ),
    ]
    return _dashboard("inferstack-triton", "inferstack / Triton", rows, [model])


def configmap(name: str, model: dict[str, Any]) -> dict[str, Any]:
    metadata = meta(f"dashboard-{name}", MONITORING_NS, "dashboards")
    metadata["labels"][DASHBOARD_LABEL] = "1"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {f"{name}.json": json.dumps(model, indent=1, sort_keys=True)},
    }


def objects(spec: PlatformSpec) -> list[dict[str, Any]]:
    return [configmap("inferstack-gpu", gpu_dashboard()), configmap("inferstack-triton", triton_dashboard())]
