"""A real Kubernetes control plane on 127.0.0.1 with kwok-simulated nodes: `inferstack cluster up|status|down`.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run as processes this module starts
and records in <state>/cluster/cluster.json (pid, start time, command, ports, log), the same way the local
stack does: `down` stops exactly those processes and nothing else. Certificates are made fresh per cluster
(pki.py); the admin kubeconfig is written to <state>/cluster/kubeconfig. Nodes come from a topology
(topology.py) and are created through the API server like any client would; kwok then keeps them Ready and
takes their pods to Running and Ready (and Job pods to Succeeded), so what the scheduler can place becomes
available and what it cannot stays Pending, with the scheduler's reason in the pod's conditions.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from inferstack.cluster import pki as pkimod
from inferstack.cluster import tools
from inferstack.cluster.topology import load as load_topology
from inferstack.errors import InferstackError, ServiceError
from inferstack.local import stack as procs
from inferstack.local.services import HOST, Service
from inferstack.paths import state_dir

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
DATA = ("etcd", "pki", "apiserver-certs", "kcm-certs", "scheduler-certs")  # removed by up (stale) and down
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def cluster_dir() -> Path:
    path = state_dir() / "cluster"
    path.mkdir(parents=True, exist_ok=True)
    return path


def kubeconfig_path() -> Path:
    return cluster_dir() / "kubeconfig"


def _state_file() -> Path:
    return cluster_dir() / "cluster.json"


def read_state() -> dict:
    path = _state_file()
    return json.loads(path.read_text()) if path.is_file() else {"components": {}}


def _write_state(state: dict) -> None:
    tmp = _state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(_state_file())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _kube_component(
    name: str, kubeconfig: str, port: int, cert_dir: Path, logs: Path, extra: list[str]
) -> Service:
    """kube-controller-manager or kube-scheduler: its own identity, a loopback port with a self-signed cert."""
    return Service(
        name=name,
        command=[
            tools.require(name),
            *(
                f"--{flag}={kubeconfig}"
                for flag in ("kubeconfig", "authentication-kubeconfig", "authorization-kubeconfig")
            ),
            f"--secure-port={port}",
            f"--bind-address={HOST}",
            "--leader-elect=false",
            f"--cert-dir={cert_dir}",
            *extra,
        ],
        health_url=f"https://{HOST}:{port}/healthz",
        urls={},
        ports=[port],
        log_dir=logs,
        health_ca="loopback-unverified",
    )


def _services(base: Path, ports: dict[str, int], pki: pkimod.Pki) -> dict[str, Service]:
    """How each component is started; every listener binds 127.0.0.1."""
    logs = base / "logs"
    etcd_url = f"http://{HOST}:{ports['etcd']}"
    api = f"https://{HOST}:{ports['apiserver']}"
    kc = {c: str(base / f"{c}.kubeconfig") for c in ("controller-manager", "scheduler", "kwok")}
    return {
        "etcd": Service(
            name="etcd",
            command=[
                tools.require("etcd"),
                "--name=sim",
                f"--data-dir={base / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://{HOST}:{ports['etcd_peer']}",
                f"--initial-advertise-peer-urls=http://{HOST}:{ports['etcd_peer']}",
                f"--initial-cluster=sim=http://{HOST}:{ports['etcd_peer']}",
                f"--listen-metrics-urls=http://{HOST}:{ports['etcd_metrics']}",
                "--unsafe-no-fsync",
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
            health_url=f"{etcd_url}/health",
            urls={"etcd": etcd_url},
            ports=[ports["etcd"], ports["etcd_peer"], ports["etcd_metrics"]],
            log_dir=logs,
            start_timeout_s=60,
        ),
        "kube-apiserver": Service(
            name="kube-apiserver",
            command=[
                tools.require("kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                f"--secure-port={ports['apiserver']}",
                f"--tls-cert-file={pki.cert('apiserver')}",
                f"--tls-private-key-file={pki.key('apiserver')}",
                f"--client-ca-file={pki.ca_cert}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # the kubernetes Service cannot point at a loopback address; nothing here needs its endpoints
                "--endpoint-reconciler-type=none",
                f"--cert-dir={base / 'apiserver-certs'}",
            ],
            health_url=f"{api}/readyz",
            urls={"apiserver": api},
            ports=[ports["apiserver"]],
            log_dir=logs,
            health_ca=str(pki.ca_cert),
            start_timeout_s=120,
        ),
        "kube-controller-manager": _kube_component(
            "kube-controller-manager",
            kc["controller-manager"],
            ports["controller_manager"],
            base / "kcm-certs",
            logs,
            [
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_cert}",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={pki.key('ca')}",
                "--use-service-account-credentials=true",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={POD_CIDR}",
                "--allocate-node-cidrs=false",
                "--controllers=*,bootstrapsigner,tokencleaner",
            ],
        ),
        "kube-scheduler": _kube_component(
            "kube-scheduler", kc["scheduler"], ports["scheduler"], base / "scheduler-certs", logs, []
        ),
        "kwok": Service(
            name="kwok",
            command=[
                tools.require("kwok"),
                f"--kubeconfig={kc['kwok']}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--cidr={POD_CIDR}",
                f"--node-ip={HOST}",
                f"--server-address={HOST}:{ports['kwok']}",
                "--node-lease-duration-seconds=40",
            ],
            health_url=f"http://{HOST}:{ports['kwok']}/healthz",
            urls={},
            ports=[ports["kwok"]],
            log_dir=logs,
        ),
    }


def kubectl(
    *args: str, check: bool = True, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    cmd = [tools.require("kubectl"), f"--kubeconfig={kubeconfig_path()}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
    if check and proc.returncode != 0:
        raise InferstackError(
            f"kubectl {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
        )
    return proc


def _create_nodes(topology_name: str, echo: Callable[[str], None]) -> list[str]:
    topology = load_topology(topology_name)
    nodes = topology.nodes()
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=inferstack-cluster",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}),
    )
    echo(f"nodes: {len(nodes)} from topology {topology.name} ({topology.description})")
    return [n["metadata"]["name"] for n in nodes]


def _wait_nodes_ready(names: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    not_ready = names
    while time.monotonic() < deadline:
        out = json.loads(kubectl("get", "nodes", "-o", "json").stdout)
        ready = {
            n["metadata"]["name"]
            for n in out["items"]
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions", [])
            )
        }
        not_ready = [n for n in names if n not in ready]
        if not not_ready:
            return
        time.sleep(0.5)
    raise ServiceError(f"nodes not Ready after {timeout:.0f} s: {', '.join(not_ready)}; see kwok's log")


def _wait_default_service_account(timeout: float = 60) -> None:
    """Pods can be created only once the controller-manager has made the namespace's default ServiceAccount."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kubectl("get", "serviceaccount", "default", "-n", "default", check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise ServiceError(f"no default ServiceAccount after {timeout:.0f} s; see kube-controller-manager's log")


def up(topology: str = "onprem", echo: Callable[[str], None] = print) -> dict:
    """Start the control plane and kwok, create the topology's nodes, wait until they are Ready."""
    state = read_state()
    if any(procs.alive(e) for e in state["components"].values()):
        raise InferstackError(
            f"a simulated cluster is already running (topology {state.get('topology')}); "
            "`inferstack cluster status` shows it, `inferstack cluster down` stops it"
        )
    for binary in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"):
        tools.require(binary)
    load_topology(topology)  # a bad topology fails before anything starts
    base = cluster_dir()
    for stale in DATA:
        shutil.rmtree(base / stale, ignore_errors=True)
    t0 = time.monotonic()
    pki = pkimod.generate(base / "pki")
    names = ("etcd", "etcd_peer", "etcd_metrics", "apiserver", "controller_manager", "scheduler", "kwok")
    ports = {name: free_port() for name in names}
    server = f"https://{HOST}:{ports['apiserver']}"
    pkimod.kubeconfig(pki, "admin", server, kubeconfig_path())
    for component in ("controller-manager", "scheduler", "kwok"):
        pkimod.kubeconfig(pki, component, server, base / f"{component}.kubeconfig")
    state = {
        "topology": topology,
        "server": server,
        "kubeconfig": str(kubeconfig_path()),
        "ports": ports,
        "components": {},
    }
    services = _services(base, ports, pki)
    try:
        for name in ORDER:
            echo(f"{name}: starting (log {services[name].log})")
            state["components"][name] = {**procs.start(services[name]), "health_ca": services[name].health_ca}
            _write_state(state)
            echo(f"{name}: ready in {state['components'][name]['ready_s']} s")
        nodes = _create_nodes(topology, echo)
        _wait_nodes_ready(nodes)
        _wait_default_service_account()
    except BaseException:
        echo("start-up failed: stopping what was started")
        down(echo=echo)
        raise
    state["ready_s"] = round(time.monotonic() - t0, 1)
    state["nodes"] = nodes
    _write_state(state)
    echo(f"cluster ready in {state['ready_s']} s: {len(nodes)} nodes; KUBECONFIG={kubeconfig_path()}")
    return state


def status() -> dict:
    state = read_state()
    components = {}
    for name, entry in state["components"].items():
        running = procs.alive(entry)
        ok = running and procs.healthy(entry["health_url"], ca=entry.get("health_ca", ""))
        components[name] = {"pid": entry["pid"], "running": running, "healthy": ok, "log": entry["log"]}
    result = {
        "topology": state.get("topology"),
        "kubeconfig": state.get("kubeconfig"),
        "server": state.get("server"),
        "components": components,
        "nodes": [],
    }
    if components and all(c["healthy"] for c in components.values()):
        out = kubectl("get", "nodes", "-o", "json", check=False)
        if out.returncode == 0:
            for n in json.loads(out.stdout)["items"]:
                conds = {c["type"]: c["status"] for c in n.get("status", {}).get("conditions", [])}
                result["nodes"].append(
                    {
                        "name": n["metadata"]["name"],
                        "ready": conds.get("Ready") == "True",
                        "allocatable": n["status"].get("allocatable", {}),
                        "taints": n.get("spec", {}).get("taints", []),
                    }
                )
    result["healthy"] = (
        bool(components)
        and all(c["healthy"] for c in components.values())
        and bool(result["nodes"])
        and all(n["ready"] for n in result["nodes"])
    )
    return result


def down(echo: Callable[[str], None] = print) -> list[str]:
    """Stop exactly the processes `up` recorded, in reverse order; remove the cluster's data and keys."""
    state = read_state()
    stopped = []
    for name in reversed(ORDER):
        entry = state["components"].get(name)
        if entry and procs.alive(entry):
            procs.terminate(entry["pid"])
            stopped.append(name)
            echo(f"{name}: stopped (pid {entry['pid']})")
    base = cluster_dir()
    for stale in DATA:
        shutil.rmtree(base / stale, ignore_errors=True)
    for f in [kubeconfig_path(), *base.glob("*.kubeconfig"), _state_file()]:
        f.unlink(missing_ok=True)
    return stopped
