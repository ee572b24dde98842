"""The stack's configuration, read once.

Every key is declared in Pulumi.yaml (type, default, description); inferstack.stackconfig types and checks
them, so a wrong value stops `pulumi up` before any resource is created, naming the key. Secrets stay
Pulumi secrets: the checked StackConfig only learns whether they are set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config, get_config_env

from inferstack import stackconfig
from inferstack.stackconfig import PROJECT, StackConfig


@dataclass(frozen=True)
class Config:
    stack: StackConfig
    # Secret values as secret Outputs; None where the stack leaves them unset (then generated).
    kubeconfig: pulumi.Output[str] | None
    grafana_admin_password: pulumi.Output[str] | None
    mlflow_db_password: pulumi.Output[str] | None


def raw_values() -> dict[str, Any]:
    """Every `inferstack:*` value `pulumi config` holds, declared or not: a misspelt key is refused by name
    instead of silently leaving the default in place. Unset keys are left to the schema's default."""
    keys = {k for k in {**get_config_env(), **CONFIG.get()} if k.startswith(f"{PROJECT}:")}
    keys |= {f"{PROJECT}:{k}" for k in stackconfig.schema()}
    raw: dict[str, Any] = {}
    for full_key in sorted(keys):
        value = get_config(full_key)
        if value is not None:
            raw[full_key.split(":", 1)[1]] = value
    return raw


def read() -> Config:
    raw = raw_values()
    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    stack = stackconfig.parse(raw, source=source, aws_region=get_config("aws:region") or "")
    secrets = {
        key: pulumi.Output.secret(raw[key]) if raw.get(key) else None
        for key, spec in stackconfig.schema().items()
        if spec.get("secret")
    }
    return Config(
        stack=stack,
        kubeconfig=secrets["kubeconfig"],
        grafana_admin_password=secrets["grafanaAdminPassword"],
        mlflow_db_password=secrets["mlflowDbPassword"],
    )
