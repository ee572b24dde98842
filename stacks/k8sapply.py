"""Apply the plain dicts of inferstack.k8s with Pulumi: one typed resource per object.

Objects keep their names (metadata.name is set, so Pulumi does not auto-name them); the Pulumi resource
name is derived from the owning component's name, the namespace and the object's name.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

KINDS = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "PersistentVolume"): k8s.core.v1.PersistentVolume,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("storage.k8s.io/v1", "StorageClass"): k8s.storage.v1.StorageClass,
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def resource_name(prefix: str, obj: dict[str, Any]) -> str:
    ns = obj["metadata"].get("namespace")
    return "-".join(p for p in (prefix, obj["kind"].lower(), ns, obj["metadata"]["name"]) if p)


def apply(prefix: str, obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    api, kind = obj["apiVersion"], obj["kind"]
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    name = resource_name(prefix, obj)
    cls = KINDS.get((api, kind))
    if cls is None:
        # Custom resources (ServiceMonitor, PrometheusRule, MetalLB pools): the CRD comes with a chart.
        return k8s.apiextensions.CustomResource(name, api_version=api, kind=kind, opts=opts, **fields)
    kwargs = {_snake(k): v for k, v in fields.items()}
    return cls(name, opts=opts, **kwargs)


def helm_release(name: str, chart, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    """A Helm release at the version the lock pins. The release name is fixed (not auto-suffixed): other
    objects address the charts' Services by name (prometheus-adapter -> kube-prometheus-stack-prometheus)."""
    return k8s.helm.v3.Release(
        name,
        name=chart.release,
        chart=chart.chart,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        namespace=chart.namespace,
        create_namespace=False,
        values=chart.values,
        atomic=True,
        cleanup_on_fail=True,
        timeout=900,
        opts=opts,
    )
