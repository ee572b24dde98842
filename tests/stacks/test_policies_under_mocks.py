"""Both stacks run end to end under Pulumi mocks; what they register is held to the project's policies."""

from __future__ import annotations

import json

import pytest
from pulumi_harness import Run

from stacks.policy import rules


def res(run: Run) -> list[rules.Res]:
    return [rules.Res(r.type, r.name, r.inputs) for r in run.resources]


@pytest.fixture(params=["aws", "onprem"])
def run(request, aws_run, onprem_run) -> Run:
    return aws_run if request.param == "aws" else onprem_run


def test_both_stacks_register_the_platform_component_and_triton(run):
    assert len(run.of_type("inferstack:platform:Platform")) == 1
    assert run.one("kubernetes:apps/v1:Deployment", "triton")
    releases = {r.inputs["chart"]: r.inputs for r in run.of_type("kubernetes:helm.sh/v3:Release")}
    assert {"gpu-operator", "kube-prometheus-stack", "prometheus-adapter"} <= set(releases)


def test_every_gpu_pod_requests_gpus_request_equals_limit_and_tolerates_the_taint(run):
    assert rules.gpu_pods_request_gpus(res(run)) == []
    gpu_pods = [
        r
        for r in res(run)
        if rules.pod_spec(r)
        and any(
            "nvidia.com/gpu" in ((c.get("resources") or {}).get("limits") or {})
            for c in rules.pod_spec(r)["containers"]
        )
    ]
    assert {r.props["metadata"]["name"] for r in gpu_pods} == {"triton", "trt-build"}


def test_no_image_is_unpinned(run):
    assert rules.images_pinned(res(run)) == []


def test_gpu_operator_flags_follow_preinstalled_drivers(run):
    assert rules.operator_follows_preinstalled(res(run), drivers_preinstalled=True) == []
    assert rules.operator_follows_preinstalled(res(run), drivers_preinstalled=False) != []


def test_hpa_scales_on_the_metric_the_adapter_exposes(run):
    assert rules.hpa_metric_from_adapter(res(run)) == []


def test_service_monitor_selects_the_triton_metrics_port(run):
    assert rules.service_monitors_select_metrics_ports(res(run)) == []
    sm = run.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "triton")
    assert [e["port"] for e in sm.inputs["spec"]["endpoints"]] == ["metrics"]


def test_helm_charts_are_pinned_to_the_lock(run):
    from inferstack import versions

    for r in run.of_type("kubernetes:helm.sh/v3:Release"):
        assert r.inputs["version"] == versions.get(f"charts.{r.inputs['chart']}.version")
        assert r.inputs["repositoryOpts"]["repo"] == versions.get(f"charts.{r.inputs['chart']}.repo")


def test_gpu_node_groups_use_the_nvidia_ami_and_gpu_instances(aws_run):
    assert rules.gpu_node_groups_use_gpu_amis(res(aws_run)) == []
    gpu = [r for r in aws_run.of_type("aws:eks/nodeGroup:NodeGroup") if r.inputs.get("taints")]
    assert sorted(t for r in gpu for t in r.inputs["instanceTypes"]) == ["g6.xlarge", "g6e.xlarge"]
    assert {r.inputs["amiType"] for r in gpu} == {"AL2023_x86_64_NVIDIA"}


def test_eks_runs_the_locked_kubernetes_minor(aws_run):
    from inferstack import versions

    cluster = aws_run.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["version"] == ".".join(str(versions.get("kubernetes.version")).split(".")[:2])
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_buckets_are_private_encrypted_and_versioned(aws_run):
    assert len(aws_run.of_type("aws:s3/bucket:Bucket")) == 2
    assert rules.buckets_private_and_encrypted(res(aws_run)) == []


def test_triton_irsa_role_only_reads_the_model_bucket(aws_run):
    bucket = aws_run.one("aws:s3/bucket:Bucket", "models")
    arn = f"arn:aws:s3:::{bucket.name}-bucket"
    assert rules.role_policy_read_only(res(aws_run), "inferstack-triton", arn) == []
    trust = json.loads(aws_run.one("aws:iam/role:Role", "inferstack-triton").inputs["assumeRolePolicy"])
    cond = trust["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:inferstack:triton" in cond.values()
    sa = next(
        o
        for o in aws_run.k8s_objects()
        if o.get("kind") == "ServiceAccount" and o["metadata"]["name"] == "triton"
    )
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("role/inferstack-triton")


def test_engine_build_role_may_write_but_is_not_tritons(aws_run):
    bucket = aws_run.one("aws:s3/bucket:Bucket", "models")
    arn = f"arn:aws:s3:::{bucket.name}-bucket"
    assert rules.role_policy_read_only(res(aws_run), "inferstack-trt-build", arn) != []


def test_no_security_group_opens_anything_to_the_world(aws_run):
    for sg in aws_run.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for rule in sg.inputs.get("ingress") or []:
            assert "0.0.0.0/0" not in (rule.get("cidrBlocks") or []), sg.name


def test_database_is_private_and_encrypted(aws_run):
    db = aws_run.one("aws:rds/instance:Instance")
    assert db.inputs["publiclyAccessible"] is False and db.inputs["storageEncrypted"] is True
    assert "password" in db.inputs  # generated, a secret; never a literal in code


def test_onprem_model_store_is_the_nfs_volume_triton_mounts_read_only(onprem_run):
    pv = onprem_run.one("kubernetes:core/v1:PersistentVolume")
    assert pv.inputs["spec"]["nfs"] == {"server": "192.168.10.5", "path": "/srv/inferstack"}
    triton = onprem_run.one("kubernetes:apps/v1:Deployment", "triton").inputs
    vols = triton["spec"]["template"]["spec"]["volumes"]
    assert {"name": "models", "persistentVolumeClaim": {"claimName": "model-store", "readOnly": True}} in vols


def test_onprem_namespace_is_created_once(onprem_run):
    names = [r.inputs["metadata"]["name"] for r in onprem_run.of_type("kubernetes:core/v1:Namespace")]
    assert len(names) == len(set(names)), names


def test_every_kubernetes_resource_uses_the_substrates_provider(run):
    providers = [r for r in run.of_type("pulumi:providers:kubernetes")]
    assert len(providers) == 1
