"""The whole platform layer as data: namespaces, Secrets, Helm releases and Kubernetes objects, in the
order they must be applied. stacks/platform applies this plan with Pulumi; `inferstack render` writes it
as YAML. Both call `plan()`, so what a reviewer reads is what `pulumi up` applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inferstack import versions
from inferstack.k8s import (
    adapter,
    alerts,
    dashboards,
    engine_job,
    gpu_operator,
    mlflow,
    monitoring,
    storage,
    triton,
)
from inferstack.k8s.common import meta, namespace
from inferstack.k8s.spec import GPU_OPERATOR_NS, MONITORING_NS, Database, PlatformSpec, S3Store, VolumeStore
from inferstack.modeldef import ModelDefinition, load_definition
from inferstack.paths import default_model_definition
from inferstack.slo import SLO, load_slo
from inferstack.stackconfig import StackConfig

CRD_GROUPS = ("monitoring.coreos.com", "metallb.io")


@dataclass(frozen=True)
class Chart:
    """One Helm release: chart, version and repository come from versions.yaml."""

    release: str
    chart: str
    namespace: str
    values: dict[str, Any]

    @property
    def version(self) -> str:
        return str(versions.get(f"charts.{self.chart}.version"))

    @property
    def repo(self) -> str:
        return str(versions.get(f"charts.{self.chart}.repo"))


@dataclass
class Plan:
    namespaces: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[dict[str, Any]] = field(default_factory=list)
    # Objects the charts read at install time (the DCGM field list, the time-slicing config).
    chart_inputs: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    # Custom resources: applied once the chart that installs their CRDs is in.
    custom: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)

    def all_objects(self) -> list[dict[str, Any]]:
        return self.namespaces + self.secrets + self.chart_inputs + self.objects + self.custom


def is_custom(obj: dict[str, Any]) -> bool:
    return obj["apiVersion"].split("/")[0] in CRD_GROUPS


def secret(name: str, ns: str, string_data: dict[str, Any], component: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta(name, ns, component),
        "stringData": string_data,
    }


def spec_for(
    cfg: StackConfig,
    store: S3Store | VolumeStore,
    database: Database,
    slo: SLO | None = None,
    model: ModelDefinition | None = None,
) -> PlatformSpec:
    """The platform's inputs from the stack config and what the substrate made (store, database)."""
    model = model or load_definition(default_model_definition())
    slo = slo or load_slo(model.slo_path)
    return PlatformSpec(
        env=cfg.substrate,
        namespace=cfg.namespace,
        registry=cfg.image_registry,
        gpu_product=cfg.serving_gpu_product,
        gpus_per_replica=cfg.gpus_per_replica,
        drivers_preinstalled=cfg.drivers_preinstalled,
        time_slicing_replicas=cfg.time_slicing_replicas,
        mig_strategy=cfg.mig_strategy,
        replicas=cfg.triton_replicas,
        max_replicas=cfg.triton_max_replicas,
        queue_time_target_us=cfg.queue_time_target_us,
        exposure=cfg.exposure,
        node_port=cfg.triton_node_port,
        client_cidrs=cfg.client_cidrs,
        store=store,
        database=database,
        slo=slo,
        model=model,
        host_node_exporter=cfg.substrate == "onprem",
    )


def volume_store(cfg: StackConfig) -> VolumeStore:
    nfs = cfg.model_store == "nfs"
    return VolumeStore(
        claim_name=storage.CLAIM,
        storage_class=storage.STORAGE_CLASS,
        size=cfg.storage_size,
        access_mode="ReadWriteMany" if nfs else "ReadWriteOnce",
        pin_node="" if nfs else cfg.local_path_node,
    )


def plan(spec: PlatformSpec, grafana_password: Any, db_password: Any) -> Plan:
    """Everything the platform layer applies. Passwords may be Pulumi secret Outputs (or placeholders)."""
    p = Plan()
    p.namespaces = [
        namespace(GPU_OPERATOR_NS, "privileged"),  # driver/toolkit/DCGM pods need the host
        namespace(MONITORING_NS, "privileged"),  # node-exporter needs host network and PID
        namespace(spec.namespace, "restricted"),
    ]
    p.secrets = [
        secret(
            spec.grafana_secret,
            MONITORING_NS,
            {monitoring.GRAFANA_USER_KEY: "admin", monitoring.GRAFANA_PASSWORD_KEY: grafana_password},
            "dashboards",
        ),
        secret(spec.database.password_secret, spec.namespace, {"password": db_password}, "tracking"),
    ]
    p.chart_inputs = gpu_operator.objects(spec)
    p.charts = [
        Chart("gpu-operator", "gpu-operator", GPU_OPERATOR_NS, gpu_operator.values(spec)),
        Chart("kube-prometheus-stack", "kube-prometheus-stack", MONITORING_NS, monitoring.values(spec)),
        Chart("prometheus-adapter", "prometheus-adapter", MONITORING_NS, adapter.values(spec)),
    ]
    objects = (
        triton.objects(spec)
        + mlflow.objects(spec)
        + engine_job.objects(spec)
        + dashboards.objects(spec)
        + alerts.objects(spec)
    )
    p.custom = [o for o in objects if is_custom(o)]
    p.objects = [o for o in objects if not is_custom(o)]
    return p
