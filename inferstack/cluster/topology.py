"""Node shapes of a simulated cluster: a small YAML file of node groups, turned into kwok-managed Nodes.

Two topologies are built in (`onprem`, `aws`, in topologies/); a user passes a file of their own with the same
fields to simulate their hardware. Every node carries kwok's annotation, so kwok manages it and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from inferstack.errors import ConfigError

BUILTIN = Path(__file__).resolve().parent / "topologies"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
GPU_RESOURCE = "nvidia.com/gpu"


class Taint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class Allocatable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpu: str
    memory: str


class NodeGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    count: int = Field(ge=1, le=50)
    cpu: str
    memory: str
    allocatable: Allocatable | None = None
    pods: int = Field(default=110, ge=1)
    gpus: int = Field(default=0, ge=0)
    labels: dict[str, str] = {}
    taints: list[Taint] = []
    zones: list[str] = []

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_are_strings(cls, v):
        return {str(k): "" if val is None else str(val) for k, val in (v or {}).items()}


class Topology(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    groups: list[NodeGroup] = Field(min_length=1)

    def nodes(self) -> list[dict]:
        return [node for group in self.groups for node in _nodes(group)]


def _nodes(group: NodeGroup) -> list[dict]:
    out = []
    for i in range(1, group.count + 1):
        name = f"{group.name}-{i}"
        capacity = {
            "cpu": group.cpu,
            "memory": group.memory,
            "pods": str(group.pods),
            "ephemeral-storage": "200Gi",
        }
        allocatable = dict(capacity)
        if group.allocatable:
            allocatable.update(cpu=group.allocatable.cpu, memory=group.allocatable.memory)
        if group.gpus:
            capacity[GPU_RESOURCE] = allocatable[GPU_RESOURCE] = str(group.gpus)
        labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
            **group.labels,
        }
        if group.zones:
            labels["topology.kubernetes.io/zone"] = group.zones[(i - 1) % len(group.zones)]
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": labels, "annotations": {KWOK_ANNOTATION: "fake"}},
                "spec": {"taints": [t.model_dump(exclude_defaults=True) for t in group.taints]},
                "status": {
                    "capacity": capacity,
                    "allocatable": allocatable,
                },
            }
        )
    return out


def load(name_or_path: str) -> Topology:
    """A built-in topology by name (`onprem`, `aws`) or a YAML file of node groups."""
    path = BUILTIN / f"{name_or_path}.yaml"
    if not path.is_file():
        path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in BUILTIN.glob("*.yaml")))
        raise ConfigError(
            path, "topology", "no such built-in topology or file", f"use one of {known} or a path"
        )
    try:
        raw = yaml.safe_load(path.read_text())
        return Topology.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(path, "(file)", f"not valid YAML: {exc}", "fix the syntax") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(path, field, err["msg"], "see inferstack/cluster/topologies/onprem.yaml") from exc
