"""inferstack's Pulumi program: read the typed config, build the substrate, put the platform layer on it."""

import sys
from pathlib import Path

# Pulumi runs this file as a script: make the project root importable (`stacks`, `inferstack`).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402

from stacks import config  # noqa: E402
from stacks.platform import Platform, PlatformArgs  # noqa: E402

cfg = config.read()

if cfg.stack.substrate == "aws":
    from stacks import cloud

    aws = cloud.build(cfg)
    platform = Platform(
        "inferstack",
        PlatformArgs(
            provider=aws.provider,
            config=cfg.stack,
            store=aws.store,
            database=aws.database,
            grafana_admin_password=cfg.grafana_admin_password,
            mlflow_db_password=aws.db_password,
            depends_on=aws.ready,
        ),
    )
    pulumi.export("clusterName", aws.cluster_name)
    pulumi.export("kubeconfig", aws.kubeconfig)
    pulumi.export("modelBucket", aws.model_bucket)
    pulumi.export("artifactBucket", aws.artifact_bucket)
else:
    from stacks import onprem

    lab = onprem.build(cfg)
    platform = Platform(
        "inferstack",
        PlatformArgs(
            provider=lab.provider,
            config=cfg.stack,
            store=lab.store,
            database=lab.database,
            grafana_admin_password=cfg.grafana_admin_password,
            mlflow_db_password=cfg.mlflow_db_password,
            depends_on=lab.ready,
            existing_namespaces=(cfg.stack.namespace,),
        ),
    )
    pulumi.export("modelStoreClaim", lab.store.claim_name)

pulumi.export("tritonEndpoint", platform.triton_endpoint)
pulumi.export("grafanaAdminPassword", platform.grafana_admin_password)
