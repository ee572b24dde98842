"""Applying the platform plan to a simulated cluster, for the platform tests of both topologies."""

from __future__ import annotations

import json
import time

import pytest

from inferstack import render
from inferstack.paths import project_root

CHARTS = project_root().parent / "shared" / "charts"
PROM_CRDS = CHARTS / "kube-prometheus-stack-88.5.3" / "charts" / "crds" / "crds"
NEEDS_METALLB_CRDS = {"IPAddressPool", "L2Advertisement"}


def apply_platform(sim_cluster, env: str):
    """`inferstack render --env ENV`'s objects, applied server-side after the prometheus-operator CRDs."""
    if not PROM_CRDS.is_dir():
        pytest.skip(
            f"the prometheus-operator CRDs come from {PROM_CRDS} (../shared beside the repository); absent here"
        )
    sim_cluster.kubectl("apply", "--server-side", "-f", str(PROM_CRDS))
    sim_cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    plan = render.build(env)
    objects = [o for o in plan.objects if o["kind"] not in NEEDS_METALLB_CRDS]
    skipped = sorted({o["kind"] for o in plan.objects} & NEEDS_METALLB_CRDS)
    print(
        f"[platform] applying {len(objects)} objects; left out until the MetalLB chart is installed: {skipped}"
    )
    first = [
        "Namespace",
        "StorageClass",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "Service",
    ]  # what workloads refer to, the order Helm installs in
    order = sorted(objects, key=lambda o: first.index(o["kind"]) if o["kind"] in first else len(first))
    for obj in order:
        sim_cluster.kubectl(
            "apply", "--server-side", "--field-manager=inferstack-test", "-f", "-", input=json.dumps(obj)
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
        settled(p) for p in get(sim_cluster, "pods", "-A")["items"]
    ):
        time.sleep(0.5)
    return sim_cluster


def settled(pod: dict) -> bool:
    """Running (kwok took it there), or refused by the scheduler for a lasting reason."""
    if pod.get("status", {}).get("phase") in ("Running", "Succeeded"):
        return True
    sched = next(
        (c for c in pod.get("status", {}).get("conditions", []) if c["type"] == "PodScheduled"), None
    )
    return (
        bool(sched)
        and sched["status"] == "False"
        and sched.get("reason") == "Unschedulable"
        and "unbound immediate" not in sched.get("message", "")
    )


def get(cluster, *args) -> dict:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
