"""A signed local apt repository with test-bed stand-ins for what only unreachable repositories carry.

pkgs.k8s.io (kubeadm, kubelet, kubectl) and NVIDIA's repositories (nvidia-container-toolkit) cannot be reached
from these machines, so the roles' repository setup, key handling, version pinning and holds are exercised
against this source instead, exactly as a user's air-gapped mirror would be used. Each package carries the
name and version the lock pins and says plainly in its description and its binaries that it is a stand-in:
its commands print their version and otherwise refuse to do anything.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from email.utils import formatdate
from pathlib import Path

from inferstack import versions

STANDIN = "inferstack test-bed stand-in"


def _script(body: str) -> str:
    return "#!/bin/sh\n" + textwrap.dedent(body).lstrip()


def _refuse(tool: str) -> str:
    return f'echo "{tool}: {STANDIN}, not the real {tool}; it cannot run here" >&2; exit 1\n'


def packages() -> list[dict]:
    """Name, version, files of each stand-in, from versions.yaml."""
    k8s = versions.get("kubernetes.version")
    k8s_deb = f"{k8s}-{versions.get('nodes.kubernetes_packages.deb_revision')}"
    nct = versions.get("nodes.nvidia_container_toolkit")
    nct_upstream = nct.split("-")[0]
    kubelet_unit = textwrap.dedent(f"""\
        [Unit]
        Description=kubelet ({STANDIN}: exits at once, like a real kubelet before kubeadm init)
        [Service]
        ExecStart=/usr/bin/kubelet
        [Install]
        WantedBy=multi-user.target
        """)
    return [
        {
            "channel": "kubernetes",
            "name": "kubeadm",
            "version": k8s_deb,
            "files": {
                "usr/bin/kubeadm": _script(f"""
                [ "$1 $2 $3" = "version -o short" ] && {{ echo v{k8s}; exit 0; }}
                """)
                + _refuse("kubeadm")
            },
        },
        {
            "channel": "kubernetes",
            "name": "kubelet",
            "version": k8s_deb,
            "files": {
                "usr/bin/kubelet": _script(f"""
                [ "$1" = "--version" ] && {{ echo "Kubernetes v{k8s}"; exit 0; }}
                """)
                + _refuse("kubelet"),
                "lib/systemd/system/kubelet.service": kubelet_unit,
            },
        },
        {
            "channel": "kubernetes",
            "name": "kubectl",
            "version": k8s_deb,
            "files": {
                "usr/bin/kubectl": _script(f"""
                [ "$1 $2" = "version --client" ] && {{ echo "Client Version: v{k8s}"; exit 0; }}
                """)
                + _refuse("kubectl")
            },
        },
        {"channel": "nvidia-container-toolkit", "name": "libnvidia-container1", "version": nct, "files": {}},
        {
            "channel": "nvidia-container-toolkit",
            "name": "libnvidia-container-tools",
            "version": nct,
            "files": {"usr/bin/nvidia-container-cli": _script(_refuse("nvidia-container-cli"))},
        },
        {
            "channel": "nvidia-container-toolkit",
            "name": "nvidia-container-toolkit-base",
            "version": nct,
            "files": {
                "usr/bin/nvidia-ctk": _script(f"""
                [ "$1" = "--version" ] && {{ echo "NVIDIA Container Toolkit CLI version {nct_upstream}"; exit 0; }}
                """)
                + _refuse("nvidia-ctk"),
                "usr/bin/nvidia-container-runtime": _script(_refuse("nvidia-container-runtime")),
            },
        },
        {
            "channel": "nvidia-container-toolkit",
            "name": "nvidia-container-toolkit",
            "version": nct,
            "files": {
                "usr/bin/nvidia-container-runtime-hook": _script(_refuse("nvidia-container-runtime-hook"))
            },
        },
    ]


def _build_deb(pkg: dict, out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, content in pkg["files"].items():
            f = root / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(content)
            f.chmod(0o755 if rel.startswith("usr/bin/") else 0o644)
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN/control").write_text(
            textwrap.dedent(f"""\
            Package: {pkg["name"]}
            Version: {pkg["version"]}
            Architecture: all
            Maintainer: inferstack <inferstack@localhost>
            Section: misc
            Priority: optional
            Description: {STANDIN} for {pkg["name"]}
             Built by inferstack/testbed/repo.py so the Ansible roles can be run against a local package
             source. It contains none of the real software.
            """)
        )
        deb = out / f"{pkg['name']}_{pkg['version']}_all.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return deb


def _release(repo: Path) -> str:
    lines = [
        "Origin: inferstack-testbed",
        "Label: inferstack-testbed",
        "Suite: ./",
        "Codename: ./",
        f"Date: {formatdate(time.time(), usegmt=True)}",
        "SHA256:",
    ]
    for name in ("Packages", "Packages.gz"):
        data = (repo / name).read_bytes()
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}")
    return "\n".join(lines) + "\n"


def build(repo: Path) -> Path:
    """(Re)build <repo>/<channel>/ flat repositories (stand-in .debs, Packages, InRelease) and <repo>/key.asc."""
    stamp = repo / ".built-from"
    wanted = repr(packages())
    if stamp.exists() and stamp.read_text() == wanted and (repo / "key.asc").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    channels = sorted({pkg["channel"] for pkg in packages()})
    for channel in channels:  # one flat repository per upstream one, as apt needs distinct URIs
        sub = repo / channel
        sub.mkdir()
        for pkg in packages():
            if pkg["channel"] == channel:
                _build_deb(pkg, sub)
        scan = subprocess.run(
            ["dpkg-scanpackages", "--multiversion", "."], cwd=sub, check=True, capture_output=True, timeout=60
        )
        (sub / "Packages").write_bytes(scan.stdout)
        (sub / "Packages.gz").write_bytes(gzip.compress(scan.stdout, mtime=0))
        (sub / "Release").write_text(_release(sub))
    gnupg = repo.parent / "gnupg"
    shutil.rmtree(gnupg, ignore_errors=True)
    gnupg.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(gnupg))
    try:
        gpg = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
        subprocess.run(
            [
                *gpg,
                "--quick-gen-key",
                "inferstack test bed <testbed@inferstack.invalid>",
                "ed25519",
                "sign",
                "never",
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        key = subprocess.run(
            [*gpg, "--armor", "--export"], env=env, check=True, capture_output=True, timeout=30
        )
        (repo / "key.asc").write_bytes(key.stdout)
        for channel in channels:
            sub = repo / channel
            subprocess.run(
                [*gpg, "--clearsign", "--output", str(sub / "InRelease"), str(sub / "Release")],
                env=env,
                check=True,
                capture_output=True,
                timeout=30,
            )
    finally:
        # gpg starts an agent for this home: stop exactly that one.
        subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True, timeout=30)
        shutil.rmtree(gnupg, ignore_errors=True)
    stamp.write_text(wanted)
    return repo


def serve(repo: Path, address: str, port: int, ttl_s: int, log: Path) -> int:
    """Serve the repository on the bridge address only, bounded by `timeout`; returns the pid."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                "timeout",
                str(ttl_s),
                "python3",
                "-m",
                "http.server",
                "--bind",
                address,
                "--directory",
                str(repo),
                str(port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 10
    import socket

    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1):
                return proc.pid
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the local package source did not start on {address}:{port}; see {log}")
