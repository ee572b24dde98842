"""kube-prometheus-stack values: Prometheus picks up every ServiceMonitor and PrometheusRule in the
cluster (not only the chart's own), Grafana loads dashboards from labelled ConfigMaps and takes its admin
credentials from a Secret (never from values)."""

from __future__ import annotations

from typing import Any

from inferstack.k8s.spec import PlatformSpec

GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"
DASHBOARD_LABEL = "grafana_dashboard"


def host_node_exporter_scrape() -> dict[str, Any]:
    """On-prem, Ansible runs prometheus-node-exporter on every node (port 9100): scrape it by node address."""
    return {
        "job_name": "node-exporter-host",
        "kubernetes_sd_configs": [{"role": "node"}],
        "relabel_configs": [
            {
                "source_labels": ["__address__"],
                "regex": "(.+):\\d+",
                "replacement": "${1}:9100",
                "target_label": "__address__",
            },
            {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "instance"},
        ],
    }


def values(spec: PlatformSpec) -> dict[str, Any]:
    prometheus_spec: dict[str, Any] = {
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "retention": "15d",
        "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    }
    if spec.host_node_exporter:
        prometheus_spec["additionalScrapeConfigs"] = [host_node_exporter_scrape()]
    return {
        "prometheus": {"prometheusSpec": prometheus_spec},
        "grafana": {
            "admin": {
                "existingSecret": spec.grafana_secret,
                "userKey": GRAFANA_USER_KEY,
                "passwordKey": GRAFANA_PASSWORD_KEY,
            },
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            },
        },
        # The hosts' own node exporter (Ansible) already listens on 9100 on-prem.
        "nodeExporter": {"enabled": not spec.host_node_exporter},
    }
