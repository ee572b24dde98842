"""The TensorRT engine build, as a Job template.

A TensorRT engine is valid for one GPU product and one TensorRT version, so it is built on a node of the
product Triton serves on, with the image from images/trt-builder (TensorRT from the same NGC release as
the Triton image). The template is a suspended CronJob: Kubernetes validates and keeps it, nothing runs
until someone asks for a build:

    kubectl -n inferstack create job --from=cronjob/trt-build trt-build-$(date +%s)

The builder reads the ONNX model from the model store and writes the plan and its metadata (TensorRT
version, GPU, compute capability, precision, ONNX hash) back into the model repository.
"""

from __future__ import annotations

from typing import Any

from inferstack import versions
from inferstack.k8s.common import (
    container_security,
    gpu_resources,
    gpu_scheduling,
    labels,
    meta,
    pod_security,
)
from inferstack.k8s.common import service_account as common_service_account
from inferstack.k8s.spec import APP_UID, PlatformSpec, S3Store

NAME = "trt-build"
STORE_MOUNT = "/models"


def service_account(spec: PlatformSpec) -> dict[str, Any]:
    role = spec.store.builder_role_arn if isinstance(spec.store, S3Store) else None
    return common_service_account(NAME, spec.namespace, "engine-build", role)


def cronjob(spec: PlatformSpec) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": "MODEL_NAME", "value": spec.model.name},
        {"name": "MAX_BATCH_SIZE", "value": str(spec.model.serving.max_batch_size)},
        {"name": "MAX_SEQUENCE_LENGTH", "value": str(spec.model.max_sequence_length)},
        {"name": "EXPECTED_TENSORRT_VERSION", "value": str(versions.get("ngc.tensorrt"))},
        {"name": "EXPECTED_GPU_PRODUCT", "value": spec.gpu_product},
        {"name": "HOME", "value": "/tmp"},
    ]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "20Gi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if isinstance(spec.store, S3Store):
        env += [
            {"name": "MODEL_STORE", "value": spec.store.model_repository},
            {"name": "AWS_REGION", "value": spec.store.region},
            {"name": "AWS_DEFAULT_REGION", "value": spec.store.region},
        ]
    else:
        env.append({"name": "MODEL_STORE", "value": f"{STORE_MOUNT}/repository"})
        volumes.append({"name": "models", "persistentVolumeClaim": {"claimName": spec.store.claim_name}})
        mounts.append({"name": "models", "mountPath": STORE_MOUNT})
    pod_labels = labels("engine-build", NAME)
    container = {
        "name": "trt-builder",
        "image": versions.project_image("trt-builder", spec.registry),
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "resources": gpu_resources(1, cpu="4", memory="12Gi"),
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    job_spec = {
        "backoffLimit": 1,
        "activeDeadlineSeconds": 3600,
        "ttlSecondsAfterFinished": 86400,
        "template": {
            "metadata": {"labels": pod_labels},
            "spec": {
                "restartPolicy": "Never",
                "serviceAccountName": NAME,
                "automountServiceAccountToken": False,
                "securityContext": pod_security(APP_UID),
                **gpu_scheduling(spec.gpu_product, getattr(spec.store, "pin_node", "")),
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta(NAME, spec.namespace, "engine-build"),
        "spec": {
            # Never scheduled: a template for `kubectl create job --from=cronjob/trt-build`.
            "schedule": "0 0 31 2 *",
            "suspend": True,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"metadata": {"labels": pod_labels}, "spec": job_spec},
        },
    }


def objects(spec: PlatformSpec) -> list[dict[str, Any]]:
    return [service_account(spec), cronjob(spec)]
