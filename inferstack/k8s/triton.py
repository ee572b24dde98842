"""Triton on Kubernetes: Deployment, Services, ServiceMonitor, PodDisruptionBudget, NetworkPolicy, HPA.

One model name and one I/O signature on every target: the Deployment serves the model repository the
substrate provides (S3 through IRSA on AWS, a volume on-prem) with the image built from images/triton.
"""

from __future__ import annotations

from typing import Any

from inferstack import versions
from inferstack.k8s import adapter
from inferstack.k8s.common import (
    container_security,
    gpu_resources,
    gpu_scheduling,
    labels,
    meta,
    pod_security,
    selector,
)
from inferstack.k8s.common import service_account as common_service_account
from inferstack.k8s.spec import APP_UID, MONITORING_NS, PlatformSpec, S3Store

NAME = "triton"
HTTP, GRPC, METRICS = 8000, 8001, 8002
CLIENT_LABEL = "inferstack.io/triton-client"
METRICS_JOB = f"{NAME}-metrics"  # the metrics Service's name, hence the Prometheus job label
MODEL_MOUNT = "/models"

# Startup budget: a cold GPU node pulls the Triton image (~10 GB), then Triton copies the repository from
# S3 (or reads the volume) and deserializes the TensorRT engines onto the GPU. 60 tries x 10 s = 10 minutes
# before the kubelet gives up and restarts the pod; liveness and readiness only start after that.
STARTUP_PERIOD_S = 10
STARTUP_FAILURES = 60


def image(spec: PlatformSpec) -> str:
    return versions.project_image("triton", spec.registry)


def service_account(spec: PlatformSpec) -> dict[str, Any]:
    role = spec.store.triton_role_arn if isinstance(spec.store, S3Store) else None
    return common_service_account(NAME, spec.namespace, "inference", role)


def _store_env_and_volumes(spec: PlatformSpec) -> tuple[list[dict], list[dict], list[dict]]:
    env: list[dict] = []
    volumes: list[dict] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        # The python backend (tokenizer) exchanges tensors through shared memory.
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
    ]
    mounts: list[dict] = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "dshm", "mountPath": "/dev/shm"}]
    if isinstance(spec.store, S3Store):
        env += [
            {"name": "MODEL_REPOSITORY", "value": spec.store.model_repository},
            {"name": "AWS_REGION", "value": spec.store.region},
            {"name": "AWS_DEFAULT_REGION", "value": spec.store.region},
        ]
    else:
        env.append({"name": "MODEL_REPOSITORY", "value": f"{MODEL_MOUNT}/repository"})
        volumes.append(
            {
                "name": "models",
                "persistentVolumeClaim": {"claimName": spec.store.claim_name, "readOnly": True},
            }
        )
        mounts.append({"name": "models", "mountPath": MODEL_MOUNT, "readOnly": True})
    return env, volumes, mounts


def deployment(spec: PlatformSpec) -> dict[str, Any]:
    env, volumes, mounts = _store_env_and_volumes(spec)
    pin_node = getattr(spec.store, "pin_node", "")
    container = {
        "name": "tritonserver",
        "image": image(spec),
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "tritonserver",
            # Kubernetes expands $(MODEL_REPOSITORY) from env: the value may come from the substrate (S3 URL).
            "--model-repository=$(MODEL_REPOSITORY)",
            "--model-control-mode=none",
            "--strict-readiness=true",
            "--exit-on-error=true",
            f"--http-port={HTTP}",
            f"--grpc-port={GRPC}",
            f"--metrics-port={METRICS}",
            # Triton's request-duration metrics are counters; its histograms cover only decoupled models'
            # first response. Summaries give the latency quantiles the dashboards and latency alerts read.
            "--metrics-config=summary_latencies=true",
            "--metrics-config=summary_quantiles=0.5:0.05,0.9:0.01,0.95:0.005,0.99:0.001",
        ],
        "env": env,
        "ports": [
            {"name": "http", "containerPort": HTTP, "protocol": "TCP"},
            {"name": "grpc", "containerPort": GRPC, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS, "protocol": "TCP"},
        ],
        "startupProbe": {
            # Budget: STARTUP_FAILURES x STARTUP_PERIOD_S = 10 minutes (image pull excluded; see above).
            "httpGet": {"path": "/v2/health/ready", "port": "http"},
            "periodSeconds": STARTUP_PERIOD_S,
            "failureThreshold": STARTUP_FAILURES,
            "timeoutSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
            "timeoutSeconds": 5,
        },
        "readinessProbe": {
            "httpGet": {"path": "/v2/health/ready", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 3,
            "timeoutSeconds": 5,
        },
        "resources": gpu_resources(
            spec.gpus_per_replica, cpu=str(2 * spec.gpus_per_replica), memory=f"{8 * spec.gpus_per_replica}Gi"
        ),
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    pod_labels = labels("inference", NAME)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(NAME, spec.namespace, "inference"),
        "spec": {
            "replicas": spec.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector("inference", NAME)},
            # One GPU per replica and no spare GPU assumed: replace pods one at a time instead of surging.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(APP_UID),
                    "terminationGracePeriodSeconds": 30,
                    **gpu_scheduling(spec.gpu_product, pin_node),
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector("inference", NAME)},
                        }
                    ],
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def service(spec: PlatformSpec) -> dict[str, Any]:
    """Client endpoint (HTTP, gRPC). Metrics stay on an in-cluster Service of their own."""
    ports = [
        {"name": "http", "port": HTTP, "targetPort": "http", "protocol": "TCP"},
        {"name": "grpc", "port": GRPC, "targetPort": "grpc", "protocol": "TCP"},
    ]
    annotations: dict[str, str] = {}
    body: dict[str, Any] = {"selector": selector("inference", NAME), "ports": ports}
    if spec.exposure == "nodeport":
        body["type"] = "NodePort"
        ports[0]["nodePort"] = spec.node_port
        ports[1]["nodePort"] = spec.node_port + 1
    else:
        body["type"] = "LoadBalancer"
        if spec.env == "aws":
            annotations["service.beta.kubernetes.io/aws-load-balancer-type"] = "nlb"
            if not spec.client_cidrs:
                # Nobody outside was allowed in: keep the load balancer inside the VPC.
                annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] = "true"
        if spec.client_cidrs:
            body["loadBalancerSourceRanges"] = list(spec.client_cidrs)
    # Keep the client's address so the NetworkPolicy's ipBlock rules see who is calling.
    body["externalTrafficPolicy"] = "Local"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(NAME, spec.namespace, "inference", annotations=annotations),
        "spec": body,
    }


def metrics_service(spec: PlatformSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(METRICS_JOB, spec.namespace, "inference"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector("inference", NAME),
            "ports": [{"name": "metrics", "port": METRICS, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }


def service_monitor(spec: PlatformSpec) -> dict[str, Any]:
    svc = metrics_service(spec)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta(NAME, spec.namespace, "inference"),
        "spec": {
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/name": svc["metadata"]["name"],
                    "app.kubernetes.io/part-of": "inferstack",
                }
            },
            "namespaceSelector": {"matchNames": [spec.namespace]},
            # Series get job="<Service name>" (METRICS_JOB): alerts and dashboards match on it.
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}],
        },
    }


def pod_disruption_budget(spec: PlatformSpec) -> dict[str, Any]:
    # maxUnavailable rather than minAvailable: with one replica, minAvailable 1 would block every node drain.
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(NAME, spec.namespace, "inference"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector("inference", NAME)}},
    }


def network_policy(spec: PlatformSpec) -> dict[str, Any]:
    """Only clients (labelled pods, listed address ranges) reach HTTP/gRPC; only Prometheus reaches metrics."""
    clients: list[dict[str, Any]] = [
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {CLIENT_LABEL: "true"}}},
    ]
    clients += [{"ipBlock": {"cidr": cidr}} for cidr in spec.client_cidrs]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(NAME, spec.namespace, "inference"),
        "spec": {
            "podSelector": {"matchLabels": selector("inference", NAME)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": clients,
                    "ports": [{"protocol": "TCP", "port": HTTP}, {"protocol": "TCP", "port": GRPC}],
                },
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NS}
                            },
                            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": METRICS}],
                },
            ],
        },
    }


def hpa(spec: PlatformSpec) -> dict[str, Any]:
    """Scale on queue time per request: the signal that requests wait for a GPU, whatever the batch size."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(NAME, spec.namespace, "inference"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
            "minReplicas": spec.replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": adapter.QUEUE_METRIC},
                        "target": {"type": "AverageValue", "averageValue": str(spec.queue_time_target_us)},
                    },
                }
            ],
            "behavior": {
                # A new replica needs a GPU node and minutes to load engines: scale up promptly, down slowly.
                "scaleUp": {
                    "stabilizationWindowSeconds": 60,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": 600,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
                },
            },
        },
    }


def objects(spec: PlatformSpec) -> list[dict[str, Any]]:
    return [
        service_account(spec),
        deployment(spec),
        service(spec),
        metrics_service(spec),
        service_monitor(spec),
        pod_disruption_budget(spec),
        network_policy(spec),
        hpa(spec),
    ]
