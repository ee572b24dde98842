"""The Pulumi stack configuration, typed and checked, without importing Pulumi.

Pulumi.yaml declares every key (type, default, description); this module reads that schema, applies its
defaults, checks types and meaning, and returns one frozen StackConfig. The Pulumi program
(stacks/config.py) feeds it the values of `pulumi config`; `inferstack render` feeds it a stack file
(Pulumi.<stack>.yaml). A wrong value is refused here, before any resource exists, with the config key
(`inferstack:gpusPerReplica`) and the fix in the message.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from inferstack.config import read_yaml
from inferstack.errors import ConfigError
from inferstack.paths import project_root

PROJECT = "inferstack"

# EKS GPU instance families this project supports: the GPU each carries (as GPU Feature Discovery labels it,
# nvidia.com/gpu.product) and GPUs per instance size. TensorRT engines are built per GPU product.
GPU_FAMILIES: dict[str, dict[str, Any]] = {
    "g5": {
        "product": "NVIDIA-A10G",
        "gpus": {
            "xlarge": 1,
            "2xlarge": 1,
            "4xlarge": 1,
            "8xlarge": 1,
            "16xlarge": 1,
            "12xlarge": 4,
            "24xlarge": 4,
            "48xlarge": 8,
        },
    },
    "g6": {
        "product": "NVIDIA-L4",
        "gpus": {
            "xlarge": 1,
            "2xlarge": 1,
            "4xlarge": 1,
            "8xlarge": 1,
            "16xlarge": 1,
            "12xlarge": 4,
            "24xlarge": 4,
            "48xlarge": 8,
        },
    },
    "g6e": {
        "product": "NVIDIA-L40S",
        "gpus": {
            "xlarge": 1,
            "2xlarge": 1,
            "4xlarge": 1,
            "8xlarge": 1,
            "16xlarge": 1,
            "12xlarge": 4,
            "24xlarge": 4,
            "48xlarge": 8,
        },
    },
    "p4d": {"product": "NVIDIA-A100-SXM4-40GB", "gpus": {"24xlarge": 8}},
    "p5": {"product": "NVIDIA-H100-80GB-HBM3", "gpus": {"4xlarge": 1, "48xlarge": 8}},
}

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def schema_path() -> Path:
    return project_root() / "Pulumi.yaml"


@cache
def schema() -> dict[str, dict[str, Any]]:
    """The `config:` block of Pulumi.yaml: key -> {type, default, description, secret?}."""
    data = read_yaml(schema_path())
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(schema_path(), "config", "no config schema", "declare every key under `config:`")
    return config


@dataclass(frozen=True)
class StackConfig:
    """Every key of Pulumi.yaml's schema, typed. Attribute names are the config keys in snake_case."""

    substrate: str
    namespace: str
    image_registry: str
    gpu_product: str
    drivers_preinstalled: bool
    time_slicing_replicas: int
    mig_strategy: str
    triton_replicas: int
    triton_max_replicas: int
    gpus_per_replica: int
    queue_time_target_us: int
    exposure: str
    triton_node_port: int
    client_cidrs: tuple[str, ...]
    grafana_admin_password: str
    mlflow_db_password: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    az_count: int
    nat_gateways: str
    cluster_public_access_cidrs: tuple[str, ...]
    system_instance_type: str
    system_nodes: int
    gpu_instance_types: tuple[str, ...]
    gpu_nodes_min: int
    gpu_nodes_desired: int
    gpu_nodes_max: int
    gpu_node_disk_gib: int
    db_instance_class: str
    kubeconfig: str
    run_playbook: bool
    ansible_inventory: str
    ansible_playbook: str
    model_store: str
    nfs_server: str
    nfs_path: str
    local_path_node: str
    local_path: str
    storage_size: str
    metallb_addresses: tuple[str, ...]
    # Provider configuration read beside ours.
    aws_region: str = ""

    @property
    def serving_gpu_product(self) -> str:
        """The GPU product Triton and engine builds are pinned to."""
        if self.gpu_product:
            return self.gpu_product
        if self.substrate == "aws" and self.gpu_instance_types:
            return GPU_FAMILIES[self.gpu_instance_types[0].split(".")[0]]["product"]
        return ""


def snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _coerce(key: str, spec: dict[str, Any], value: Any, source: str) -> Any:
    """Values arrive as YAML values (stack file) or strings (`pulumi config`); make them the declared type."""
    kind = spec.get("type", "string")

    def fail(problem: str) -> ConfigError:
        return ConfigError(
            source, f"{PROJECT}:{key}", problem, f"set a {kind}: {spec.get('description', '')}"
        )

    if kind == "string":
        if isinstance(value, bool | int | float):
            return str(value)
        if not isinstance(value, str):
            raise fail(f"expected a string, got {value!r}")
        return value
    if kind == "integer":
        if isinstance(value, bool):
            raise fail(f"expected an integer, got {value!r}")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise fail(f"expected an integer, got {value!r}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise fail(f"expected true or false, got {value!r}")
    if kind == "array":
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value)
            except ValueError:
                raise fail(
                    f"expected a list (JSON when set with `pulumi config set --path`), got {value!r}"
                ) from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"expected a list of strings, got {value!r}")
        return tuple(value)
    raise ConfigError(
        schema_path(),
        f"config.{key}.type",
        f"unsupported type {kind!r}",
        "use string, integer, boolean or array",
    )


def parse(raw: dict[str, Any], source: str = "stack config", aws_region: str = "") -> StackConfig:
    """Raw `inferstack:*` values (keys with or without the `inferstack:` prefix) -> a checked StackConfig."""
    declared = schema()
    values: dict[str, Any] = {}
    for full_key, value in raw.items():
        key = full_key.split(":", 1)[1] if full_key.startswith(f"{PROJECT}:") else full_key
        if ":" in key:
            continue  # another namespace (aws:region, kubernetes:...) is the provider's business
        if key not in declared:
            close = [k for k in declared if k.lower() == key.lower()]
            hint = (
                f"did you mean `{PROJECT}:{close[0]}`?"
                if close
                else "remove it or correct its spelling (see Pulumi.yaml)"
            )
            raise ConfigError(source, f"{PROJECT}:{key}", "unknown config key", hint)
        values[key] = _coerce(key, declared[key], value, source)
    for key, spec in declared.items():
        if key not in values:
            values[key] = _coerce(key, spec, spec.get("default"), str(schema_path()))
    config = StackConfig(aws_region=aws_region, **{snake(k): v for k, v in values.items()})
    check(config, source)
    return config


def _err(source: str, key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(source, key if ":" in key else f"{PROJECT}:{key}", problem, fix)


def _choice(source: str, key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _err(
            source,
            key,
            f"{value!r} is not one of {', '.join(choices)}",
            f"set it to one of: {', '.join(choices)}",
        )


def _cidr(source: str, key: str, value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise _err(
            source, key, f"{value!r} is not a CIDR", "write an address range like 203.0.113.0/24"
        ) from None


def check(c: StackConfig, source: str = "stack config") -> None:
    """Meaning checks, substrate by substrate. Raises ConfigError naming the key."""
    _choice(source, "substrate", c.substrate, ("aws", "onprem"))
    _choice(source, "migStrategy", c.mig_strategy, ("none", "single", "mixed"))
    _choice(source, "exposure", c.exposure, ("loadbalancer", "nodeport"))
    if not _DNS_LABEL.match(c.namespace):
        raise _err(
            source,
            "namespace",
            f"{c.namespace!r} is not a Kubernetes namespace name",
            "lowercase letters, digits, dashes",
        )
    if not c.image_registry:
        raise _err(
            source,
            "imageRegistry",
            "no registry for the images built from images/",
            "push images/triton and images/trt-builder to a registry and set inferstack:imageRegistry to it",
        )
    if c.gpus_per_replica < 1:
        raise _err(
            source,
            "gpusPerReplica",
            f"{c.gpus_per_replica} GPUs per Triton pod",
            "set at least 1: Triton serves TensorRT engines on a GPU",
        )
    if c.triton_replicas < 1:
        raise _err(source, "tritonReplicas", f"{c.triton_replicas} replicas", "set at least 1")
    if c.triton_max_replicas < c.triton_replicas:
        raise _err(
            source,
            "tritonMaxReplicas",
            f"{c.triton_max_replicas} is below tritonReplicas ({c.triton_replicas})",
            "set it to at least tritonReplicas",
        )
    if c.queue_time_target_us < 1:
        raise _err(
            source,
            "queueTimeTargetUs",
            f"{c.queue_time_target_us} us",
            "set a positive queue-time target in microseconds",
        )
    if c.time_slicing_replicas < 0 or c.time_slicing_replicas == 1:
        raise _err(
            source,
            "timeSlicingReplicas",
            f"{c.time_slicing_replicas}",
            "set 0 (off) or 2 or more pods per GPU",
        )
    if c.time_slicing_replicas and c.mig_strategy != "none":
        raise _err(
            source,
            "timeSlicingReplicas",
            "time-slicing together with MIG",
            "choose one: timeSlicingReplicas 0 or migStrategy none",
        )
    if not 30000 <= c.triton_node_port <= 32766:
        raise _err(
            source,
            "tritonNodePort",
            f"{c.triton_node_port} is outside 30000-32766",
            "pick a port in the NodePort range",
        )
    for cidr in c.client_cidrs:
        _cidr(source, "clientCidrs", cidr)
    if not _QUANTITY.match(c.storage_size):
        raise _err(
            source, "storageSize", f"{c.storage_size!r} is not a Kubernetes quantity", "write e.g. 200Gi"
        )
    if c.substrate == "aws":
        _check_aws(c, source)
    else:
        _check_onprem(c, source)


def _check_aws(c: StackConfig, source: str) -> None:
    if not c.aws_region:
        raise _err(source, "aws:region", "no AWS region", "pulumi config set aws:region eu-west-1")
    _cidr(source, "vpcCidr", c.vpc_cidr)
    net = ipaddress.ip_network(c.vpc_cidr, strict=False)
    zones = len(c.availability_zones) or c.az_count
    if zones < 2:
        raise _err(
            source,
            "azCount" if not c.availability_zones else "availabilityZones",
            f"{zones} availability zone(s)",
            "EKS needs subnets in at least 2 zones",
        )
    if net.prefixlen > 20:
        raise _err(
            source,
            "vpcCidr",
            f"/{net.prefixlen} is too small for {zones} public and {zones} private subnets",
            "use a /20 or larger (e.g. 10.40.0.0/16)",
        )
    _choice(source, "natGateways", c.nat_gateways, ("single", "per-az"))
    for cidr in c.cluster_public_access_cidrs:
        _cidr(source, "clusterPublicAccessCidrs", cidr)
    if not c.gpu_instance_types:
        raise _err(source, "gpuInstanceTypes", "no GPU instance type", "list at least one, e.g. [g6.xlarge]")
    for itype in c.gpu_instance_types:
        family, _, size = itype.partition(".")
        if family not in GPU_FAMILIES:
            raise _err(
                source,
                "gpuInstanceTypes",
                f"{itype!r} is not a supported GPU instance type (family {family!r})",
                f"use one of the families {', '.join(GPU_FAMILIES)}, e.g. g6.xlarge",
            )
        sizes = GPU_FAMILIES[family]["gpus"]
        if size not in sizes:
            raise _err(
                source,
                "gpuInstanceTypes",
                f"{itype!r}: no size {size!r} in family {family}",
                f"use one of {', '.join(f'{family}.{s}' for s in sizes)}",
            )
    first = c.gpu_instance_types[0]
    per_node = GPU_FAMILIES[first.split(".")[0]]["gpus"][first.split(".")[1]]
    if c.gpus_per_replica > per_node:
        raise _err(
            source,
            "gpusPerReplica",
            f"{c.gpus_per_replica} GPUs per pod but {first} has {per_node}",
            f"set gpusPerReplica to at most {per_node} or serve on a larger instance type",
        )
    if c.gpu_nodes_desired < 1:
        raise _err(
            source,
            "gpuNodesDesired",
            f"{c.gpu_nodes_desired} GPU nodes",
            "set at least 1: Triton needs a GPU node",
        )
    if not (0 <= c.gpu_nodes_min <= c.gpu_nodes_desired <= c.gpu_nodes_max):
        raise _err(
            source,
            "gpuNodesMax",
            f"min {c.gpu_nodes_min}, desired {c.gpu_nodes_desired}, max {c.gpu_nodes_max}",
            "keep gpuNodesMin <= gpuNodesDesired <= gpuNodesMax",
        )
    if c.system_nodes < 1:
        raise _err(source, "systemNodes", f"{c.system_nodes}", "set at least 1 (2 survive a node loss)")


def _check_onprem(c: StackConfig, source: str) -> None:
    if not c.kubeconfig.strip():
        raise _err(
            source,
            "kubeconfig",
            "no kubeconfig for the on-prem cluster",
            "pulumi config set --secret inferstack:kubeconfig < admin.conf (the file the Ansible roles fetched)",
        )
    if not c.gpu_product:
        raise _err(
            source,
            "gpuProduct",
            "no GPU product to pin Triton and engine builds to",
            "set the node's nvidia.com/gpu.product label, e.g. NVIDIA-L4 (kubectl get nodes -L nvidia.com/gpu.product)",
        )
    _choice(source, "modelStore", c.model_store, ("nfs", "local-path"))
    if c.model_store == "nfs" and not c.nfs_server:
        raise _err(
            source, "nfsServer", "modelStore is 'nfs' but no server is set", "set the NFS server's address"
        )
    if c.model_store == "local-path" and not c.local_path_node:
        raise _err(
            source,
            "localPathNode",
            "modelStore is 'local-path' but no node is set",
            "set the node whose disk holds the store",
        )
    for path_key, path in (("nfsPath", c.nfs_path), ("localPath", c.local_path)):
        if not path.startswith("/"):
            raise _err(
                source,
                path_key,
                f"{path!r} is not an absolute path",
                "write an absolute path, e.g. /srv/inferstack",
            )
    if c.exposure == "loadbalancer" and not c.metallb_addresses:
        raise _err(
            source,
            "metallbAddresses",
            "exposure 'loadbalancer' on-prem needs addresses for MetalLB",
            "list a free range of your network (e.g. 192.168.10.240-192.168.10.250) or set exposure: nodeport",
        )
    for rng in c.metallb_addresses:
        parts = rng.split("-")
        try:
            if len(parts) == 2:
                ipaddress.ip_address(parts[0].strip())
                ipaddress.ip_address(parts[1].strip())
            else:
                ipaddress.ip_network(rng, strict=False)
        except ValueError:
            raise _err(
                source,
                "metallbAddresses",
                f"{rng!r} is neither a CIDR nor a first-last range",
                "write 192.168.10.240-192.168.10.250 or 192.168.10.240/28",
            ) from None
    if c.gpus_per_replica > 8:
        raise _err(
            source,
            "gpusPerReplica",
            f"{c.gpus_per_replica} GPUs per pod",
            "no server here has more than 8 GPUs",
        )
    if c.run_playbook:
        root = project_root()
        for key, rel in (("ansiblePlaybook", c.ansible_playbook), ("ansibleInventory", c.ansible_inventory)):
            if not (root / rel).exists():
                raise _err(source, key, f"{rel} not found under {root}", "point it at a file in ansible/")


def load_stack_file(path: str | Path, placeholder_secrets: bool = False) -> StackConfig:
    """Read a Pulumi.<stack>.yaml (as `inferstack render` does). Secure values cannot be decrypted here: a
    `secure:` value stands for 'set'. With placeholder_secrets, secret keys left unset (a committed example
    cannot hold them) read as a placeholder too: rendering needs no secret."""
    path = Path(path)
    data = read_yaml(path) or {}
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(
            path, "config", "not a mapping", "write `config:` with `inferstack:<key>: value` entries"
        )
    raw: dict[str, Any] = {}
    region = ""
    for key, value in config.items():
        if isinstance(value, dict) and "secure" in value:
            value = f"<secret {key}>"
        if key == "aws:region":
            region = str(value)
        if key.startswith(f"{PROJECT}:"):
            raw[key] = value
    if placeholder_secrets:
        for key, spec in schema().items():
            if spec.get("secret") and f"{PROJECT}:{key}" not in raw:
                raw[f"{PROJECT}:{key}"] = f"<secret {PROJECT}:{key}>"
    return parse(raw, source=str(path), aws_region=region)
