"""What a provisioned GPU node must have; the same checks as ansible/verify.yml, read by testinfra."""

from __future__ import annotations

import json
import tomllib


def test_driver_is_loaded_and_matches_the_pin(gpu_worker, pinned_driver):
    assert pinned_driver in gpu_worker.file("/proc/driver/nvidia/version").content_string
    out = gpu_worker.check_output("nvidia-smi --query-gpu=driver_version --format=csv,noheader")
    assert set(out.split()) == {pinned_driver}


def test_nouveau_is_blacklisted_and_not_loaded(gpu_worker):
    assert "blacklist nouveau" in gpu_worker.file("/etc/modprobe.d/blacklist-nouveau.conf").content_string
    assert "nouveau" not in gpu_worker.file("/proc/modules").content_string


def test_kernel_modules_for_kubernetes_are_loaded(gpu_worker):
    modules = gpu_worker.file("/proc/modules").content_string
    assert "br_netfilter" in modules and "overlay" in modules


def test_cdi_spec_and_nvidia_runtime_are_in_place(gpu_worker):
    assert gpu_worker.file("/etc/cdi/nvidia.yaml").exists
    cfg = tomllib.loads(gpu_worker.file("/etc/containerd/config.toml").content_string)
    runtimes = cfg["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    assert runtimes["nvidia"]["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"


def test_cuda_container_runs_through_the_nvidia_runtime(gpu_worker, cuda_test_image):
    with gpu_worker.sudo():
        gpu_worker.check_output(f"ctr -n k8s.io image pull {cuda_test_image}")
        out = gpu_worker.check_output(
            f"ctr -n k8s.io run --rm --runc-binary /usr/bin/nvidia-container-runtime "
            f"--env NVIDIA_VISIBLE_DEVICES=all {cuda_test_image} inferstack-nodes-test nvidia-smi -L"
        )
    assert "GPU 0" in out


def test_kubelet_is_running(gpu_worker):
    assert gpu_worker.service("kubelet").is_running


def test_nodes_are_ready_and_gpu_workers_offer_gpus(control_plane):
    with control_plane.sudo():
        nodes = json.loads(
            control_plane.check_output("kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o json")
        )["items"]
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", node["metadata"]["name"]
    gpu_nodes = [n for n in nodes if n["metadata"].get("labels", {}).get("nvidia.com/gpu.present") == "true"]
    assert gpu_nodes, "no node is labelled nvidia.com/gpu.present=true"
    for node in gpu_nodes:
        assert int(node["status"]["allocatable"].get("nvidia.com/gpu", "0")) > 0, node["metadata"]["name"]
        taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints", [])}
        assert ("nvidia.com/gpu", "NoSchedule") in taints
