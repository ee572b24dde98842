"""The test bed for tests/ansible: three disposable Debian 12 nspawn hosts on their own bridge.

The hosts come up once per session and are torn down by the finalizer (hosts, mounts, bridge, NAT rules,
package source), whatever the tests did. They use their own bridge and subnet (brinfer1, 10.77.1.0/24),
so a test bed someone brought up by hand with `inferstack testbed up` is left alone.
"""

from __future__ import annotations

import os
import time

import pytest

from inferstack.testbed import Testbed, TestbedSpec
from inferstack.testbed.playbook import run_playbook

SPEC = TestbedSpec(name="pytest", bridge="brinfer1", subnet="10.77.1", machine_prefix="ist-", ttl_s=40 * 60)


@pytest.fixture(scope="session")
def testbed():
    if os.geteuid() != 0:
        pytest.skip(
            "the Ansible test bed needs root (overlay mounts, a bridge, NAT, systemd-nspawn); "
            "run `make test` as root, as CI does"
        )
    bed = Testbed(SPEC)
    bed.down()  # whatever a killed earlier run left behind (only what its state file records)
    t0 = time.monotonic()
    try:
        hosts = bed.up(3)
    except BaseException:
        bed.down()
        raise
    print(f"[testbed] up in {time.monotonic() - t0:.0f}s: {[(h.name, h.address) for h in hosts]}")
    yield bed
    bed.down()


@pytest.fixture(scope="session")
def inventory(testbed):
    return testbed.inventory_path()


@pytest.fixture(scope="session")
def converged(testbed, inventory):
    """site.yml run twice against fresh hosts: (first run, second run)."""
    first = run_playbook(inventory)
    assert first.rc == 0, f"first site.yml run failed:\n{first.tail()}"
    second = run_playbook(inventory)
    return first, second


@pytest.fixture(scope="session")
def hosts(testbed, converged):
    """testinfra hosts over real SSH, by inventory name."""
    import testinfra

    return {
        h.name: testinfra.get_host(
            f"ssh://root@{h.address}",
            ssh_identity_file=str(testbed.key),
            ssh_extra_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        )
        for h in testbed.hosts()
    }
