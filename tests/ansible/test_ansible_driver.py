"""The driver role on hosts without a usable kernel build environment: clear failures, nothing changed.

The test hosts run the machine's own kernel, whose headers no Debian archive carries: exactly the
situation of a node booted into a kernel its package sources do not know.
"""

from __future__ import annotations

import pytest

from inferstack import versions
from inferstack.testbed.playbook import run_playbook

pytestmark = [pytest.mark.testbed]


def test_missing_kernel_headers_stop_the_driver_install_naming_the_package(converged, inventory, hosts):
    kernel = hosts["w1"].check_output("uname -r")
    run = run_playbook(
        inventory,
        "site.yml",
        "--limit",
        "w1",
        "--tags",
        "nvidia_driver",
        "-e",
        "nvidia_driver_gpu_detection=assume_present",
    )
    assert run.rc != 0, run.tail()
    assert f"runs kernel {kernel} but its headers are not installed" in run.flat, run.tail()
    assert f"linux-headers-{kernel} is not in the package sources" in run.flat, run.tail()
    assert run.recap()["w1"]["changed"] == 0
    # Stopped before installing anything: no nouveau blacklist, no repository, no driver package.
    assert not hosts["w1"].file("/etc/modprobe.d/blacklist-nouveau.conf").exists
    assert not hosts["w1"].file("/etc/apt/sources.list.d/inferstack-nvidia-cuda.sources").exists


def test_preinstalled_mode_refuses_a_host_without_a_working_driver(converged, inventory):
    run = run_playbook(
        inventory,
        "site.yml",
        "--limit",
        "w1",
        "--tags",
        "nvidia_driver",
        "-e",
        "nvidia_driver_gpu_detection=assume_present",
        "-e",
        "nvidia_driver_mode=preinstalled",
    )
    assert run.rc != 0, run.tail()
    pinned = versions.get(
        f"nodes.nvidia_driver.branches.{versions.get('nodes.nvidia_driver.branch')}.version"
    )
    assert (
        "was declared to ship its driver (nvidia_driver_mode=preinstalled), but nvidia-smi did not answer"
        in run.flat
    )
    assert f"versions.yaml pins {pinned}" in run.flat
    assert run.recap()["w1"]["changed"] == 0
