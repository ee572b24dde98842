"""Wrong configuration fails before any resource is created, naming the config key; the schema in
Pulumi.yaml declares every key the program reads."""

from __future__ import annotations

import dataclasses

import pulumi_harness as harness
import pytest

from inferstack import stackconfig
from inferstack.errors import ConfigError


def failing_run(config, secret_keys=()):
    with pytest.raises(Exception) as info:
        harness.run_program(config, stack="bad", secret_keys=secret_keys)
    return info.value


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"inferstack:gpuInstanceTypes": ["m6i.large"]}, "inferstack:gpuInstanceTypes"),
        ({"inferstack:gpuInstanceTypes": ["g6.huge"]}, "inferstack:gpuInstanceTypes"),
        ({"inferstack:gpusPerReplica": 0}, "inferstack:gpusPerReplica"),
        ({"inferstack:gpusPerReplica": 2}, "inferstack:gpusPerReplica"),  # g6.xlarge has one GPU
        ({"inferstack:gpuNodesDesired": 0}, "inferstack:gpuNodesDesired"),
        ({"inferstack:gpuInstanceTpyes": ["g6.xlarge"]}, "inferstack:gpuInstanceTpyes"),
        ({"aws:region": ""}, "aws:region"),
    ],
)
def test_wrong_aws_config_fails_before_any_resource_naming_the_key(change, key):
    config = {**harness.AWS_CONFIG, **change}
    run_resources = []
    original = harness.Recorder.new_resource

    def spy(self, args):
        run_resources.append(args.typ)
        return original(self, args)

    harness.Recorder.new_resource = spy
    try:
        error = failing_run(config)
    finally:
        harness.Recorder.new_resource = original
    assert key in str(error), str(error)
    assert [t for t in run_resources if t != "pulumi:pulumi:Stack"] == [], run_resources


def test_missing_kubeconfig_on_prem_fails_naming_the_key():
    config = {k: v for k, v in harness.ONPREM_CONFIG.items() if k != "inferstack:kubeconfig"}
    error = failing_run(config)
    assert "inferstack:kubeconfig" in str(error)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"inferstack:modelStore": "ceph"}, "inferstack:modelStore"),
        ({"inferstack:nfsServer": ""}, "inferstack:nfsServer"),
        ({"inferstack:gpuProduct": ""}, "inferstack:gpuProduct"),
        ({"inferstack:metallbAddresses": []}, "inferstack:metallbAddresses"),
        ({"inferstack:tritonReplicas": "two"}, "inferstack:tritonReplicas"),
    ],
)
def test_wrong_onprem_config_is_refused_naming_the_key(change, key):
    raw = {**harness.ONPREM_CONFIG, **change}
    with pytest.raises(ConfigError) as info:
        stackconfig.parse(raw, source="Pulumi.lab.yaml")
    assert info.value.field == key


def test_every_schema_key_has_type_default_and_description():
    for key, spec in stackconfig.schema().items():
        assert {"type", "default", "description"} <= set(spec), key
        assert spec["description"].strip(), key


def test_schema_and_typed_config_name_the_same_keys():
    fields = {f.name for f in dataclasses.fields(stackconfig.StackConfig)} - {"aws_region"}
    assert {stackconfig.snake(k) for k in stackconfig.schema()} == fields


def test_schema_defaults_pass_their_own_types():
    # Only substrate-independent checks: the defaults need an image registry and a region to be complete.
    cfg = stackconfig.parse({"imageRegistry": "r.example"}, aws_region="eu-west-1")
    assert cfg.gpu_instance_types == ("g6.xlarge",) and cfg.serving_gpu_product == "NVIDIA-L4"


@pytest.mark.parametrize("env", ["aws", "onprem"])
def test_committed_example_stacks_are_valid(env):
    from inferstack import render

    cfg = stackconfig.load_stack_file(render.example_stack_file(env), placeholder_secrets=True)
    assert cfg.substrate == env
