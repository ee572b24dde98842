"""The shared platform layer: one ComponentResource used by the AWS and the on-prem stack.

It applies the plan of inferstack.k8s.platform (GPU Operator, kube-prometheus-stack with dashboards and
SLO rules, prometheus-adapter, Triton, MLflow, the TensorRT build template) through the Kubernetes provider
the substrate hands over. The substrates differ only in PlatformArgs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from inferstack.k8s import platform as plan_builder
from inferstack.k8s import triton
from inferstack.k8s.spec import Database, S3Store, VolumeStore
from inferstack.stackconfig import StackConfig
from stacks import k8sapply


@dataclass
class PlatformArgs:
    """What a substrate hands the platform layer."""

    provider: k8s.Provider
    config: StackConfig  # GPU product, drivers preinstalled or not, replicas, exposure, ...
    store: S3Store | VolumeStore  # the bucket (cloud) or the volume claim (on-prem) of the model repository
    database: Database  # RDS on AWS; empty host = in-cluster PostgreSQL
    grafana_admin_password: pulumi.Input[str] | None = None  # secret; generated when None
    mlflow_db_password: pulumi.Input[str] | None = None  # secret; generated when None
    depends_on: list[pulumi.Resource] = field(default_factory=list)  # e.g. the GPU node groups
    existing_namespaces: tuple[str, ...] = ()  # namespaces the substrate already created (on-prem: the app's)


class Platform(pulumi.ComponentResource):
    triton_endpoint: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        self._check(args)
        super().__init__("inferstack:platform:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        grafana_password = (
            args.grafana_admin_password
            or random.RandomPassword(
                f"{name}-grafana-admin", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
            ).result
        )
        db_password = (
            args.mlflow_db_password
            or random.RandomPassword(
                f"{name}-mlflow-db", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
            ).result
        )

        spec = plan_builder.spec_for(args.config, args.store, args.database)
        plan = plan_builder.plan(
            spec,
            grafana_password=pulumi.Output.secret(grafana_password),
            db_password=pulumi.Output.secret(db_password),
        )

        def apply_all(objects: list[dict[str, Any]], after: list[pulumi.Resource]) -> list[pulumi.Resource]:
            opts_ = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=after))
            return [k8sapply.apply(name, obj, opts_) for obj in objects]

        own = [ns for ns in plan.namespaces if ns["metadata"]["name"] not in args.existing_namespaces]
        namespaces = apply_all(own, list(args.depends_on)) + list(args.depends_on)
        base = apply_all(plan.secrets + plan.chart_inputs, namespaces)
        releases: dict[str, pulumi.Resource] = {}
        for chart in plan.charts:
            after = list(base)
            if chart.release == "prometheus-adapter":
                after.append(releases["kube-prometheus-stack"])
            releases[chart.release] = k8sapply.helm_release(
                f"{name}-{chart.release}",
                chart,
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=after)),
            )
        # GPU workloads wait for the operator (device plugin, GFD labels); custom resources for their CRDs.
        workloads = apply_all(plan.objects, base + [releases["gpu-operator"]])
        apply_all(plan.custom, base + [releases["kube-prometheus-stack"]])

        service = next(
            r
            for r, o in zip(workloads, plan.objects, strict=True)
            if o["kind"] == "Service" and o["metadata"]["name"] == triton.NAME
        )
        self.triton_endpoint = _endpoint(service, args.config)
        self.grafana_admin_password = pulumi.Output.secret(grafana_password)
        self.register_outputs(
            {"triton_endpoint": self.triton_endpoint, "grafana_admin_password": self.grafana_admin_password}
        )

    @staticmethod
    def _check(args: PlatformArgs) -> None:
        """Refuse inconsistent arguments before creating anything."""
        cfg = args.config
        if cfg.substrate == "aws" and not isinstance(args.store, S3Store):
            raise ValueError("the AWS substrate must hand over an S3 model store")
        if cfg.substrate == "onprem" and not isinstance(args.store, VolumeStore):
            raise ValueError("the on-prem substrate must hand over a volume model store")
        if cfg.substrate == "aws" and not args.database.host:
            raise ValueError("the AWS substrate must hand over its RDS endpoint")
        if cfg.gpus_per_replica < 1 or cfg.triton_replicas < 1:
            raise ValueError("Triton needs at least one replica with at least one GPU")
        if not cfg.serving_gpu_product:
            raise ValueError("no GPU product to pin Triton and engine builds to")


def _endpoint(service: k8s.core.v1.Service, cfg: StackConfig) -> pulumi.Output[str]:
    """Where clients reach Triton's HTTP port: the load balancer's name/address, or any node at the NodePort."""
    if cfg.exposure == "nodeport":
        return pulumi.Output.from_input(f"<any node address>:{cfg.triton_node_port}")

    def first(status: Any) -> str:
        ingress = _get(_get(status, "load_balancer", "loadBalancer"), "ingress") or []
        if not ingress:
            return "<pending load balancer>"
        return f"{_get(ingress[0], 'hostname') or _get(ingress[0], 'ip')}:{triton.HTTP}"

    return service.status.apply(first)


def _get(obj: Any, *names: str) -> Any:
    """Output types arrive as objects from the engine and as dicts from mocks."""
    for n in names:
        value = obj.get(n) if isinstance(obj, dict) else getattr(obj, n, None)
        if value is not None:
            return value
    return None
