"""Disposable Debian 12 hosts (systemd-nspawn machines on a private bridge, real SSH) for the Ansible roles.

`inferstack testbed up [N]` brings N hosts up (the first is the control plane, the rest GPU workers),
serves a local package source with the test-bed stand-ins for what only NVIDIA's and Kubernetes'
repositories carry, and writes ansible/inventory/testbed/hosts.yml. `inferstack testbed down` removes the
hosts, their mounts, the bridge and the NAT rules. tests/ansible uses the same code on its own bridge.
"""

from inferstack.testbed.hosts import Testbed, TestbedSpec

__all__ = ["Testbed", "TestbedSpec"]
