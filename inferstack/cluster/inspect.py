"""What a person asks of a cluster after a deploy: is everything available, and if not, why not."""

from __future__ import annotations

import json

from inferstack.cluster.control_plane import kubectl


def _items(kind: str, namespace: str | None = None) -> list[dict]:
    scope = ["-n", namespace] if namespace else ["-A"]
    return json.loads(kubectl("get", kind, *scope, "-o", "json").stdout)["items"]


def unscheduled(namespace: str | None = None) -> list[dict]:
    """Pods that are Pending or Failed, each with the scheduler's (or kubelet's) reason."""
    out = []
    for pod in _items("pods", namespace):
        phase = pod.get("status", {}).get("phase")
        if phase not in ("Pending", "Failed"):
            continue
        conds = {c["type"]: c for c in pod.get("status", {}).get("conditions", [])}
        sched = conds.get("PodScheduled", {})
        out.append(
            {
                "namespace": pod["metadata"]["namespace"],
                "pod": pod["metadata"]["name"],
                "phase": phase,
                "node": pod.get("spec", {}).get("nodeName", ""),
                "reason": sched.get("reason", "") or pod.get("status", {}).get("reason", ""),
                "message": sched.get("message", "") or pod.get("status", {}).get("message", ""),
            }
        )
    return out


def not_available(namespace: str | None = None) -> list[dict]:
    """Deployments, StatefulSets and DaemonSets that are not fully available, with their counts."""
    out = []
    for kind in ("deployments", "statefulsets", "daemonsets"):
        for obj in _items(kind, namespace):
            st = obj.get("status", {})
            if kind == "daemonsets":
                want, have = st.get("desiredNumberScheduled", 0), st.get("numberAvailable", 0)
            else:
                want, have = obj.get("spec", {}).get("replicas", 1), st.get("availableReplicas", 0)
            if have < want:
                out.append(
                    {
                        "kind": kind[:-1],
                        "namespace": obj["metadata"]["namespace"],
                        "name": obj["metadata"]["name"],
                        "want": want,
                        "available": have,
                    }
                )
    return out


def explain(pending: list[dict]) -> str:
    return "\n".join(
        f"  {p['namespace']}/{p['pod']} {p['phase']}: {p['reason']} {p['message']}".rstrip() for p in pending
    )
