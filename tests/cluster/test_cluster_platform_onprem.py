"""The on-prem platform plan applied to the simulated on-prem cluster, through the real API server.

The objects are exactly what `inferstack render --env onprem` writes (the builders `pulumi up` uses), applied
server-side after the prometheus-operator CRDs of the locked kube-prometheus-stack chart (../shared/charts).
The charts themselves are not installed here yet (no helm in the lane yet), so MetalLB's pool and
advertisement, which need MetalLB's CRDs, are left out and named.

What this found on its first run: MLflow and its Postgres have no node to run on with the documented
topology (the control plane and both GPU workers are tainted): issue 15, finding 3. That test is a strict
xfail, so it fails the day the platform is fixed and the marker must go.
"""

from __future__ import annotations

import json
import time

import pytest

from inferstack import render
from inferstack.cluster import inspect
from inferstack.paths import project_root

TOPOLOGY = "onprem"
CHARTS = project_root().parent / "shared" / "charts"
PROM_CRDS = CHARTS / "kube-prometheus-stack-88.5.3" / "charts" / "crds" / "crds"
NEEDS_METALLB_CRDS = {"IPAddressPool", "L2Advertisement"}


@pytest.fixture(scope="module")
def applied(sim_cluster):
    if not PROM_CRDS.is_dir():
        pytest.skip(
            f"the prometheus-operator CRDs come from {PROM_CRDS} (../shared beside the repository); absent here"
        )
    sim_cluster.kubectl("apply", "--server-side", "-f", str(PROM_CRDS))
    sim_cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    plan = render.build("onprem")
    objects = [o for o in plan.objects if o["kind"] not in NEEDS_METALLB_CRDS]
    skipped = sorted({o["kind"] for o in plan.objects} & NEEDS_METALLB_CRDS)
    print(
        f"[platform] applying {len(objects)} objects; left out until the MetalLB chart is installed: {skipped}"
    )
    order = sorted(objects, key=lambda o: o["kind"] not in ("Namespace", "StorageClass", "PersistentVolume"))
    for obj in order:
        sim_cluster.kubectl(
            "apply", "--server-side", "--field-manager=inferstack-test", "-f", "-", input=json.dumps(obj)
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
        _settled(p) for p in _get(sim_cluster, "pods", "-A")["items"]
    ):
        time.sleep(0.5)
    return sim_cluster


def _settled(pod: dict) -> bool:
    """Running (kwok took it there), or refused by the scheduler for a lasting reason."""
    if pod.get("status", {}).get("phase") in ("Running", "Succeeded"):
        return True
    sched = next(
        (c for c in pod.get("status", {}).get("conditions", []) if c["type"] == "PodScheduled"), None
    )
    return bool(sched) and sched["status"] == "False" and "unbound immediate" not in sched.get("message", "")


def _get(cluster, *args) -> dict:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def test_triton_runs_on_gpu_nodes_with_a_whole_gpu(applied):
    pods = _get(applied, "pods", "-n", "inferstack", "-l", "app.kubernetes.io/name=triton")["items"]
    assert pods, "no Triton pod was created"
    for pod in pods:
        assert pod["status"]["phase"] == "Running", inspect.explain(inspect.unscheduled("inferstack"))
        assert pod["spec"]["nodeName"].startswith("gpu-")
        for c in pod["spec"]["containers"]:
            if "nvidia.com/gpu" in c["resources"].get("limits", {}):
                assert (
                    c["resources"]["requests"]["nvidia.com/gpu"] == c["resources"]["limits"]["nvidia.com/gpu"]
                )


def test_the_hpa_targets_triton(applied):
    hpa = _get(applied, "hpa.v2.autoscaling", "triton", "-n", "inferstack")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "triton"}


def test_rules_and_monitors_are_accepted_by_their_crds(applied):
    rules = _get(applied, "prometheusrules", "-n", "inferstack")["items"]
    monitors = _get(applied, "servicemonitors", "-n", "inferstack")["items"]
    assert {r["metadata"]["name"] for r in rules} >= {"inferstack-platform"}
    assert [m["metadata"]["name"] for m in monitors] == ["triton"]


@pytest.mark.xfail(
    strict=True,
    reason="issue 15 #3: with 1 tainted control plane + 2 GPU workers, MLflow and "
    "Postgres have no node (fix: CPU workers or a control plane that takes system pods)",
)
def test_no_platform_pod_is_left_pending(applied):
    pending = inspect.unscheduled()
    print(inspect.explain(pending))
    assert not pending, "pods Pending:\n" + inspect.explain(pending)
