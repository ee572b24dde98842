"""The simulated EKS-shaped cluster: CPU pods go to the system group, GPU pods to the GPU group."""

from __future__ import annotations

import json
import time

import pytest

from inferstack.k8s.common import gpu_resources, gpu_scheduling

TOPOLOGY = "aws"


def _pod(name: str, spec: dict) -> dict:
    container = {"name": "c", "image": "registry.invalid/none:1", **spec.pop("container", {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [container], **spec},
    }


def _node_of(cluster, name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod = json.loads(cluster.kubectl("get", "pod", name, "-o", "json").stdout)
        if pod["status"].get("phase") == "Running":
            return pod["spec"]["nodeName"]
        time.sleep(0.5)
    pytest.fail(f"pod {name} not Running after {timeout} s: {pod.get('status')}")


def test_cpu_and_gpu_pods_land_in_their_node_groups(sim_cluster):
    sim_cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps(
            _pod("cpu", {"container": {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}})
        ),
    )
    sim_cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps(
            _pod(
                "gpu",
                {**gpu_scheduling("NVIDIA-L4"), "container": {"resources": gpu_resources(1, "3", "12Gi")}},
            )
        ),
    )
    assert _node_of(sim_cluster, "cpu").startswith("system-")
    assert _node_of(sim_cluster, "gpu") == "gpu-1"


def test_a_pod_bigger_than_any_system_node_is_unschedulable(sim_cluster):
    """m6i.large has 1930m allocatable: a 4-CPU request (the engine Job's) fits nowhere but the GPU node."""
    from inferstack.cluster import inspect

    sim_cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps(_pod("big", {"container": {"resources": {"requests": {"cpu": "4"}}}})),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = [
            p for p in inspect.unscheduled("default") if p["pod"] == "big" and p["reason"] == "Unschedulable"
        ]
        if pending:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the 4-CPU pod was not reported unschedulable")
    assert "Insufficient cpu" in pending[0]["message"], inspect.explain(pending)
