"""Each policy rule refuses at least one violating input (recorded-input shape, camelCase as Pulumi records)."""

from __future__ import annotations

import json

from stacks.policy import rules
from stacks.policy.rules import Res


def deployment(
    name="triton", tolerate=True, req="1", lim="1", image="reg/inferstack-triton:25.10-inferstack0.1.0"
):
    resources = {"requests": {"nvidia.com/gpu": req}, "limits": {"nvidia.com/gpu": lim}} if req or lim else {}
    pod = {"containers": [{"name": "c", "image": image, "resources": resources}]}
    if tolerate:
        pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    return Res(
        "kubernetes:apps/v1:Deployment",
        name,
        {"metadata": {"name": name}, "spec": {"template": {"spec": pod}}},
    )


def test_gpu_pod_rule_accepts_request_equal_limit_with_toleration():
    assert rules.gpu_pods_request_gpus([deployment()]) == []


def test_gpu_pod_rule_refuses_request_different_from_limit():
    assert rules.gpu_pods_request_gpus([deployment(req="1", lim="2")])


def test_gpu_pod_rule_refuses_missing_toleration():
    assert rules.gpu_pods_request_gpus([deployment(tolerate=False)])


def test_gpu_pod_rule_refuses_a_pod_squatting_on_gpu_nodes():
    assert rules.gpu_pods_request_gpus([deployment(req=None, lim=None)])


def test_image_rule_refuses_latest_and_untagged():
    assert rules.images_pinned([deployment(image="nvcr.io/nvidia/tritonserver:latest")])
    assert rules.images_pinned([deployment(image="registry.local:5000/triton")])
    assert rules.images_pinned([deployment()]) == []


def node_group(ami="AL2023_x86_64_NVIDIA", types=("g6.xlarge",), taint=True):
    props = {"amiType": ami, "instanceTypes": list(types)}
    if taint:
        props["taints"] = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    return Res("aws:eks/nodeGroup:NodeGroup", "gpu", props)


def test_node_group_rule():
    assert rules.gpu_node_groups_use_gpu_amis([node_group()]) == []
    assert rules.gpu_node_groups_use_gpu_amis([node_group(ami="AL2023_x86_64_STANDARD")])
    assert rules.gpu_node_groups_use_gpu_amis([node_group(types=("m6i.large",))])
    assert rules.gpu_node_groups_use_gpu_amis([node_group(taint=False)])


def bucket_set(block=True, sse="aws:kms", versioning="Enabled"):
    return [
        Res("aws:s3/bucket:Bucket", "models", {}),
        Res(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "models",
            {
                "bucket": "models-id",
                "blockPublicAcls": True,
                "blockPublicPolicy": block,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
        ),
        Res(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "models",
            {"bucket": "models-id", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": sse}}]},
        ),
        Res(
            "aws:s3/bucketVersioning:BucketVersioning",
            "models",
            {"bucket": "models-id", "versioningConfiguration": {"status": versioning}},
        ),
    ]


def test_bucket_rule():
    assert rules.buckets_private_and_encrypted(bucket_set()) == []
    assert rules.buckets_private_and_encrypted(bucket_set(block=False))
    assert rules.buckets_private_and_encrypted(bucket_set(sse=None))
    assert rules.buckets_private_and_encrypted(bucket_set(versioning="Suspended"))
    assert rules.buckets_private_and_encrypted(bucket_set()[:1])


def role_policy(actions, resource):
    doc = {"Statement": [{"Effect": "Allow", "Action": actions, "Resource": [resource]}]}
    return [Res("aws:iam/rolePolicy:RolePolicy", "inferstack-triton", {"policy": json.dumps(doc)})]


def test_read_only_rule():
    arn = "arn:aws:s3:::models"
    assert rules.role_policy_read_only(role_policy(["s3:GetObject"], f"{arn}/*"), "triton", arn) == []
    assert rules.role_policy_read_only(role_policy(["s3:PutObject"], f"{arn}/*"), "triton", arn)
    assert rules.role_policy_read_only(role_policy(["s3:GetObject"], "*"), "triton", arn)
    assert rules.role_policy_read_only([], "triton", arn)


def release(chart, values):
    return Res("kubernetes:helm.sh/v3:Release", chart, {"chart": chart, "values": values})


def test_operator_rule():
    ok = [release("gpu-operator", {"driver": {"enabled": False}, "toolkit": {"enabled": False}})]
    assert rules.operator_follows_preinstalled(ok, True) == []
    assert rules.operator_follows_preinstalled(ok, False)
    assert rules.operator_follows_preinstalled([release("gpu-operator", {})], True)  # chart default: enabled


def hpa(metric):
    return Res(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "triton",
        {"spec": {"metrics": [{"type": "Pods", "pods": {"metric": {"name": metric}}}]}},
    )


def test_hpa_rule():
    adapter = release("prometheus-adapter", {"rules": {"custom": [{"name": {"as": "queue_us"}}]}})
    assert rules.hpa_metric_from_adapter([adapter, hpa("queue_us")]) == []
    assert rules.hpa_metric_from_adapter([adapter, hpa("something_else")])


def test_service_monitor_rule():
    svc = Res(
        "kubernetes:core/v1:Service",
        "m",
        {"metadata": {"namespace": "a", "labels": {"app": "t"}}, "spec": {"ports": [{"name": "metrics"}]}},
    )

    def sm(labels, port, ns="a"):
        return Res(
            "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
            "sm",
            {
                "metadata": {"namespace": ns},
                "spec": {"selector": {"matchLabels": labels}, "endpoints": [{"port": port}]},
            },
        )

    assert rules.service_monitors_select_metrics_ports([svc, sm({"app": "t"}, "metrics")]) == []
    assert rules.service_monitors_select_metrics_ports([svc, sm({"app": "t"}, "http")])
    assert rules.service_monitors_select_metrics_ports([svc, sm({"app": "x"}, "metrics")])
    assert rules.service_monitors_select_metrics_ports([svc, sm({"app": "t"}, "metrics", ns="b")])
