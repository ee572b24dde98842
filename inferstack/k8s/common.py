"""Pieces every workload shares: labels, GPU scheduling, the restricted security context."""

from __future__ import annotations

from typing import Any

from inferstack import __version__

PART_OF = "inferstack"
GPU_TAINT_KEY = "nvidia.com/gpu"


def labels(component: str, name: str | None = None) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name or component,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/version": __version__,
    }


def selector(component: str, name: str | None = None) -> dict[str, str]:
    """The stable subset of labels used in selectors (the version label changes on upgrade)."""
    return {"app.kubernetes.io/name": name or component, "app.kubernetes.io/part-of": PART_OF}


def meta(name: str, namespace: str | None, component: str, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "labels": labels(component, name)}
    if namespace:
        m["namespace"] = namespace
    for key, value in extra.items():
        if value:
            m[key] = value
    return m


def gpu_scheduling(gpu_product: str, pin_node: str = "") -> dict[str, Any]:
    """Pod spec fields that put a pod on a GPU node of the right product.

    GPU nodes carry the `nvidia.com/gpu` NoSchedule taint (EKS node groups, Ansible on-prem) so only GPU
    pods land there. TensorRT engines are built for one GPU product, so serving and engine builds are pinned
    to the product label GPU Feature Discovery sets.
    """
    node_selector = {"nvidia.com/gpu.present": "true"}
    if gpu_product:
        node_selector["nvidia.com/gpu.product"] = gpu_product
    if pin_node:
        node_selector["kubernetes.io/hostname"] = pin_node
    return {
        "nodeSelector": node_selector,
        "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
    }


def gpu_resources(gpus: int, cpu: str, memory: str) -> dict[str, Any]:
    """GPU request = limit (extended resources cannot be overcommitted); CPU/memory requested and capped."""
    return {
        "requests": {"cpu": cpu, "memory": memory, "nvidia.com/gpu": str(gpus)},
        "limits": {"cpu": cpu, "memory": memory, "nvidia.com/gpu": str(gpus)},
    }


def pod_security(uid: int) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    """Pod Security Standard 'restricted', plus a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def namespace(name: str, enforce: str) -> dict[str, Any]:
    """A namespace with its Pod Security level: 'restricted' for our apps; 'privileged' where node agents
    (driver, toolkit, DCGM exporter, node exporter) need host access."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": PART_OF,
                "pod-security.kubernetes.io/enforce": enforce,
                "pod-security.kubernetes.io/warn": enforce,
            },
        },
    }


def service_account(name: str, namespace: str | None, component: str, role_arn: str | None) -> dict[str, Any]:
    """A ServiceAccount without an automounted token; on EKS, `role_arn` binds it to an IAM role (IRSA)."""
    annotations = {"eks.amazonaws.com/role-arn": role_arn} if role_arn else {}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(name, namespace, component, annotations=annotations),
        "automountServiceAccountToken": False,
    }
