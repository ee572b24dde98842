"""What the platform layer is told by its substrate, as plain data.

The substrate stacks (stacks/cloud, stacks/onprem) hand the shared platform layer a provider and these
facts; the builders in this package turn them into Kubernetes objects and Helm values. Values marked
"may be a Pulumi Output" are only ever placed whole into an object (never formatted into a string), so the
same builders serve `pulumi up` (Outputs) and `inferstack render` (placeholders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inferstack.modeldef import ModelDefinition
from inferstack.slo import SLO

# Namespaces of the platform layer. Triton, MLflow and the engine-build template share the app namespace.
GPU_OPERATOR_NS = "gpu-operator"
MONITORING_NS = "monitoring"

# What the NGC Triton image and our images run as (the image's non-root user).
APP_UID = 1000


@dataclass(frozen=True)
class S3Store:
    """Cloud model store: a private bucket read through IRSA."""

    model_repository: Any  # "s3://<bucket>/models" (may be a Pulumi Output)
    region: str
    triton_role_arn: Any  # IRSA role: read-only on the model bucket (may be an Output)
    builder_role_arn: Any  # IRSA role: read/write on the model bucket (may be an Output)
    mlflow_role_arn: Any  # IRSA role: read/write on the artifact bucket (may be an Output)
    mlflow_artifacts: Any  # "s3://<artifact bucket>/" (may be an Output)
    kind: str = "s3"


@dataclass(frozen=True)
class VolumeStore:
    """On-prem model store: one PersistentVolumeClaim holding the model repository and MLflow's data."""

    claim_name: str
    storage_class: str
    size: str
    access_mode: str  # ReadWriteMany (NFS) or ReadWriteOnce (one node's disk)
    pin_node: str = ""  # with a node-local volume, the node every user of the claim must run on
    kind: str = "volume"


@dataclass(frozen=True)
class Database:
    """MLflow's database. `host` empty means an in-cluster PostgreSQL on the model store volume."""

    host: Any = ""  # RDS endpoint address on AWS (may be an Output)
    port: int = 5432
    name: str = "mlflow"
    user: str = "mlflow"
    password_secret: str = "mlflow-db"  # Secret (key: password) the platform creates from stack config


@dataclass(frozen=True)
class PlatformSpec:
    env: str  # "aws" | "onprem"
    namespace: str
    registry: str
    gpu_product: str
    gpus_per_replica: int
    drivers_preinstalled: bool
    time_slicing_replicas: int
    mig_strategy: str
    replicas: int
    max_replicas: int
    queue_time_target_us: int
    exposure: str  # "loadbalancer" | "nodeport"
    node_port: int
    client_cidrs: tuple[str, ...]
    store: S3Store | VolumeStore
    database: Database
    slo: SLO
    model: ModelDefinition
    # On-prem nodes run prometheus-node-exporter as a system service (Ansible): the chart's own would
    # collide on port 9100, so Prometheus scrapes the host's instead.
    host_node_exporter: bool = False
    grafana_secret: str = "grafana-admin"
    extra_labels: dict[str, str] = field(default_factory=dict)

    @property
    def triton_gpu_resource(self) -> str:
        return "nvidia.com/gpu"
