"""The simulated on-prem cluster for real: API server admission, the real scheduler, kwok's pod lifecycle.

What the scheduler does with the placement our builders produce is what this checks: GPU pods land on GPU
nodes, a pod that tolerates nothing has nowhere to go on the 1 control plane + 2 GPU worker topology, and an
impossible GPU product stays Pending with the scheduler's reason, which `inspect` reports.
"""

from __future__ import annotations

import json
import time

import pytest

from inferstack.cluster import inspect
from inferstack.k8s.common import gpu_resources, gpu_scheduling

TOPOLOGY = "onprem"
NS = "sim-test"


def _deployment(name: str, pod_spec: dict, replicas: int = 1) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "registry.invalid/none:1", **pod_spec.pop("container", {})}
                    ],
                    **pod_spec,
                },
            },
        },
    }


def _apply(cluster, obj: dict) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(obj))


def _wait(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _unschedulable(prefix: str) -> list[dict]:
    """Waits until the scheduler has refused a pod whose name starts with prefix; returns those pods."""
    return _wait(
        lambda: [
            p
            for p in inspect.unscheduled(NS)
            if p["pod"].startswith(prefix) and p["reason"] == "Unschedulable"
        ],
        what=f"a {prefix} pod to be unschedulable",
    )


def _pods(cluster, app: str) -> list[dict]:
    out = cluster.kubectl("get", "pods", "-n", NS, "-l", f"app={app}", "-o", "json")
    return json.loads(out.stdout)["items"]


@pytest.fixture(scope="module")
def cluster(sim_cluster):
    sim_cluster.kubectl("create", "namespace", NS)
    return sim_cluster


def test_status_reports_every_component_and_node_healthy(cluster):
    result = cluster.status()
    assert result["healthy"], result
    assert set(result["components"]) == set(cluster.ORDER)
    names = sorted(n["name"] for n in result["nodes"])
    assert names == ["cp-1", "gpu-1", "gpu-2"]
    assert all(
        n["allocatable"].get("nvidia.com/gpu") == "1" for n in result["nodes"] if n["name"].startswith("gpu")
    )


def test_a_gpu_deployment_lands_on_gpu_nodes_and_becomes_available(cluster):
    spec = {**gpu_scheduling("NVIDIA-L4"), "container": {"resources": gpu_resources(1, "2", "4Gi")}}
    _apply(cluster, _deployment("gpu-serving", spec, replicas=2))

    def running_and_ready():
        pods = _pods(cluster, "gpu-serving")
        ok = [
            p
            for p in pods
            if p["status"].get("phase") == "Running"
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        ]
        return ok if len(ok) == 2 else None

    pods = _wait(running_and_ready, what="2 Running and Ready GPU pods")
    nodes = sorted(p["spec"]["nodeName"] for p in pods)
    assert nodes == ["gpu-1", "gpu-2"], nodes  # one GPU each: the two replicas cannot share a node
    _wait(lambda: not inspect.not_available(NS), what="the deployment to be available")


def test_a_third_gpu_replica_has_no_gpu_left_and_says_so(cluster):
    cluster.kubectl("scale", "deployment/gpu-serving", "-n", NS, "--replicas=3")
    pending = _unschedulable("gpu-serving")
    assert "Insufficient nvidia.com/gpu" in pending[0]["message"], inspect.explain(pending)
    cluster.kubectl("scale", "deployment/gpu-serving", "-n", NS, "--replicas=2")


def test_a_cpu_pod_that_tolerates_nothing_has_nowhere_to_go(cluster):
    """The documented topology has no untainted node: platform pods without tolerations stay Pending."""
    _apply(cluster, _deployment("cpu-only", {"container": {"resources": {"requests": {"cpu": "100m"}}}}))
    pending = _unschedulable("cpu-only")
    assert "untolerated taint" in pending[0]["message"], inspect.explain(pending)
    assert {"kind": "deployment", "namespace": NS, "name": "cpu-only", "want": 1, "available": 0} in (
        inspect.not_available(NS)
    )


def test_a_gpu_product_no_node_has_is_reported_not_silent(cluster):
    spec = {
        **gpu_scheduling("NVIDIA-H100-80GB-HBM3"),
        "container": {"resources": gpu_resources(1, "1", "1Gi")},
    }
    _apply(cluster, _deployment("wrong-gpu", spec))
    pending = _unschedulable("wrong-gpu")
    assert "node affinity/selector" in pending[0]["message"], inspect.explain(pending)


def test_a_job_runs_to_completion(cluster):
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "build", "namespace": NS},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    **gpu_scheduling("NVIDIA-L4"),
                    "containers": [
                        {
                            "name": "c",
                            "image": "registry.invalid/none:1",
                            "resources": {"requests": {"cpu": "100m"}},
                        }
                    ],
                }
            },
        },
    }
    _apply(cluster, job)
    _wait(
        lambda: (
            json.loads(cluster.kubectl("get", "job/build", "-n", NS, "-o", "json").stdout)
            .get("status", {})
            .get("succeeded")
            == 1
        ),
        what="the Job to succeed",
    )
