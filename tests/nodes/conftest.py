"""Checks for REAL nodes after `ansible-playbook ansible/site.yml`: they run only when pointed at hosts.

    INFERSTACK_NODES_INVENTORY=ansible/inventory/<site>/hosts.yml .venv/bin/python -m pytest tests/nodes

Without that variable every test here is skipped, and the skip says why: there are no GPU nodes to check
on a machine without them, and the test bed (tests/ansible) cannot load a driver or run kubeadm.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inferstack import versions

ENV = "INFERSTACK_NODES_INVENTORY"


def _inventory() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value).resolve() if value else None


def _hosts(pattern: str):
    import testinfra.utils.ansible_runner

    runner = testinfra.utils.ansible_runner.AnsibleRunner(str(_inventory()))
    return [runner.get_host(name) for name in runner.get_hosts(pattern)]


def pytest_generate_tests(metafunc):
    for fixture, pattern in (("gpu_worker", "gpu_workers"), ("control_plane", "k8s_control_plane")):
        if fixture in metafunc.fixturenames:
            if _inventory() is None:
                metafunc.parametrize(
                    fixture,
                    [
                        pytest.param(
                            None,
                            marks=pytest.mark.skip(
                                reason=f"real-node checks: set {ENV}=ansible/inventory/<site>/hosts.yml to run them "
                                "against provisioned GPU nodes (none here)"
                            ),
                        )
                    ],
                )
            else:
                hosts = _hosts(pattern)
                if not hosts:
                    raise pytest.UsageError(f"{_inventory()} has no hosts in group {pattern}")
                metafunc.parametrize(fixture, hosts, ids=lambda h: h.backend.hostname)


@pytest.fixture(scope="session")
def pinned_driver() -> str:
    branch = os.environ.get("INFERSTACK_NVIDIA_DRIVER_BRANCH", versions.get("nodes.nvidia_driver.branch"))
    return versions.get(f"nodes.nvidia_driver.branches.{branch}.version")


@pytest.fixture(scope="session")
def cuda_test_image() -> str:
    return versions.get("nodes.cuda_test_image").replace("{cuda}", versions.get("ngc.cuda"))
