"""Policy rules over the resources a stack registers, as plain functions (stdlib only).

Each rule takes the stack's resources as (type, name, props) triples, props in the provider's camelCase as
Pulumi records them, and returns a list of violation messages (empty = compliant). The tests run them on
what the program registers under mocks; stacks/policy/__main__.py wraps them in a pulumi-policy pack for
`pulumi preview --policy-pack stacks/policy` (pulumi-policy pins protobuf 5, so it lives in its own venv).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple


class Res(NamedTuple):
    type: str
    name: str
    props: dict[str, Any]


GPU_AMI_TYPES = {
    "AL2023_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "AL2_x86_64_GPU",
}
GPU_FAMILIES = {"g5", "g6", "g6e", "p4d", "p5"}
GPU = "nvidia.com/gpu"
READ_ONLY_S3 = {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def _kind(r: Res) -> str:
    return r.type.rsplit(":", 1)[-1] if r.type.startswith("kubernetes:") else ""


def pod_spec(r: Res) -> dict[str, Any] | None:
    kind = _kind(r)
    spec = r.props.get("spec") or {}
    if kind in POD_KINDS:
        return (spec.get("template") or {}).get("spec")
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    if kind == "Pod":
        return spec
    return None


def _images(pod: dict[str, Any]) -> list[str]:
    return [c.get("image", "") for c in (pod.get("containers") or []) + (pod.get("initContainers") or [])]


def gpu_pods_request_gpus(resources: Iterable[Res]) -> list[str]:
    """Every GPU pod requests nvidia.com/gpu with request = limit, and tolerates the GPU taint; a pod that
    tolerates the GPU taint is a GPU pod (otherwise it would squat on a GPU node)."""
    out = []
    for r in resources:
        pod = pod_spec(r)
        if pod is None:
            continue
        tolerates = any(
            t.get("key") == GPU and t.get("effect") in ("NoSchedule", None)
            for t in pod.get("tolerations") or []
        )
        gpu_containers = []
        for c in pod.get("containers") or []:
            res = c.get("resources") or {}
            req, lim = (res.get("requests") or {}).get(GPU), (res.get("limits") or {}).get(GPU)
            if req is None and lim is None:
                continue
            gpu_containers.append(c)
            if req is None or lim is None or str(req) != str(lim):
                out.append(
                    f"{r.name}: container {c.get('name')} must set {GPU} request = limit (got {req}/{lim})"
                )
            elif float(str(req)) < 1:
                out.append(f"{r.name}: container {c.get('name')} requests {req} GPUs")
        if gpu_containers and not tolerates:
            out.append(f"{r.name}: requests {GPU} but does not tolerate the {GPU} NoSchedule taint")
        if tolerates and not gpu_containers:
            out.append(f"{r.name}: tolerates the {GPU} taint but requests no GPU")
    return out


def gpu_node_groups_use_gpu_amis(resources: Iterable[Res]) -> list[str]:
    """A node group tainted for GPUs uses a GPU AMI type and GPU instance types, and the reverse."""
    out = []
    for r in resources:
        if r.type != "aws:eks/nodeGroup:NodeGroup":
            continue
        tainted = any(
            t.get("key") == GPU and t.get("effect") == "NO_SCHEDULE" for t in r.props.get("taints") or []
        )
        ami = r.props.get("amiType")
        families = {t.split(".")[0] for t in r.props.get("instanceTypes") or []}
        if tainted:
            if ami not in GPU_AMI_TYPES:
                out.append(
                    f"{r.name}: GPU node group with AMI type {ami!r} (want one of {sorted(GPU_AMI_TYPES)})"
                )
            if not families or not families <= GPU_FAMILIES:
                out.append(f"{r.name}: GPU node group with instance types {r.props.get('instanceTypes')}")
        elif families & GPU_FAMILIES or ami in GPU_AMI_TYPES:
            out.append(f"{r.name}: GPU instances or AMI without the {GPU} NoSchedule taint")
    return out


def buckets_private_and_encrypted(resources: Iterable[Res]) -> list[str]:
    """Every bucket has all four public-access blocks, default encryption and versioning."""
    resources = list(resources)
    buckets = [r for r in resources if r.type == "aws:s3/bucket:Bucket"]
    out = []

    def attached(typ: str, bucket: Res) -> list[Res]:
        # Under mocks (and in policy packs) the bucket reference is its id: "<name>-id" or the name itself.
        ids = {bucket.name, f"{bucket.name}-id", bucket.props.get("bucket")}
        return [r for r in resources if r.type == typ and r.props.get("bucket") in ids]

    for b in buckets:
        pab = attached("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b)
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        if not pab or not all(pab[0].props.get(f) is True for f in flags):
            out.append(f"{b.name}: public access is not fully blocked")
        sse = attached(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", b
        )
        algos = [
            ((rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
            for s in sse
            for rule in s.props.get("rules") or []
        ]
        if not any(a in ("aws:kms", "AES256", "aws:kms:dsse") for a in algos):
            out.append(f"{b.name}: no default encryption")
        ver = attached("aws:s3/bucketVersioning:BucketVersioning", b)
        if not ver or (ver[0].props.get("versioningConfiguration") or {}).get("status") != "Enabled":
            out.append(f"{b.name}: versioning is not enabled")
        if b.props.get("acl") in ("public-read", "public-read-write"):
            out.append(f"{b.name}: public ACL {b.props.get('acl')}")
    return out


def role_policy_read_only(resources: Iterable[Res], role_name_part: str, bucket_arn: str) -> list[str]:
    """The IRSA role of `role_name_part` may only read `bucket_arn` (list + get), nothing else."""
    out = []
    policies = [
        r for r in resources if r.type == "aws:iam/rolePolicy:RolePolicy" and role_name_part in r.name
    ]
    if not policies:
        return [f"no inline policy for a role named like {role_name_part!r}"]
    for r in policies:
        doc = r.props.get("policy")
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for st in doc.get("Statement", []):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources_ = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if st.get("Effect") != "Allow":
                continue
            extra = set(actions) - READ_ONLY_S3
            if extra:
                out.append(f"{r.name}: grants {sorted(extra)} beyond read-only S3")
            foreign = [x for x in resources_ if x not in (bucket_arn, f"{bucket_arn}/*")]
            if foreign:
                out.append(f"{r.name}: reaches {foreign} beyond {bucket_arn}")
    return out


def images_pinned(resources: Iterable[Res]) -> list[str]:
    """No image without a tag, no :latest."""
    out = []
    for r in resources:
        pod = pod_spec(r)
        for image in _images(pod) if pod else []:
            name = image.rsplit("/", 1)[-1]
            if "@sha256:" in image:
                continue
            if ":" not in name or name.endswith(":latest"):
                out.append(f"{r.name}: image {image!r} is not pinned to a version")
    return out


def helm_values(resources: Iterable[Res], chart: str) -> dict[str, Any] | None:
    for r in resources:
        if r.type == "kubernetes:helm.sh/v3:Release" and r.props.get("chart") == chart:
            return r.props.get("values") or {}
    return None


def operator_follows_preinstalled(resources: Iterable[Res], drivers_preinstalled: bool) -> list[str]:
    """The GPU Operator manages driver and toolkit exactly when the nodes do not have them."""
    values = helm_values(resources, "gpu-operator")
    if values is None:
        return ["no gpu-operator release"]
    out = []
    for part in ("driver", "toolkit"):
        enabled = (values.get(part) or {}).get("enabled", True)
        if enabled == drivers_preinstalled:
            out.append(
                f"gpu-operator {part}.enabled={enabled} but driversPreinstalled={drivers_preinstalled}"
            )
    return out


def hpa_metric_from_adapter(resources: Iterable[Res]) -> list[str]:
    """Every Pods metric an HPA scales on is one prometheus-adapter exposes."""
    resources = list(resources)
    values = helm_values(resources, "prometheus-adapter")
    exposed = {
        ((rule.get("name") or {}).get("as"))
        for rule in ((values or {}).get("rules") or {}).get("custom") or []
    }
    out = []
    for r in resources:
        if _kind(r) != "HorizontalPodAutoscaler":
            continue
        for m in (r.props.get("spec") or {}).get("metrics") or []:
            if m.get("type") == "Pods":
                name = ((m.get("pods") or {}).get("metric") or {}).get("name")
                if name not in exposed:
                    out.append(
                        f"{r.name}: scales on {name!r}, which prometheus-adapter does not expose ({sorted(exposed)})"
                    )
    return out


def service_monitors_select_metrics_ports(resources: Iterable[Res]) -> list[str]:
    """Each ServiceMonitor selects at least one Service in its namespaces, and scrapes a port that Service names."""
    resources = list(resources)
    services = [r for r in resources if _kind(r) == "Service"]
    out = []
    for sm in (r for r in resources if _kind(r) == "ServiceMonitor"):
        spec = sm.props.get("spec") or {}
        want = (spec.get("selector") or {}).get("matchLabels") or {}
        namespaces = ((spec.get("namespaceSelector") or {}).get("matchNames")) or [
            sm.props["metadata"].get("namespace")
        ]
        matched = [
            s
            for s in services
            if s.props["metadata"].get("namespace") in namespaces
            and want.items() <= (s.props["metadata"].get("labels") or {}).items()
        ]
        if not matched:
            out.append(f"{sm.name}: selects no Service ({want} in {namespaces})")
            continue
        ports = {p.get("name") for s in matched for p in (s.props.get("spec") or {}).get("ports") or []}
        for ep in spec.get("endpoints") or []:
            if ep.get("port") not in ports:
                out.append(
                    f"{sm.name}: scrapes port {ep.get('port')!r}, not a port of {[s.name for s in matched]}"
                )
    return out
