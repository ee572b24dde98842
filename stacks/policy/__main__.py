"""The pulumi-policy pack: wraps the plain rules of rules.py. Run by the Pulumi CLI only, e.g.
`pulumi preview --policy-pack stacks/policy`; the tests import rules.py directly (serving this pack
blocks on gRPC, and pulumi-policy cannot be installed next to the project's protobuf 6)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rules  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy  # noqa: E402


def _stack_rule(name: str, description: str, check):
    def validate(args, report_violation):
        resources = [rules.Res(r.resource_type, r.name, dict(r.props)) for r in args.resources]
        for message in check(resources):
            report_violation(message)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


PolicyPack(
    name="inferstack",
    policies=[
        _stack_rule(
            "gpu-pods-request-gpus",
            "GPU pods request nvidia.com/gpu (request = limit) and tolerate the taint",
            rules.gpu_pods_request_gpus,
        ),
        _stack_rule(
            "gpu-node-groups-use-gpu-amis",
            "GPU node groups use GPU AMIs and GPU instance types",
            rules.gpu_node_groups_use_gpu_amis,
        ),
        _stack_rule(
            "buckets-private-and-encrypted",
            "Buckets block public access, encrypt and version",
            rules.buckets_private_and_encrypted,
        ),
        _stack_rule("images-pinned", "No unpinned container image", rules.images_pinned),
        _stack_rule(
            "hpa-metric-from-adapter",
            "HPA metrics are exposed by prometheus-adapter",
            rules.hpa_metric_from_adapter,
        ),
        _stack_rule(
            "service-monitors-select-metrics-ports",
            "ServiceMonitors select a Service's named port",
            rules.service_monitors_select_metrics_ports,
        ),
    ],
)
