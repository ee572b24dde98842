"""Bad inventories stop site.yml before any host is changed, with a message that says what to fix."""

from __future__ import annotations

import pytest

from inferstack.testbed.playbook import ANSIBLE_DIR, run_playbook

pytestmark = [pytest.mark.testbed]


def assert_stopped_before_any_change(run, *needles):
    assert run.rc != 0, f"site.yml should have refused this inventory:\n{run.tail()}"
    for needle in needles:
        assert needle in run.flat, f"expected {needle!r} in the output:\n{run.tail()}"
    recap = run.recap()
    assert recap, f"no PLAY RECAP:\n{run.tail()}"
    assert all(r["changed"] == 0 for r in recap.values()), recap
    # Only the preflight play ran: no role that changes anything started.
    assert "TASK [gpu_node_base" not in run.flat


def _copy_inventory(testbed, tmp_path, drop_group=None, drop_var=None):
    inv_dir = tmp_path / "inventory"
    (inv_dir / "group_vars").mkdir(parents=True)
    text = testbed.inventory_path().read_text()
    if drop_group:
        import yaml

        data = yaml.safe_load(text)
        for name in data["all"]["children"].pop(drop_group)["hosts"]:
            data["all"]["hosts"].pop(name)
        text = yaml.safe_dump(data)
    (inv_dir / "hosts.yml").write_text(text)
    gv = (ANSIBLE_DIR / "inventory/testbed/group_vars/all.yml").read_text()
    if drop_var:
        gv = "\n".join(line for line in gv.splitlines() if not line.startswith(drop_var + ":"))
    (inv_dir / "group_vars/all.yml").write_text(gv)
    return inv_dir / "hosts.yml"


def test_inventory_without_gpu_workers_group_is_refused(testbed, tmp_path):
    inv = _copy_inventory(testbed, tmp_path, drop_group="gpu_workers")
    run = run_playbook(inv)
    assert_stopped_before_any_change(run, "The inventory has no group 'gpu_workers'")


def test_missing_pod_subnet_is_refused(testbed, tmp_path):
    inv = _copy_inventory(testbed, tmp_path, drop_var="kubernetes_control_plane_pod_subnet")
    run = run_playbook(inv)
    assert_stopped_before_any_change(run, "missing required arguments: kubernetes_control_plane_pod_subnet")


def test_driver_branch_not_in_the_lock_is_refused(testbed, inventory):
    run = run_playbook(inventory, "site.yml", "-e", "nvidia_driver_branch=999")
    assert_stopped_before_any_change(run, "nvidia_driver_branch '999'", "is not in versions.yaml")


def test_unsupported_os_is_refused(testbed, inventory):
    w2 = next(h for h in testbed.hosts() if h.name == "w2")
    # A host that reports Debian 11: Ansible's distribution facts read os-release and, on Debian, debian_version.
    testbed.ssh(
        w2,
        "cp /etc/debian_version /etc/debian_version.inferstack-saved && echo 11.9 > /etc/debian_version && "
        "cp --remove-destination /usr/lib/os-release /etc/os-release.new && "
        'sed -i \'s/^VERSION_ID=.*/VERSION_ID="11"/; s/^VERSION_CODENAME=.*/VERSION_CODENAME=bullseye/; '
        's/^VERSION=.*/VERSION="11 (bullseye)"/\' /etc/os-release.new && '
        "mv /etc/os-release /etc/os-release.link && mv /etc/os-release.new /etc/os-release",
    )
    try:
        run = run_playbook(inventory)
    finally:
        testbed.ssh(
            w2,
            "rm -f /etc/os-release && mv /etc/os-release.link /etc/os-release && "
            "mv /etc/debian_version.inferstack-saved /etc/debian_version",
        )
    assert_stopped_before_any_change(run, "w2 runs Debian 11", "the roles support debian-12")
