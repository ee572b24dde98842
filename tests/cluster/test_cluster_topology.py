"""Node shapes: the built-in topologies match what the Ansible roles and the EKS node groups give nodes."""

from __future__ import annotations

import pytest
import yaml

from inferstack.cluster import topology
from inferstack.errors import ConfigError
from inferstack.k8s.common import GPU_TAINT_KEY
from inferstack.paths import project_root


def _by_prefix(nodes, prefix):
    return [n for n in nodes if n["metadata"]["name"].startswith(prefix)]


def test_onprem_is_what_site_yml_builds():
    nodes = topology.load("onprem").nodes()
    (cp,) = _by_prefix(nodes, "cp-")
    gpus = _by_prefix(nodes, "gpu-")
    assert len(gpus) == 2
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in cp["spec"]["taints"]
    role = yaml.safe_load((project_root() / "ansible/roles/kubernetes_node/defaults/main.yml").read_text())
    for node in gpus:
        for key, value in role["kubernetes_node_gpu_labels"].items():
            assert node["metadata"]["labels"][key] == str(value)
        assert node["spec"]["taints"] == role["kubernetes_node_gpu_taints"]
        assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"
        assert node["metadata"]["annotations"] == {topology.KWOK_ANNOTATION: "fake"}


def test_aws_gpu_nodes_carry_the_taint_the_node_group_sets():
    nodes = topology.load("aws").nodes()
    (gpu,) = _by_prefix(nodes, "gpu-")
    assert gpu["spec"]["taints"] == [{"key": GPU_TAINT_KEY, "value": "true", "effect": "NoSchedule"}]
    assert gpu["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "g6.xlarge"
    system = _by_prefix(nodes, "system-")
    assert len(system) == 2 and all(not n["spec"]["taints"] for n in system)
    assert {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in system} == {
        "eu-west-1a",
        "eu-west-1b",
    }


def test_a_bad_topology_file_names_the_file_and_field(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: x\ngroups:\n  - name: gpu\n    count: 0\n    cpu: '4'\n    memory: 16Gi\n")
    with pytest.raises(ConfigError) as err:
        topology.load(str(bad))
    assert str(bad) in str(err.value) and "groups.0.count" in str(err.value)


def test_an_unknown_topology_lists_the_built_in_ones():
    with pytest.raises(ConfigError, match="aws, onprem"):
        topology.load("gcp")
