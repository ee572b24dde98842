"""Throughput per device: measured by a load test that met its SLO, or an estimate the user states.

Throughput is kept per device so it carries across instance sizes: per GPU (one Triton replica per GPU,
as the platform's pods request one `nvidia.com/gpu` each), and per vCPU for CPU serving. A figure measured
on one device type is never applied to another: an A10G's rate is not an L4's. Other devices are priced
only when the user gives `--throughput DEVICE=RPS`, and the report then calls that figure an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from inferstack.cost.catalog import Catalog
from inferstack.errors import ConfigError
from inferstack.results import Results

CPU = "cpu"
# Keys under results.json `machine` that may hold the logical CPU count of the machine that ran the test.
_CPU_COUNT_KEYS = ("logical_cpus", "cpu_count", "logical_cores", "cpus", "cores")
_CLI = "command line"


@dataclass(frozen=True)
class Throughput:
    device: str  # as written in the catalog / results ("A10G", "cpu")
    rps_per_device: float  # per GPU, or per vCPU for "cpu"
    basis: Literal["measured", "estimate"]
    source: str

    @property
    def key(self) -> str:
        return device_key(self.device)


def device_key(name: str) -> str:
    return name.strip().lower()


def check_verdict(results: Results, path: Path, allow_failed_slo: bool) -> bool:
    """True when the SLO held. A failed verdict is refused unless the user explicitly allows it."""
    if results.verdict.passed:
        return True
    missed = ", ".join(results.verdict.failed) or "unnamed objectives"
    if not allow_failed_slo:
        raise ConfigError(
            path,
            "verdict.passed",
            f"the load test missed its SLO '{results.slo_name}' ({missed}): the throughput it measured was not "
            "delivered within the SLO, so it is not a capacity figure",
            "rerun the load test at a rate the service sustains, or pass --allow-failed-slo to price it anyway "
            "(the report is then labelled SLO FAILED)",
        )
    return False


def _logical_cpus(results: Results) -> int | None:
    for key in _CPU_COUNT_KEYS:
        value = results.machine.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
            return int(value)
    return None


def from_results(results: Results, path: Path, catalog: Catalog) -> Throughput:
    """Per-device throughput from a results file: successful requests per second within the SLO window."""
    rps = results.measured.successful_rps
    if not rps > 0:
        raise ConfigError(
            path,
            "measured.successful_rps",
            f"no successful requests were measured (got {rps})",
            "rerun the load test until it serves requests, or price with --throughput DEVICE=RPS",
        )
    replicas = results.target.replicas
    per_replica = rps / replicas
    where = f"{path}: measured.successful_rps {rps:g} / target.replicas {replicas}"
    if results.target.accelerator:
        return Throughput(
            results.target.accelerator, per_replica, "measured", f"{where} (one replica per GPU)"
        )

    # CPU serving: count per vCPU so the rate carries to a CPU instance or server of another size.
    instance = results.target.instance_type
    known = catalog.cloud.instances.get(instance) if instance else None
    if known is not None:
        vcpus, on = known.vcpus, f"{instance}, {known.vcpus} vCPUs"
    elif results.target.environment == "local" and (count := _logical_cpus(results)):
        # Locally the server and the load generator share this machine, so this rate is a lower bound.
        vcpus, on = count, f"the test machine's {count} logical CPUs, shared with the load generator"
    else:
        raise ConfigError(
            path,
            "target.instance_type",
            "a CPU run whose vCPU count is unknown (no known instance_type, and no CPU count under `machine`)",
            "set target.instance_type to a catalog instance, or pass --throughput cpu=RPS_PER_VCPU",
        )
    return Throughput(CPU, per_replica / vcpus, "measured", f"{where} / {vcpus} vCPUs ({on})")


def parse_estimates(items: list[str] | None, catalog: Catalog) -> dict[str, Throughput]:
    """`--throughput DEVICE=RPS` options: estimates for devices the load test did not run on."""
    known = {device_key(i.device) for i in catalog.cloud.instances.values()}
    known |= {device_key(s.device) for s in catalog.onprem.servers.values()}
    estimates: dict[str, Throughput] = {}
    for item in items or []:
        device, sep, value = item.partition("=")
        device = device.strip()
        if not sep or not device:
            raise ConfigError(
                _CLI, "--throughput", f"'{item}' is not DEVICE=RPS", "write it like --throughput L4=850"
            )
        try:
            rps = float(value)
        except ValueError:
            raise ConfigError(
                _CLI,
                "--throughput",
                f"'{value}' in '{item}' is not a number",
                "write it like --throughput L4=850",
            ) from None
        if not rps > 0:
            raise ConfigError(
                _CLI,
                "--throughput",
                f"throughput for {device} must be greater than 0 (got {value})",
                "give requests per second per GPU (per vCPU for cpu) that one replica sustains within the SLO",
            )
        if device_key(device) not in known:
            raise ConfigError(
                _CLI,
                "--throughput",
                f"no catalog option runs on '{device}'",
                f"use one of: {', '.join(sorted(known))} (or add instances or servers for it in --catalog)",
            )
        estimates[device_key(device)] = Throughput(
            device, rps, "estimate", f"--throughput {device}={value} on the command line (not measured here)"
        )
    return estimates
