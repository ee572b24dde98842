"""Run the Pulumi program (stacks/__main__.py) under pulumi.runtime.set_mocks and record every resource.

No CLI, no cloud, no cluster: the mocks answer resource registrations with plausible outputs (ARNs, bucket
names, the EKS endpoint) and the one invoke the program makes (availability zones). What the program asked
for is kept in `Run.resources`, for tests that read like policies.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "stacks" / "__main__.py"
FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Run:
    resources: list[Resource] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name_part: str = "") -> Resource:
        found = [r for r in self.of_type(typ) if name_part in r.name]
        assert len(found) == 1, (
            f"expected one {typ} named like {name_part!r}, found {[r.name for r in found]}"
        )
        return found[0]

    def k8s_objects(self) -> list[dict[str, Any]]:
        """Kubernetes resources as objects (apiVersion/kind/metadata/...), as the provider would send them."""
        out = []
        for r in self.resources:
            if not r.type.startswith("kubernetes:") or r.type.startswith(
                ("kubernetes:helm", "pulumi:providers")
            ):
                continue
            obj = dict(r.inputs)
            out.append(obj)
        return out


class Recorder(pulumi.runtime.Mocks):
    def __init__(self, run: Run):
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        self.run.resources.append(Resource(args.typ, args.name, inputs))
        state = dict(inputs)
        t, n = args.typ, args.name
        if t == "aws:eks/cluster:Cluster":
            state.update(
                name=f"{n}-cluster",
                endpoint="https://EXAMPLE.gr7.eu-west-1.eks.amazonaws.com",
                certificateAuthority={"data": "Q0EK"},
                identities=[{"oidcs": [{"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"}]}],
                vpcConfig={**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-cluster"},
            )
        elif t == "aws:s3/bucket:Bucket":
            state.update(bucket=f"{n}-bucket", arn=f"arn:aws:s3:::{n}-bucket")
        elif t == "aws:iam/role:Role":
            state.update(arn=f"arn:aws:iam::123456789012:role/{n}", name=n)
        elif t == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            state.update(
                arn="arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
                url="oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE",
            )
        elif t == "aws:rds/instance:Instance":
            state.update(address=f"{n}.abc.eu-west-1.rds.amazonaws.com")
        elif t == "aws:kms/key:Key":
            state.update(arn=f"arn:aws:kms:eu-west-1:123456789012:key/{n}")
        elif t == "random:index/randomPassword:RandomPassword":
            state.update(result="generated-password-0123456789")
        elif t == "kubernetes:core/v1:Service":
            state["status"] = {"loadBalancer": {"ingress": [{"hostname": f"{n}.elb.example"}]}}
        return [f"{n}-id", state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.run.calls.append(args.token)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "names": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
                "zoneIds": ["euw1-az1", "euw1-az2", "euw1-az3"],
            }
        return {}


def run_program(config: dict[str, Any], stack: str = "test", secret_keys: tuple[str, ...] = ()) -> Run:
    """Run stacks/__main__.py with `config` ({'inferstack:key': value, 'aws:region': ...}); return what it made.
    Lists are passed as JSON strings, as `pulumi config set --path` stores them."""
    run = Run()
    pulumi.runtime.set_mocks(Recorder(run), project="inferstack", stack=stack, preview=False)
    values = {
        k: json.dumps(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in config.items()
    }
    pulumi.runtime.set_all_config(values, list(secret_keys))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()

    def program():
        runpy.run_path(str(MAIN), run_name="__main__")

    _sync_await(run_pulumi_func(program))
    return run


AWS_CONFIG: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "inferstack:substrate": "aws",
    "inferstack:imageRegistry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "inferstack:gpuInstanceTypes": ["g6.xlarge", "g6e.xlarge"],
    "inferstack:clusterPublicAccessCidrs": ["203.0.113.0/24"],
    "inferstack:clientCidrs": ["203.0.113.0/24"],
}

ONPREM_CONFIG: dict[str, Any] = {
    "inferstack:substrate": "onprem",
    "inferstack:imageRegistry": "registry.lab.example:5000",
    "inferstack:kubeconfig": FAKE_KUBECONFIG,
    "inferstack:gpuProduct": "NVIDIA-L4",
    "inferstack:nfsServer": "192.168.10.5",
    "inferstack:metallbAddresses": ["192.168.10.240-192.168.10.250"],
}
