"""MLflow tracking server: Deployment, Service, its database and artifact store.

AWS: PostgreSQL on RDS (the substrate creates it) and artifacts in a private S3 bucket through IRSA.
On-prem: PostgreSQL as a one-replica StatefulSet and artifacts, both on the model store volume.
The database password comes from a Secret the platform creates from stack config (generated when unset);
nothing secret is written here.
"""

from __future__ import annotations

from typing import Any

from inferstack import versions
from inferstack.k8s.common import container_security, labels, meta, pod_security, selector
from inferstack.k8s.common import service_account as common_service_account
from inferstack.k8s.spec import APP_UID, PlatformSpec, S3Store, VolumeStore

NAME = "mlflow"
PORT = 5000
POSTGRES = "mlflow-postgres"
POSTGRES_UID = 999  # the postgres user of the official image
ARTIFACTS_MOUNT = "/mlflow-artifacts"
CLIENT_LABEL = "inferstack.io/mlflow-client"


def image(dotted: str) -> str:
    """Images in the lock may name other lock keys in braces: {python.mlflow}."""
    import re

    template = versions.get(dotted)
    return re.sub(r"\{([a-z0-9_.-]+)\}", lambda m: str(versions.get(m.group(1))), template)


def db_host(spec: PlatformSpec) -> Any:
    return spec.database.host or f"{POSTGRES}.{spec.namespace}.svc"


def service_account(spec: PlatformSpec) -> dict[str, Any]:
    role = spec.store.mlflow_role_arn if isinstance(spec.store, S3Store) else None
    return common_service_account(NAME, spec.namespace, "tracking", role)


def deployment(spec: PlatformSpec) -> dict[str, Any]:
    db = spec.database
    env: list[dict[str, Any]] = [
        {
            "name": "DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": db.password_secret, "key": "password"}},
        },
        {"name": "DB_HOST", "value": db_host(spec)},
        # Kubernetes expands $(VAR) from variables defined above; the password never appears in the spec.
        {
            "name": "MLFLOW_BACKEND_STORE_URI",
            "value": f"postgresql://{db.user}:$(DB_PASSWORD)@$(DB_HOST):{db.port}/{db.name}",
        },
        {"name": "MLFLOW_DISABLE_TELEMETRY", "value": "true"},
        {"name": "HOME", "value": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if isinstance(spec.store, S3Store):
        env += [
            {"name": "ARTIFACTS_DESTINATION", "value": spec.store.mlflow_artifacts},
            {"name": "AWS_REGION", "value": spec.store.region},
            {"name": "AWS_DEFAULT_REGION", "value": spec.store.region},
        ]
    else:
        env.append({"name": "ARTIFACTS_DESTINATION", "value": ARTIFACTS_MOUNT})
        volumes.append({"name": "store", "persistentVolumeClaim": {"claimName": spec.store.claim_name}})
        mounts.append({"name": "store", "mountPath": ARTIFACTS_MOUNT, "subPath": "mlflow-artifacts"})
    host = f"{NAME}.{spec.namespace}.svc"
    allowed = ",".join(
        [
            NAME,
            f"{NAME}:{PORT}",
            f"{NAME}.{spec.namespace}",
            host,
            f"{host}:{PORT}",
            f"{host}.cluster.local",
            f"{host}.cluster.local:{PORT}",
            "localhost:*",
            "127.0.0.1:*",
        ]
    )
    container = {
        "name": "mlflow",
        "image": image("platform.images.mlflow"),
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "mlflow",
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
            "--backend-store-uri",
            "$(MLFLOW_BACKEND_STORE_URI)",
            "--artifacts-destination",
            "$(ARTIFACTS_DESTINATION)",
            "--serve-artifacts",
            # Host-header check against DNS rebinding: the in-cluster names of the Service.
            "--allowed-hosts",
            allowed,
        ],
        "env": env,
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "startupProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 36,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 15,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    pod: dict[str, Any] = {
        "serviceAccountName": NAME,
        "automountServiceAccountToken": False,
        "securityContext": pod_security(APP_UID),
        "containers": [container],
        "volumes": volumes,
    }
    if isinstance(spec.store, VolumeStore) and spec.store.pin_node:
        pod["nodeSelector"] = {"kubernetes.io/hostname": spec.store.pin_node}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(NAME, spec.namespace, "tracking"),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector("tracking", NAME)},
            "template": {"metadata": {"labels": labels("tracking", NAME)}, "spec": pod},
        },
    }


def service(spec: PlatformSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(NAME, spec.namespace, "tracking"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector("tracking", NAME),
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def network_policy(spec: PlatformSpec) -> dict[str, Any]:
    """MLflow is reached from inside the cluster only: pods of its namespace (model builds, the engine-build
    job, load tests) and pods labelled as its clients elsewhere (`kubectl port-forward` still works)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(NAME, spec.namespace, "tracking"),
        "spec": {
            "podSelector": {"matchLabels": selector("tracking", NAME)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {}},
                        {"namespaceSelector": {}, "podSelector": {"matchLabels": {CLIENT_LABEL: "true"}}},
                    ],
                    "ports": [{"protocol": "TCP", "port": PORT}],
                }
            ],
        },
    }


def postgres_statefulset(spec: PlatformSpec) -> dict[str, Any]:
    assert isinstance(spec.store, VolumeStore)
    db = spec.database
    container = {
        "name": "postgres",
        "image": image("platform.images.postgres"),
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "POSTGRES_USER", "value": db.user},
            {"name": "POSTGRES_DB", "value": db.name},
            {
                "name": "POSTGRES_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": db.password_secret, "key": "password"}},
            },
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "ports": [{"name": "postgres", "containerPort": db.port, "protocol": "TCP"}],
        "readinessProbe": {
            "exec": {"command": ["pg_isready", "-U", db.user, "-d", db.name]},
            "periodSeconds": 10,
        },
        "livenessProbe": {
            "exec": {"command": ["pg_isready", "-U", db.user, "-d", db.name]},
            "periodSeconds": 30,
            "failureThreshold": 5,
        },
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "store", "mountPath": "/var/lib/postgresql/data", "subPath": "postgres"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": pod_security(POSTGRES_UID),
        "containers": [container],
        "volumes": [
            {"name": "store", "persistentVolumeClaim": {"claimName": spec.store.claim_name}},
            {"name": "run", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if spec.store.pin_node:
        pod["nodeSelector"] = {"kubernetes.io/hostname": spec.store.pin_node}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(POSTGRES, spec.namespace, "database"),
        "spec": {
            "serviceName": POSTGRES,
            "replicas": 1,
            "selector": {"matchLabels": selector("database", POSTGRES)},
            "template": {"metadata": {"labels": labels("database", POSTGRES)}, "spec": pod},
        },
    }


def postgres_service(spec: PlatformSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(POSTGRES, spec.namespace, "database"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector("database", POSTGRES),
            "ports": [
                {"name": "postgres", "port": spec.database.port, "targetPort": "postgres", "protocol": "TCP"}
            ],
        },
    }


def postgres_network_policy(spec: PlatformSpec) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(POSTGRES, spec.namespace, "database"),
        "spec": {
            "podSelector": {"matchLabels": selector("database", POSTGRES)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": selector("tracking", NAME)}}],
                    "ports": [{"protocol": "TCP", "port": spec.database.port}],
                }
            ],
        },
    }


def objects(spec: PlatformSpec) -> list[dict[str, Any]]:
    out = [service_account(spec), deployment(spec), service(spec), network_policy(spec)]
    if not spec.database.host:
        out += [postgres_statefulset(spec), postgres_service(spec), postgres_network_policy(spec)]
    return out
