"""Bring disposable Debian 12 hosts up and down: systemd-nspawn machines on a private bridge, real sshd.

Why nspawn: registries are out of reach here, but a Debian rootfs from the Debian archive (mmdebstrap) booted
with systemd as PID 1 behaves like a small server: apt, systemd units, sshd, net.* sysctls. Each host is an
overlay over one cached rootfs, so a host costs seconds and leaves nothing behind.

Everything this module creates is recorded in the state directory (pids, mounts, bridge, NAT rules, the
previous ip_forward value) and `down()` removes exactly that: it never touches processes it did not start.
Every machine runs under `timeout TTL`, so a forgotten host powers itself off.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from inferstack.errors import InferstackError
from inferstack.paths import cache_dir, project_root, state_dir
from inferstack.testbed import repo

SUITE = "bookworm"
MIRRORS = [
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
]
# What a minimal Debian server has, plus what Ansible needs (python3, python3-apt) and sshd.
INCLUDE = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "openssh-server",
    "iproute2",
    "ca-certificates",
    "procps",
    "kmod",
    "gpg",
]
# Downloaded (not installed) into the rootfs' apt cache so that three hosts do not fetch the same .debs:
# the roles still install them for real with apt.
PREFETCH = [
    "containerd",
    "runc",
    "chrony",
    "prometheus-node-exporter",
    "unattended-upgrades",
    "python3-debian",
]

# Host tools the test bed needs, and the Debian package that brings each.
TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "systemd-nspawn": "systemd-container",
    "iptables": "iptables",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "dpkg-deb": "dpkg",
    "dpkg-scanpackages": "dpkg-dev",
    "mountpoint": "util-linux",
}
REPO_PORT = 8731


@dataclass(frozen=True)
class TestbedSpec:
    """Where a test bed lives. The CLI and the tests use different names, bridges and subnets, so a test
    run never disturbs a test bed someone brought up by hand."""

    name: str = "default"
    bridge: str = "brinfer0"
    subnet: str = "10.77.0"  # /24; .1 is the bridge, hosts are .11, .12, ...
    machine_prefix: str = "isd-"  # nspawn machine names must be unique on the machine (veth names)
    ttl_s: int = 3 * 3600

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    @property
    def cidr(self) -> str:
        return f"{self.subnet}.0/24"


@dataclass
class Host:
    name: str
    address: str
    groups: list[str] = field(default_factory=list)


def host_names(count: int) -> list[tuple[str, list[str]]]:
    """The first host is the control plane; every other one is a GPU worker (without a GPU, here)."""
    if count < 1:
        raise InferstackError("a test bed needs at least one host (the control plane)")
    hosts = [("cp1", ["k8s_control_plane"])]
    hosts += [(f"w{i}", ["gpu_workers"]) for i in range(1, count)]
    return hosts


def _run(cmd: list[str], check: bool = True, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, timeout=timeout, text=True, capture_output=True, **kw)


def _log(msg: str) -> None:
    print(f"[testbed] {msg}", file=sys.stderr, flush=True)


def ensure_tools() -> None:
    """Install the host tools from Debian when running as root; otherwise say what is missing."""
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise InferstackError(
            f"the test bed needs these Debian packages: {' '.join(missing)}\n"
            f"  fix: run as root (they are installed automatically) or `apt-get install {' '.join(missing)}`"
        )
    _log(f"installing {' '.join(missing)} from Debian")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=300, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, timeout=600, env=env)


def _rootfs_key() -> str:
    data = json.dumps([SUITE, MIRRORS, INCLUDE, PREFETCH], sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()[:12]


def rootfs_dir() -> Path:
    return cache_dir() / "testbed" / f"rootfs-{SUITE}-{_rootfs_key()}"


def build_rootfs() -> Path:
    """Build (once) and cache the Debian rootfs every host overlays. 1-2 minutes cold, 0 s warm."""
    target = rootfs_dir()
    if (target / ".complete").exists():
        return target
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    _log(f"building the Debian {SUITE} rootfs with mmdebstrap into {target} (once; cached)")
    t0 = time.monotonic()
    prefetch = " ".join(PREFETCH)
    cmd = [
        "mmdebstrap",
        "--variant=minbase",
        "--mode=root",
        "--skip=cleanup/apt/lists",
        "--skip=cleanup/apt/cache",
        f"--include={','.join(INCLUDE)}",
        # Fill the apt cache only: the roles install these for real.
        f'--customize-hook=chroot "$1" apt-get install -y -qq --download-only {prefetch}',
        SUITE,
        str(tmp),
        *MIRRORS,
    ]
    proc = subprocess.run(cmd, text=True, capture_output=True, timeout=900)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InferstackError(f"mmdebstrap failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    (tmp / ".complete").write_text(f"built in {time.monotonic() - t0:.0f}s\n")
    tmp.rename(target)
    _log(f"rootfs ready in {time.monotonic() - t0:.0f}s")
    return target


class Testbed:
    """One test bed: its bridge, NAT rules, local package source and hosts, all recorded in `state.json`."""

    def __init__(self, spec: TestbedSpec | None = None, base: Path | None = None):
        self.spec = spec or TestbedSpec()
        self.base = base or state_dir() / "testbed" / self.spec.name
        self.state_file = self.base / "state.json"
        self.key = self.base / "id_ed25519"

    # ---- state -------------------------------------------------------------------------------------
    def _state(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {"hosts": {}, "nat_rules": [], "bridge": None, "repo_pid": None, "ip_forward_before": None}

    def _save(self, state: dict) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))

    def hosts(self) -> list[Host]:
        state = self._state()
        return [Host(n, h["address"], h["groups"]) for n, h in state["hosts"].items()]

    # ---- network -----------------------------------------------------------------------------------
    def _nat_rules(self) -> list[list[str]]:
        tag = ["-m", "comment", "--comment", f"inferstack-testbed-{self.spec.name}"]
        c = self.spec.cidr
        return [
            ["-t", "nat", "POSTROUTING", "-s", c, "!", "-d", c, "-j", "MASQUERADE", *tag],
            ["-t", "filter", "FORWARD", "-s", c, "-j", "ACCEPT", *tag],
            ["-t", "filter", "FORWARD", "-d", c, "-j", "ACCEPT", *tag],
        ]

    @staticmethod
    def _iptables(action: str, rule: list[str]) -> subprocess.CompletedProcess:
        table, chain, spec = rule[:2], rule[2], rule[3:]
        return _run(["iptables", "-w", "5", *table, action, chain, *spec], check=False)

    def _network_up(self, state: dict) -> None:
        br, gw = self.spec.bridge, self.spec.gateway
        if _run(["ip", "link", "show", br], check=False).returncode != 0:
            _run(["ip", "link", "add", br, "type", "bridge"])
            state["bridge"] = br
            self._save(state)
            _run(["ip", "addr", "add", f"{gw}/24", "dev", br])
        elif state.get("bridge") != br:
            raise InferstackError(
                f"a network interface named {br} exists and this test bed did not create it\n"
                f"  fix: remove it (`ip link del {br}`) or give the test bed another bridge name"
            )
        _run(["ip", "link", "set", br, "up"])
        fwd = Path("/proc/sys/net/ipv4/ip_forward")
        if state.get("ip_forward_before") is None:
            state["ip_forward_before"] = fwd.read_text().strip()
        fwd.write_text("1\n")
        for rule in self._nat_rules():
            if self._iptables("-C", rule).returncode != 0:
                self._iptables("-I" if rule[2] == "FORWARD" else "-A", rule).check_returncode()
                state["nat_rules"].append(rule)
        self._save(state)

    def _network_down(self, state: dict) -> None:
        for rule in state.get("nat_rules", []):
            while self._iptables("-C", rule).returncode == 0:
                self._iptables("-D", rule)
        state["nat_rules"] = []
        if state.get("bridge"):
            _run(["ip", "link", "del", state["bridge"]], check=False)
            state["bridge"] = None
        before = state.get("ip_forward_before")
        others_up = self.base.parent.is_dir() and any(
            p.name != self.spec.name and (p / "state.json").exists() for p in self.base.parent.iterdir()
        )
        if before is not None and not others_up:
            Path("/proc/sys/net/ipv4/ip_forward").write_text(before + "\n")
        state["ip_forward_before"] = None

    # ---- processes ---------------------------------------------------------------------------------
    @staticmethod
    def _alive(pid: int | None, marker: str) -> bool:
        """True when `pid` is still the process we started (its command line names our directory)."""
        if not pid:
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return marker in cmdline

    def _stop(self, pid: int | None, marker: str, grace_s: float = 20) -> None:
        if not self._alive(pid, marker):
            return
        os.kill(pid, signal.SIGTERM)  # timeout forwards it: nspawn powers the machine off
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and self._alive(pid, marker):
            time.sleep(0.2)
        if self._alive(pid, marker):
            os.killpg(pid, signal.SIGKILL)  # its own session (start_new_session): only what we started

    # ---- hosts -------------------------------------------------------------------------------------
    def _prepare_host(self, lower: Path, hdir: Path, name: str, address: str) -> Path:
        merged = hdir / "merged"
        for d in ("upper", "work", "merged"):
            (hdir / d).mkdir(parents=True, exist_ok=True)
        if _run(["mountpoint", "-q", str(merged)], check=False).returncode != 0:
            _run(
                [
                    "mount",
                    "-t",
                    "overlay",
                    "overlay",
                    "-o",
                    f"lowerdir={lower},upperdir={hdir / 'upper'},workdir={hdir / 'work'}",
                    str(merged),
                ]
            )
        for key in (merged / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        _run(["chroot", str(merged), "ssh-keygen", "-A"])
        ssh_dir = merged / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        auth = ssh_dir / "authorized_keys"
        auth.write_text(self.key.with_suffix(".pub").read_text())
        auth.chmod(0o600)
        (merged / "etc/hostname").write_text(f"{name}\n")
        (merged / "etc/hosts").write_text(f"127.0.0.1 localhost\n{address} {name}\n")
        (merged / "etc/machine-id").write_text("")
        net = merged / "etc/systemd/network"
        net.mkdir(parents=True, exist_ok=True)
        (net / "10-host0.network").write_text(
            f"[Match]\nName=host0\n[Network]\nAddress={address}/24\nGateway={self.spec.gateway}\n"
        )
        wants = merged / "etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
        if not wants.is_symlink():
            wants.symlink_to("/lib/systemd/system/systemd-networkd.service")
        return merged

    def _boot(self, hdir: Path, merged: Path, name: str) -> int:
        machine = f"{self.spec.machine_prefix}{name}"
        log = open(hdir / "nspawn.log", "w")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [
                "timeout",
                str(self.spec.ttl_s),
                "systemd-nspawn",
                "-D",
                str(merged),
                "--boot",
                "--register=no",
                "--keep-unit",
                f"--machine={machine}",
                f"--hostname={name}",
                f"--network-bridge={self.spec.bridge}",
                "--console=passive",
                "--resolv-conf=copy-host",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return proc.pid

    def _wait_ssh(self, host: Host, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host.address, 22), timeout=1):
                    pass
                if self.ssh(host, "true", check=False, timeout=10).returncode == 0:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        log = (self.base / host.name / "nspawn.log").read_text(errors="replace")[-2000:]
        raise InferstackError(f"test host {host.name} ({host.address}) did not answer SSH in time:\n{log}")

    def ssh_args(self) -> list[str]:
        return [
            "-i",
            str(self.key),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
        ]

    def ssh(
        self, host: Host, command: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        return _run(["ssh", *self.ssh_args(), f"root@{host.address}", command], check=check, timeout=timeout)

    def up(self, count: int = 3) -> list[Host]:
        """Bring `count` hosts up (idempotent: running hosts are kept) and return them once SSH answers."""
        if os.geteuid() != 0:
            raise InferstackError(
                "the test bed needs root (overlay mounts, a bridge, NAT, systemd-nspawn)\n"
                "  fix: run it as root"
            )
        wanted = host_names(count)
        ensure_tools()
        lower = build_rootfs()
        self.base.mkdir(parents=True, exist_ok=True)
        if not self.key.exists():
            _run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-f",
                    str(self.key),
                    "-C",
                    "inferstack-testbed",
                ]
            )
        state = self._state()
        self._network_up(state)
        repo_dir = repo.build(self.base / "repo")
        if not self._alive(state.get("repo_pid"), str(repo_dir)):
            state["repo_pid"] = repo.serve(
                repo_dir, self.spec.gateway, REPO_PORT, self.spec.ttl_s, self.base / "repo.log"
            )
            self._save(state)
        t0 = time.monotonic()
        hosts = []
        for i, (name, groups) in enumerate(wanted, start=1):
            host = Host(name, f"{self.spec.subnet}.{10 + i}", groups)
            hdir = self.base / name
            entry = state["hosts"].get(name, {})
            if not self._alive(entry.get("pid"), str(hdir)):
                merged = self._prepare_host(lower, hdir, name, host.address)
                entry = {
                    "address": host.address,
                    "groups": groups,
                    "pid": self._boot(hdir, merged, name),
                    "mount": str(merged),
                }
                state["hosts"][name] = entry
                self._save(state)
            hosts.append(host)
        for host in hosts:
            self._wait_ssh(host, time.monotonic() + 90)
        _log(f"{len(hosts)} host(s) answer SSH ({time.monotonic() - t0:.1f}s)")
        self.write_inventory(hosts, self.inventory_path())
        return hosts

    def down(self) -> None:
        """Power every host off, unmount, remove the bridge and NAT rules, stop the package source."""
        state = self._state()
        for name, entry in list(state["hosts"].items()):
            hdir = self.base / name
            self._stop(entry.get("pid"), str(hdir))
            merged = entry.get("mount")
            mounted = merged and _run(["mountpoint", "-q", merged], check=False).returncode == 0
            if mounted and _run(["umount", merged], check=False).returncode != 0:
                _run(["umount", "-l", merged], check=False)
            shutil.rmtree(hdir, ignore_errors=True)
            del state["hosts"][name]
            self._save(state)
        self._stop(state.get("repo_pid"), str(self.base / "repo"), grace_s=5)
        state["repo_pid"] = None
        self._network_down(state)
        self.state_file.unlink(missing_ok=True)
        inv = self.inventory_path()
        if self.spec.name == "default" and inv.exists():
            inv.unlink()

    # ---- inventory ---------------------------------------------------------------------------------
    def inventory_path(self) -> Path:
        if self.spec.name == "default":
            return project_root() / "ansible" / "inventory" / "testbed" / "hosts.yml"
        return self.base / "inventory" / "hosts.yml"

    def write_inventory(self, hosts: list[Host], path: Path) -> Path:
        """hosts.yml for these hosts. Outside ansible/inventory/testbed/ the committed group_vars are
        linked beside it, so every copy of the inventory gets the same group variables."""
        groups: dict[str, dict] = {}
        for h in hosts:
            for g in h.groups:
                groups.setdefault(g, {"hosts": {}})["hosts"][h.name] = None
        groups.setdefault("gpu_workers", {"hosts": {}})
        inventory = {
            "all": {
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(self.key),
                    "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                    "testbed_package_source": f"http://{self.spec.gateway}:{REPO_PORT}",
                },
                "hosts": {h.name: {"ansible_host": h.address} for h in hosts},
                "children": groups,
            }
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        header = (
            f"# Written by `inferstack testbed up` for the test bed '{self.spec.name}'; not committed.\n"
            "# Group variables: ansible/inventory/testbed/group_vars/ (committed).\n---\n"
        )
        path.write_text(header + yaml.safe_dump(inventory, sort_keys=False))
        committed = project_root() / "ansible" / "inventory" / "testbed" / "group_vars"
        link = path.parent / "group_vars"
        if path.parent != committed.parent and not link.exists():
            link.symlink_to(committed)
        return path
