"""site.yml run for real against three Debian 12 nspawn hosts, twice; testinfra checks what they have.

cp1 is the control plane; w1 and w2 are GPU workers without GPUs (the driver role skips them with a
message). pkgs.k8s.io and NVIDIA's repositories are replaced by the test bed's signed local package source.
"""

from __future__ import annotations

import tomllib
import urllib.request

import pytest
import yaml

from inferstack import versions

pytestmark = [pytest.mark.testbed, pytest.mark.slow]

WORKERS = ["w1", "w2"]
ALL = ["cp1", *WORKERS]


def _release_pin(section: str) -> str:
    return versions.get(f"nodes.{section}.debian-12")


def test_first_run_converges_every_host(converged):
    first, _ = converged
    recap = first.recap()
    assert set(recap) == set(ALL), recap
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in recap.values()), first.tail()
    assert all(r["changed"] > 0 for r in recap.values()), "fresh hosts must have been changed"


def test_second_run_changes_nothing(converged):
    _, second = converged
    assert second.rc == 0, second.tail()
    recap = second.recap()
    assert set(recap) == set(ALL)
    changed = {h: r["changed"] for h, r in recap.items() if r["changed"]}
    assert not changed, f"not idempotent, changed on the second run: {changed}\n{second.tail(12000)}"


def test_gpu_less_hosts_are_skipped_by_the_driver_role_with_a_message(converged, hosts):
    first, _ = converged
    for name in WORKERS:
        assert f"No NVIDIA GPU (PCI vendor 10de) on {name}: nvidia_driver skipped here." in first.flat
        # ...and skipped means nothing of the driver was done.
        assert not hosts[name].file("/etc/modprobe.d/blacklist-nouveau.conf").exists


@pytest.mark.parametrize("name", ALL)
def test_pinned_packages_are_installed_and_held(hosts, name):
    host = hosts[name]
    k8s = f"{versions.get('kubernetes.version')}-{versions.get('nodes.kubernetes_packages.deb_revision')}"
    pins = {
        "containerd": _release_pin("containerd"),
        "runc": _release_pin("runc"),
        "prometheus-node-exporter": _release_pin("node_exporter"),
        "kubeadm": k8s,
        "kubelet": k8s,
        "kubectl": k8s,
    }
    if name in WORKERS:
        toolkit = versions.get("nodes.nvidia_container_toolkit")
        for pkg in [
            "nvidia-container-toolkit",
            "nvidia-container-toolkit-base",
            "libnvidia-container-tools",
            "libnvidia-container1",
        ]:
            pins[pkg] = toolkit
    held = set(host.check_output("apt-mark showhold").split())
    for pkg, version in pins.items():
        assert host.package(pkg).is_installed, pkg
        assert host.package(pkg).version == version, (pkg, host.package(pkg).version, version)
        assert pkg in held, f"{pkg} is not held on {name}"
    if name == "cp1":
        assert not host.package("nvidia-container-toolkit").is_installed


@pytest.mark.parametrize("name", ALL)
def test_containerd_config_is_rendered_with_the_right_runtimes(hosts, name):
    host = hosts[name]
    cfg = tomllib.loads(host.file("/etc/containerd/config.toml").content_string)
    cri = cfg["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == versions.get("nodes.sandbox_image")
    runtimes = cri["containerd"]["runtimes"]
    expected = {"runc", "nvidia"} if name in WORKERS else {"runc"}
    assert set(runtimes) == expected
    assert cri["containerd"]["default_runtime_name"] == "runc"
    for rt in runtimes.values():
        assert rt["runtime_type"] == "io.containerd.runc.v2"
        assert rt["options"]["SystemdCgroup"] is True
    if name in WORKERS:
        assert runtimes["nvidia"]["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
        assert host.file("/usr/bin/nvidia-container-runtime").exists
    # containerd 1.6 has no CDI: the role leaves the keys out rather than write what it would reject.
    assert "enable_cdi" not in cri
    # The real containerd reads the file back: what it runs with is what we rendered.
    dump = host.check_output("containerd config dump")
    assert 'sandbox_image = "' + versions.get("nodes.sandbox_image") + '"' in dump
    assert ("runtimes.nvidia]" in dump) == (name in WORKERS)


@pytest.mark.parametrize("name", ALL)
def test_containerd_runs_and_answers(hosts, name):
    host = hosts[name]
    svc = host.service("containerd")
    assert svc.is_running and svc.is_enabled
    out = host.check_output("ctr version")
    assert "Server:" in out and _release_pin("containerd").split("~")[0] in out


@pytest.mark.parametrize("name", ALL)
def test_node_exporter_serves_metrics_on_the_node_address(testbed, hosts, name):
    host = hosts[name]
    svc = host.service("prometheus-node-exporter")
    assert svc.is_running and svc.is_enabled
    address = next(h.address for h in testbed.hosts() if h.name == name)
    assert host.socket(f"tcp://{address}:9100").is_listening
    assert not host.socket("tcp://0.0.0.0:9100").is_listening
    # Scraped from outside the host, the way Prometheus will.
    body = urllib.request.urlopen(f"http://{address}:9100/metrics", timeout=10).read().decode()
    assert "node_exporter_build_info" in body


@pytest.mark.parametrize("name", ALL)
def test_kernel_settings_for_kubernetes(hosts, name):
    host = hosts[name]
    assert host.sysctl("net.ipv4.ip_forward") == 1
    assert host.sysctl("net.bridge.bridge-nf-call-iptables") == 1
    assert host.sysctl("net.bridge.bridge-nf-call-ip6tables") == 1
    persisted = host.file("/etc/sysctl.d/90-kubernetes.conf").content_string
    assert "net.ipv4.ip_forward=1" in persisted.replace(" ", "")
    modules = host.file("/etc/modules-load.d/kubernetes.conf").content_string.split()
    assert "overlay" in modules and "br_netfilter" in modules


@pytest.mark.parametrize("name", ALL)
def test_unattended_upgrades_never_touch_kernel_driver_or_runtime(hosts, name):
    host = hosts[name]
    # apt itself parses the file: a syntax error would drop the list.
    dump = host.check_output("apt-config dump Unattended-Upgrade::Package-Blacklist")
    for pattern in ["linux-", "nvidia-", "libnvidia-", "containerd", "kubelet"]:
        assert f'"{pattern}"' in dump, dump
    assert host.package("chrony").is_installed


def test_kubeadm_config_is_rendered_on_the_control_plane(hosts):
    docs = list(yaml.safe_load_all(hosts["cp1"].file("/etc/kubernetes/kubeadm-config.yaml").content_string))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"}
    cluster = kinds["ClusterConfiguration"]
    assert cluster["kubernetesVersion"] == "v" + versions.get("kubernetes.version")
    assert cluster["networking"]["podSubnet"] == "10.244.0.0/16"
    assert kinds["KubeletConfiguration"]["cgroupDriver"] == "systemd"
    assert kinds["InitConfiguration"]["localAPIEndpoint"]["advertiseAddress"] == "10.77.1.11"
    for name in WORKERS:
        assert not hosts[name].file("/etc/kubernetes/kubeadm-config.yaml").exists


def test_container_hosts_skip_kubeadm_with_a_message(converged, hosts):
    first, _ = converged
    assert "cp1 is a container: kubeadm init, the CNI and the kubeconfig need a real node." in first.flat
    assert not hosts["cp1"].file("/etc/kubernetes/admin.conf").exists
    assert hosts["cp1"].service("kubelet").is_enabled


@pytest.mark.parametrize("name", ALL)
def test_package_sources_are_signed(hosts, name):
    host = hosts[name]
    src = host.file("/etc/apt/sources.list.d/inferstack-kubernetes.sources").content_string
    assert "Signed-By: /etc/apt/keyrings/inferstack-kubernetes.asc" in src
    assert "Trusted" not in src
