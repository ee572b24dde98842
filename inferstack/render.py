"""`inferstack render --env aws|onprem --out DIR`: every Kubernetes object and Helm values file the
platform layer would apply, as YAML, from the same builders `pulumi up` uses.

Values that exist only once AWS has created something (bucket names, role ARNs, the RDS address) and
secrets are written as visible placeholders (`<output ...>`, `<secret ...>`) and listed in DIR/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from inferstack.errors import ConfigError
from inferstack.paths import project_root

ENVS = ("aws", "onprem")


def placeholder(kind: str, what: str) -> str:
    return f"<{kind} {what}>"


@dataclass(frozen=True)
class Rendered:
    objects: list[dict[str, Any]]
    values: dict[str, tuple[Any, dict[str, Any]]]  # release -> (Chart, values)
    placeholders: list[str]


def example_stack_file(env: str) -> Path:
    return project_root() / f"Pulumi.{env}-example.yaml"


def build(env: str, stack_file: Path | None = None) -> Rendered:
    """The platform plan (and, on-prem, the substrate's storage and MetalLB objects) for a stack file."""
    from inferstack import stackconfig
    from inferstack.k8s import platform, storage
    from inferstack.k8s.spec import Database, S3Store

    if env not in ENVS:
        raise ConfigError(None, "--env", f"unknown environment {env!r}", f"use one of: {', '.join(ENVS)}")
    path = stack_file or example_stack_file(env)
    cfg = stackconfig.load_stack_file(path, placeholder_secrets=True)
    if cfg.substrate != env:
        raise ConfigError(
            path,
            "inferstack:substrate",
            f"the stack file is for {cfg.substrate!r}, not {env!r}",
            f"pass --env {cfg.substrate} or a stack file for {env}",
        )
    marks: list[str] = []

    def out(what: str) -> str:
        marks.append(what)
        return placeholder("output", what)

    extra_objects: list[dict[str, Any]] = []
    extra_values: dict[str, tuple[Any, dict[str, Any]]] = {}
    if env == "aws":
        store = S3Store(
            model_repository=out("s3://<model bucket>/models (stack output modelBucket)"),
            region=cfg.aws_region,
            triton_role_arn=out("IRSA role ARN for Triton (read-only on the model bucket)"),
            builder_role_arn=out("IRSA role ARN for the engine build (read/write on the model bucket)"),
            mlflow_role_arn=out("IRSA role ARN for MLflow (read/write on the artifact bucket)"),
            mlflow_artifacts=out("s3://<artifact bucket>/"),
        )
        database = Database(host=out("RDS endpoint address of MLflow's PostgreSQL"))
    else:
        store = platform.volume_store(cfg)
        database = Database()
        extra_objects = [
            storage.storage_class(),
            storage.persistent_volume(cfg),
            storage.persistent_volume_claim(cfg),
        ]
        if cfg.exposure == "loadbalancer":
            metallb = platform.Chart("metallb", "metallb", storage.METALLB_NS, storage.metallb_values())
            extra_values["metallb"] = (metallb, metallb.values)
            extra_objects += storage.metallb_pool(cfg)
    spec = platform.spec_for(cfg, store, database)
    marks += ["Grafana admin password (Secret grafana-admin)", "MLflow database password (Secret mlflow-db)"]
    plan = platform.plan(
        spec,
        grafana_password=placeholder("secret", "grafanaAdminPassword"),
        db_password=placeholder("secret", "mlflowDbPassword"),
    )
    values = {c.release: (c, c.values) for c in plan.charts}
    values.update(extra_values)
    return Rendered(objects=plan.all_objects() + extra_objects, values=values, placeholders=marks)


def object_filename(obj: dict[str, Any]) -> str:
    ns = obj["metadata"].get("namespace", "cluster")
    return f"{ns}--{obj['kind'].lower()}--{obj['metadata']['name']}.yaml"


def write(rendered: Rendered, env: str, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    objects_dir, values_dir = out_dir / "objects", out_dir / "values"
    for d in (objects_dir, values_dir):
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.yaml"):
            old.unlink()
    written: list[Path] = []
    for obj in rendered.objects:
        path = objects_dir / object_filename(obj)
        path.write_text(yaml.safe_dump(obj, sort_keys=False, width=120), encoding="utf-8")
        written.append(path)
    for release, (chart, values) in rendered.values.items():
        path = values_dir / f"{release}.yaml"
        header = (
            f"# Helm values of release {release}: chart {chart.chart} {chart.version} from {chart.repo},"
            f" namespace {chart.namespace}\n"
        )
        path.write_text(header + yaml.safe_dump(values, sort_keys=False, width=120), encoding="utf-8")
        written.append(path)
    readme = out_dir / "README.md"
    lines = [
        f"# inferstack render --env {env}",
        "",
        "What `pulumi up` applies to the cluster: `objects/` (one Kubernetes object a file, "
        "`kubectl diff -R -f objects/` against a live cluster) and `values/` (Helm values per release).",
        "",
        "Placeholders (known only after `pulumi up` creates them, or secret):",
        "",
    ]
    lines += [f"- {mark}" for mark in rendered.placeholders]
    readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
    written.append(readme)
    return written


def register(app) -> None:
    @app.command("render")
    def render_command(
        env: Annotated[str, typer.Option("--env", help="aws or onprem")],
        out: Annotated[Path, typer.Option("--out", help="directory to write objects/ and values/ into")],
        stack_file: Annotated[
            Path | None,
            typer.Option(
                "--stack-file", help="Pulumi.<stack>.yaml to render (default: Pulumi.<env>-example.yaml)"
            ),
        ] = None,
    ) -> None:
        """Write every Kubernetes object and Helm values file the platform layer would apply, as YAML."""
        rendered = build(env, stack_file)
        paths = write(rendered, env, out)
        objects = sum(1 for p in paths if p.parent.name == "objects")
        values = sum(1 for p in paths if p.parent.name == "values")
        typer.echo(
            f"wrote {objects} objects and {values} values files to {out} (placeholders: {out / 'README.md'})"
        )
