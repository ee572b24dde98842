"""On-prem substrate: the kubeadm cluster the Ansible roles built.

Takes its kubeconfig (secret config), optionally runs the playbook first (pulumi-command), creates the
model store volume (NFS or one node's disk) and, for LoadBalancer exposure, MetalLB with an address pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from inferstack.k8s import platform as plan_builder
from inferstack.k8s import storage
from inferstack.k8s.common import namespace
from inferstack.k8s.spec import Database, VolumeStore
from inferstack.paths import project_root
from stacks import k8sapply
from stacks.config import Config


@dataclass
class OnpremSubstrate:
    provider: k8s.Provider
    store: VolumeStore
    database: Database
    ready: list[pulumi.Resource] = field(default_factory=list)


def build(cfg: Config, prefix: str = "inferstack") -> OnpremSubstrate:
    c = cfg.stack
    if cfg.kubeconfig is None:  # stackconfig refuses this already; keep the provider from ever defaulting
        raise ValueError("inferstack:kubeconfig is required on-prem")
    provider_deps: list[pulumi.Resource] = []
    if c.run_playbook:
        import pulumi_command as command

        root = project_root()
        playbook = command.local.Command(
            f"{prefix}-ansible",
            create=f"ansible-playbook -i {c.ansible_inventory} {c.ansible_playbook}",
            dir=str(root),
            # Re-run when the playbook, the inventory or the version lock change.
            triggers=[
                _digest(root / c.ansible_playbook),
                _digest(root / c.ansible_inventory),
                _digest(root / "versions.yaml"),
            ],
        )
        provider_deps.append(playbook)
    provider = k8s.Provider(
        f"{prefix}-onprem",
        kubeconfig=cfg.kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=provider_deps),
    )
    opts = pulumi.ResourceOptions(provider=provider)

    app_ns = k8sapply.apply(prefix, namespace(c.namespace, "restricted"), opts)
    after_ns = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[app_ns]))
    sc = k8sapply.apply(prefix, storage.storage_class(), opts)
    pv = k8sapply.apply(
        prefix,
        storage.persistent_volume(c),
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[sc])),
    )
    pvc = k8sapply.apply(
        prefix,
        storage.persistent_volume_claim(c),
        pulumi.ResourceOptions.merge(after_ns, pulumi.ResourceOptions(depends_on=[app_ns, pv])),
    )
    ready: list[pulumi.Resource] = [pvc]
    if c.exposure == "loadbalancer":
        lb_ns = k8sapply.apply(prefix, namespace(storage.METALLB_NS, "privileged"), opts)
        chart = plan_builder.Chart("metallb", "metallb", storage.METALLB_NS, storage.metallb_values())
        release = k8sapply.helm_release(
            f"{prefix}-metallb",
            chart,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[lb_ns])),
        )
        for obj in storage.metallb_pool(c):
            ready.append(
                k8sapply.apply(
                    prefix,
                    obj,
                    pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[release])),
                )
            )
    return OnpremSubstrate(
        provider=provider, store=plan_builder.volume_store(c), database=Database(), ready=ready
    )


def _digest(path) -> str:
    import hashlib
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        data = b"".join(f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file())
    else:
        data = p.read_bytes() if p.exists() else b""
    return hashlib.sha256(data).hexdigest()
