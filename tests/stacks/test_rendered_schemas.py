"""Every rendered object validates against its schema: Kubernetes kinds with kubernetes-validate (strict, at
the locked Kubernetes minor), prometheus-operator kinds against the CRDs in ../shared/schemas/crds, and every
Helm value we set is a key the pinned chart knows (../shared/schemas/chart-values)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from inferstack import versions
from tests.stacks.conftest import shared_schemas

CRD_FILES = {
    "ServiceMonitor": "monitoring.coreos.com_servicemonitors.yaml",
    "PodMonitor": "monitoring.coreos.com_podmonitors.yaml",
    "PrometheusRule": "monitoring.coreos.com_prometheusrules.yaml",
}
# MetalLB's CRDs are not among the reference schemas: its two objects are checked by hand below instead.
UNCHECKED_GROUPS = {"metallb.io": "no MetalLB CRD schema in ../shared/schemas/crds"}

# Keys the charts document only in comments of their values.yaml (so absent from the parsed defaults).
DOCUMENTED_IN_COMMENTS = {
    ("gpu-operator", "dcgmExporter.config"): "# config:",
    ("gpu-operator", "dcgmExporter.config.name"): "# name: custom-dcgm-exporter-metrics",
}


def k8s_minor() -> str:
    return ".".join(str(versions.get("kubernetes.version")).split(".")[:2])


def test_kubernetes_objects_validate_strictly_at_the_locked_minor(rendered):
    env, result = rendered
    checked = 0
    for obj in result.objects:
        group = obj["apiVersion"].split("/")[0]
        if group in UNCHECKED_GROUPS or obj["kind"] in CRD_FILES:
            continue
        kubernetes_validate.validate(obj, k8s_minor(), strict=True)
        checked += 1
    assert checked >= 20, f"{env}: only {checked} objects validated"


def test_strict_validation_would_catch_an_unknown_field(rendered):
    _, result = rendered
    obj = copy.deepcopy(next(o for o in result.objects if o["kind"] == "Deployment"))
    obj["spec"]["template"]["spec"]["containers"][0]["gpuCount"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, k8s_minor(), strict=True)


def _strict(schema: Any) -> Any:
    """The API server prunes unknown fields of a structural schema (and `--validate=strict` refuses them):
    forbid properties the CRD does not declare, unless it preserves unknown fields."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def crd_schema(kind: str, version: str) -> dict[str, Any]:
    crd = yaml.safe_load((shared_schemas("crds") / CRD_FILES[kind]).read_text())
    found = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    return _strict(found["schema"]["openAPIV3Schema"])


def _validate_cr(obj: dict[str, Any]) -> None:
    schema = copy.deepcopy(crd_schema(obj["kind"], obj["apiVersion"].split("/")[1]))
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}  # checked by the API server itself
    # No metaschema check: the CRDs carry Go regexes ((?i) mid-pattern) that Python cannot compile.
    jsonschema.Draft7Validator(schema).validate(obj)


def test_prometheus_operator_objects_validate_against_the_crds(rendered):
    _, result = rendered
    crs = [o for o in result.objects if o["kind"] in CRD_FILES]
    assert {o["kind"] for o in crs} == {"ServiceMonitor", "PrometheusRule"}
    for obj in crs:
        _validate_cr(obj)


def test_crd_validation_would_catch_a_misspelt_field(rendered):
    _, result = rendered
    obj = copy.deepcopy(next(o for o in result.objects if o["kind"] == "ServiceMonitor"))
    obj["spec"]["endpoints"][0]["prot"] = obj["spec"]["endpoints"][0].pop("port")
    with pytest.raises(jsonschema.ValidationError):
        _validate_cr(obj)


def test_metallb_objects_carry_what_metallb_needs(rendered):
    env, result = rendered
    pools = [o for o in result.objects if o["apiVersion"] == "metallb.io/v1beta1"]
    if env == "aws":
        assert pools == []
        return
    kinds = {o["kind"]: o for o in pools}
    assert kinds["IPAddressPool"]["spec"]["addresses"]
    assert kinds["L2Advertisement"]["spec"]["ipAddressPools"] == [kinds["IPAddressPool"]["metadata"]["name"]]


def _paths(values: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(values, dict):
        for k, v in values.items():
            path = f"{prefix}.{k}" if prefix else k
            out.append(path)
            out += _paths(v, path)
    return out


def _known(defaults: Any, path: str, chart: str, raw_text: str) -> bool:
    node = defaults
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
            continue
        if isinstance(node, dict) and not node:
            return True  # an empty map in the defaults is free-form (resources: {}, annotations: {})
        marker = DOCUMENTED_IN_COMMENTS.get((chart, path))
        return bool(marker and marker in raw_text)
    return True


def chart_defaults(chart: str) -> tuple[Any, str]:
    path: Path = shared_schemas("chart-values") / f"{chart}.values.yaml"
    text = path.read_text()
    header = text.splitlines()[0]
    assert str(versions.get(f"charts.{chart}.version")) in header, f"{path} is for another version: {header}"
    return yaml.safe_load(text), text


def test_every_helm_value_we_set_is_a_key_the_pinned_chart_knows(rendered):
    _, result = rendered
    for release, (chart, values) in result.values.items():
        if chart.chart == "metallb":
            continue  # no reference values; we set none (asserted below)
        defaults, text = chart_defaults(chart.chart)
        unknown = [p for p in _paths(values) if not _known(defaults, p, chart.chart, text)]
        assert unknown == [], f"{release}: keys the chart does not know: {unknown}"


def test_metallb_gets_no_values_we_could_not_check(rendered):
    _, result = rendered
    if "metallb" in result.values:
        assert result.values["metallb"][1] == {}


def test_values_check_would_catch_a_misspelt_key():
    defaults, text = chart_defaults("gpu-operator")
    assert not _known(defaults, "driver.enable", "gpu-operator", text)
    assert not _known(defaults, "dcgmExporter.serviceMonitor.enabeld", "gpu-operator", text)
    assert _known(defaults, "driver.enabled", "gpu-operator", text)
