"""`inferstack tools build|status` and `inferstack cluster up|status|down`: the simulated cluster."""

from __future__ import annotations

import json

import typer
from rich.console import Console

console = Console()


def register(app: typer.Typer) -> None:
    tools_app = typer.Typer(
        help="The simulated cluster's Go tools, built from source at versions.yaml.", no_args_is_help=True
    )
    cluster = typer.Typer(
        help="A real kube-apiserver, scheduler and controller-manager on 127.0.0.1 with kwok-simulated GPU nodes.",
        no_args_is_help=True,
    )

    @tools_app.command("build")
    def build(
        names: list[str] = typer.Argument(None, help="tools to build (default: all): etcd kubernetes kwok"),
    ) -> None:
        """Build what versions.yaml asks for and the cache lacks (minutes per tool on 2 cores), then link it."""
        from inferstack.cluster import tools

        paths = tools.ensure(names or None, echo=console.print)
        console.print(f"{len(paths)} binaries in {tools.bin_dir()}")

    @tools_app.command("status")
    def tools_status(as_json: bool = typer.Option(False, "--json")) -> None:
        """Which tools are built for the current lock (exit 1 when one is missing)."""
        from inferstack.cluster import tools

        rows = tools.status()
        if as_json:
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                mark = "[green]built[/]" if r["built"] else "[red]missing[/]"
                console.print(f"{r['tool']:11} {r['version']:9} {mark}  {r['path']}")
        raise typer.Exit(0 if all(r["built"] for r in rows) else 1)

    @cluster.command("up")
    def up(
        topology: str = typer.Option(
            "onprem", "--topology", "-t", help="onprem, aws, or a node-shapes YAML file"
        ),
    ) -> None:
        """Start etcd, the control plane and kwok, create the topology's nodes, wait until they are Ready."""
        from inferstack.cluster import control_plane

        state = control_plane.up(topology, echo=console.print)
        console.print(f"export KUBECONFIG={state['kubeconfig']}")
        console.print("stop with: inferstack cluster down")

    @cluster.command("status")
    def status(
        as_json: bool = typer.Option(False, "--json", help="endpoints, components, nodes and health"),
    ) -> None:
        """The cluster's components and nodes (exit 1 when anything is unhealthy or nothing runs)."""
        from inferstack.cluster import control_plane

        result = control_plane.status()
        if as_json:
            print(json.dumps(result, indent=2))
        elif not result["components"]:
            console.print("no simulated cluster is running (start one with: inferstack cluster up)")
        else:
            console.print(
                f"topology {result['topology']}  server {result['server']}  kubeconfig {result['kubeconfig']}"
            )
            for name, c in result["components"].items():
                mark = "[green]healthy[/]" if c["healthy"] else "[red]not healthy[/]"
                console.print(f"  {name:24} {mark} pid {c['pid']}  log {c['log']}")
            for n in result["nodes"]:
                gpus = n["allocatable"].get("nvidia.com/gpu", "0")
                console.print(
                    f"  node {n['name']:12} ready={n['ready']} cpu={n['allocatable'].get('cpu')} "
                    f"memory={n['allocatable'].get('memory')} gpus={gpus} taints={len(n['taints'])}"
                )
        raise typer.Exit(0 if result["healthy"] else 1)

    @cluster.command("down")
    def down() -> None:
        """Stop exactly what `cluster up` started and remove the cluster's data and keys."""
        from inferstack.cluster import control_plane

        stopped = control_plane.down(echo=console.print)
        console.print(f"stopped {len(stopped)} component(s)" if stopped else "nothing was running")

    app.add_typer(tools_app, name="tools")
    app.add_typer(cluster, name="cluster")
