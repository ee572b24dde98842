"""`inferstack testbed up [N]` / `inferstack testbed down`: disposable hosts for trying a role change."""

from __future__ import annotations

import typer

from inferstack.paths import project_root


def register(app: typer.Typer) -> None:
    testbed = typer.Typer(
        help="Disposable Debian 12 hosts (systemd-nspawn, real SSH) for the Ansible roles.",
        no_args_is_help=True,
    )

    @testbed.command("up")
    def up(
        count: int = typer.Argument(3, help="hosts: the first is the control plane, the rest GPU workers"),
        ttl: int = typer.Option(3 * 3600, help="seconds before every host powers itself off"),
    ) -> None:
        """Bring the hosts up and write ansible/inventory/testbed/hosts.yml."""
        from inferstack.testbed.hosts import Testbed, TestbedSpec

        bed = Testbed(TestbedSpec(ttl_s=ttl))
        hosts = bed.up(count)
        for h in hosts:
            typer.echo(f"{h.name:5} {h.address:12} {','.join(h.groups)}")
        inv = bed.inventory_path().relative_to(project_root())
        typer.echo(
            f"inventory: {inv}\n"
            f"next:      ansible-playbook -i {inv} ansible/site.yml\n"
            f"ssh:       ssh -i {bed.key} root@{hosts[0].address}\n"
            f"when done: inferstack testbed down"
        )

    @testbed.command("down")
    def down() -> None:
        """Remove the hosts, their mounts, the bridge, the NAT rules and the local package source."""
        from inferstack.testbed.hosts import Testbed

        Testbed().down()
        typer.echo("test bed removed")

    app.add_typer(testbed, name="testbed")
