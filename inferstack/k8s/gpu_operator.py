"""GPU Operator values (chart version from versions.yaml).

The operator installs the driver and the Container Toolkit only where the nodes lack them: on-prem the
Ansible roles install both, on EKS the AL2023 NVIDIA AMI ships both, so `driversPreinstalled` is true
there and the operator manages the device plugin, GPU Feature Discovery, DCGM exporter and MIG only.
"""

from __future__ import annotations

from typing import Any

import yaml

from inferstack.k8s.common import meta
from inferstack.k8s.spec import GPU_OPERATOR_NS, PlatformSpec

DCGM_METRICS_CONFIGMAP = "inferstack-dcgm-metrics"
TIME_SLICING_CONFIGMAP = "inferstack-time-slicing"

# The DCGM fields the dashboards and alerts read (dcgm-exporter CSV: field, Prometheus type, help).
DCGM_FIELDS: list[tuple[str, str, str]] = [
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the device memory interface is active."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
]


def dcgm_metrics_configmap() -> dict[str, Any]:
    csv = "\n".join(f"{field}, {kind}, {text}" for field, kind, text in DCGM_FIELDS) + "\n"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(DCGM_METRICS_CONFIGMAP, GPU_OPERATOR_NS, "gpu-monitoring"),
        "data": {"dcgm-metrics.csv": csv},
    }


def time_slicing_configmap(spec: PlatformSpec) -> dict[str, Any]:
    config = {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {
            "timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": spec.time_slicing_replicas}]}
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(TIME_SLICING_CONFIGMAP, GPU_OPERATOR_NS, "gpu-sharing"),
        "data": {"any": yaml.safe_dump(config, sort_keys=False)},
    }


def values(spec: PlatformSpec) -> dict[str, Any]:
    managed = not spec.drivers_preinstalled
    v: dict[str, Any] = {
        "driver": {"enabled": managed},
        "toolkit": {"enabled": managed},
        "devicePlugin": {"enabled": True},
        "dcgmExporter": {
            "enabled": True,
            "serviceMonitor": {"enabled": True, "interval": "15s"},
            # Our field list (documented in the chart's values as dcgmExporter.config.name).
            "config": {"name": DCGM_METRICS_CONFIGMAP},
        },
        "gfd": {"enabled": True},
        "nfd": {"enabled": True},
    }
    if spec.time_slicing_replicas:
        v["devicePlugin"]["config"] = {"name": TIME_SLICING_CONFIGMAP, "default": "any"}
    if spec.mig_strategy != "none":
        v["mig"] = {"strategy": spec.mig_strategy}
        v["migManager"] = {"enabled": True}
    else:
        v["migManager"] = {"enabled": False}
    return v


def objects(spec: PlatformSpec) -> list[dict[str, Any]]:
    out = [dcgm_metrics_configmap()]
    if spec.time_slicing_replicas:
        out.append(time_slicing_configmap(spec))
    return out
