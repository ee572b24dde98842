"""On-prem storage and exposure: the model store volume (NFS or one node's disk) and MetalLB's pool.

The volume holds the Triton model repository (repository/), MLflow's artifacts (mlflow-artifacts/) and
its database (postgres/). NFS is ReadWriteMany, so pods may run on any node. A local path is one node's
disk (ReadWriteOnce): every pod using it is pinned to that node, which suits a single-server lab.
"""

from __future__ import annotations

from typing import Any

from inferstack.k8s.common import labels, meta
from inferstack.stackconfig import StackConfig

CLAIM = "model-store"
STORAGE_CLASS = "inferstack-model-store"
METALLB_NS = "metallb-system"


def storage_class() -> dict[str, Any]:
    # Statically provisioned: the PersistentVolume below is the only one of this class.
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "labels": labels("storage", STORAGE_CLASS)},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }


def persistent_volume(cfg: StackConfig) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "capacity": {"storage": cfg.storage_size},
        "storageClassName": STORAGE_CLASS,
        "persistentVolumeReclaimPolicy": "Retain",
    }
    if cfg.model_store == "nfs":
        spec["accessModes"] = ["ReadWriteMany"]
        spec["nfs"] = {"server": cfg.nfs_server, "path": cfg.nfs_path}
        spec["mountOptions"] = ["nfsvers=4.1", "hard"]
    else:
        spec["accessModes"] = ["ReadWriteOnce"]
        spec["local"] = {"path": cfg.local_path}
        spec["nodeAffinity"] = {
            "required": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/hostname",
                                "operator": "In",
                                "values": [cfg.local_path_node],
                            }
                        ]
                    }
                ]
            }
        }
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{STORAGE_CLASS}-{cfg.namespace}", "labels": labels("storage", CLAIM)},
        "spec": spec,
    }


def persistent_volume_claim(cfg: StackConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(CLAIM, cfg.namespace, "storage"),
        "spec": {
            "accessModes": ["ReadWriteMany" if cfg.model_store == "nfs" else "ReadWriteOnce"],
            "storageClassName": STORAGE_CLASS,
            "volumeName": f"{STORAGE_CLASS}-{cfg.namespace}",
            "resources": {"requests": {"storage": cfg.storage_size}},
        },
    }


def metallb_values() -> dict[str, Any]:
    """The chart's defaults (L2 mode needs nothing more); the pool below says which addresses to hand out."""
    return {}


def metallb_pool(cfg: StackConfig) -> list[dict[str, Any]]:
    """IPAddressPool + L2Advertisement (metallb.io/v1beta1 CRDs, installed by the MetalLB chart)."""
    return [
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": meta("inferstack", METALLB_NS, "exposure"),
            "spec": {"addresses": list(cfg.metallb_addresses)},
        },
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "L2Advertisement",
            "metadata": meta("inferstack", METALLB_NS, "exposure"),
            "spec": {"ipAddressPools": ["inferstack"]},
        },
    ]
