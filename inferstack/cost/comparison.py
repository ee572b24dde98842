"""Join measured throughput to the catalog: cost per inference for every option that has a throughput.

This is what `inferstack cost` and `make demo` call. It prices only what it can stand behind: an option
is priced when its device has a throughput, measured on that device (within the SLO) or stated by the user
as an estimate; every other option is listed as not priced, with the flag that would price it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from inferstack.cost import model, units
from inferstack.cost.catalog import PRICINGS, Catalog, Figure, load_catalog, price
from inferstack.cost.throughput import (
    CPU,
    Throughput,
    check_verdict,
    device_key,
    from_results,
    parse_estimates,
)
from inferstack.errors import ConfigError
from inferstack.results import Results, load_results

SENSITIVITY = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0)
PRICING_LABELS = {
    "on_demand": "on-demand",
    "spot": "spot",
    "commit_1y": "1y commit",
    "commit_3y": "3y commit",
}
_CLI = "command line"


@dataclass
class Option:
    name: str
    kind: str  # cloud | onprem
    pricing: str  # on_demand | spot | commit_1y | commit_3y | owned
    instance: str
    device: str
    devices: int
    rps_per_unit: float
    throughput: Throughput
    unit: model.UnitCost
    figures: dict[str, Figure]  # the catalog figures this option's price rests on
    fleet: model.Fleet
    usd_per_million_full: float
    usd_per_million_at_utilization: float
    sensitivity: list[tuple[float, float]]
    break_even: dict | None = None

    @property
    def basis(self) -> str:
        """Where the two numbers that decide this option come from: its main price and its throughput."""
        return f"price {next(iter(self.figures.values())).basis}, throughput {self.throughput.basis}"

    @property
    def short_basis(self) -> str:
        short = {"published": "pub", "estimate": "est", "user": "user", "measured": "meas"}
        return f"{short[next(iter(self.figures.values())).basis]}/{short[self.throughput.basis]}"


@dataclass
class Comparison:
    results_path: Path
    results: Results
    catalog: Catalog
    catalog_override: Path | None
    slo_passed: bool
    label: str | None
    utilization: float
    headroom: float
    target_rps: float
    throughputs: dict[str, Throughput]
    options: list[Option]
    not_priced: list[dict]
    reference: Option | None  # cheapest cloud on-demand option: what on-prem is compared against
    files: dict[str, Path] = field(default_factory=dict)
    generated_at: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    def cheapest(self, kind: str | None = None) -> Option | None:
        pool = [o for o in self.options if kind is None or o.kind == kind]
        return min(pool, key=lambda o: o.fleet.monthly_usd, default=None)

    def summary(self) -> str:
        """A few lines for a terminal: what was priced, the cheapest of each kind, where the report went."""
        lines = []
        if self.label:
            lines.append(self.label)
        lines.append(
            f"cost per million inferences at {self.target_rps:g} req/s "
            f"(utilization {self.utilization:.0%}, headroom {self.headroom:.0%}):"
        )
        for kind in ("cloud", "onprem"):
            best = self.cheapest(kind)
            if best is not None:
                lines.append(
                    f"  cheapest {kind}: {best.name}: ${best.usd_per_million_at_utilization:.4g} per million "
                    f"(${best.usd_per_million_full:.4g} at full use); {best.fleet.units} x {best.instance} "
                    f"= ${best.fleet.monthly_usd:,.0f}/month for the target rate"
                )
        for option in self.options:
            if option.break_even and option.break_even.get("months") is not None:
                lines.append(
                    f"  {option.name} pays back in {option.break_even['months']:.1f} months against "
                    f"{option.break_even['against']}"
                )
        if self.not_priced:
            devices = sorted({row["device"] for row in self.not_priced})
            lines.append(
                f"  not priced (no throughput for {', '.join(devices)}): pass --throughput DEVICE=RPS"
            )
        for name, path in self.files.items():
            lines.append(f"  {name}: {path}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _label(
    results: Results, slo_passed: bool, measured: Throughput, estimates: dict[str, Throughput]
) -> str | None:
    parts = []
    if not slo_passed:
        parts.append(
            f"SLO FAILED ({', '.join(results.verdict.failed) or 'verdict failed'}): priced only because "
            "--allow-failed-slo was given; the throughput was NOT delivered within the SLO"
        )
    if measured.device == CPU and results.target.environment == "local":
        gpu = sorted(t.device for t in estimates.values() if t.device != CPU)
        parts.append(
            "CPU DEMO: throughput measured on this machine's CPU (local Triton), applied per vCPU to CPU "
            "instances and servers; it is not a GPU figure"
            + (f"; GPU options use the --throughput estimates given for {', '.join(gpu)}" if gpu else "")
        )
    return " | ".join(parts) or None


def _check_known_instance(results: Results, path: Path, catalog: Catalog) -> None:
    instance, environment = results.target.instance_type, results.target.environment
    if not instance or environment not in ("cloud", "onprem"):
        return
    known = catalog.cloud.instances if environment == "cloud" else catalog.onprem.servers
    if instance not in known:
        section = "cloud.instances" if environment == "cloud" else "onprem.servers"
        raise ConfigError(
            path,
            "target.instance_type",
            f"unknown {environment} instance type '{instance}': the catalog has {', '.join(sorted(known))}",
            f"add '{instance}' under {section} in a --catalog file (device, devices, vcpus and its price)",
        )


def _fraction_arg(value: float | None, default: Figure, flag: str) -> float:
    chosen = default.value if value is None else value
    if not 0 < chosen <= 1:
        raise ConfigError(
            _CLI, flag, f"must be a fraction in (0, 1] (got {chosen})", f"for example {flag} 0.5"
        )
    return chosen


def compare(
    results_path: str | Path,
    out_dir: str | Path | None = None,
    catalog: str | Path | None = None,
    target_rps: float | None = None,
    utilization: float | None = None,
    throughput: list[str] | None = None,
    allow_failed_slo: bool = False,
    write: bool = True,
) -> Comparison:
    """Price every catalog option that has a throughput, and (by default) write the report files.

    out_dir defaults to `cost/` beside the results file. Print the returned Comparison for a short summary.
    """
    results_path = Path(results_path)
    results = load_results(results_path)
    slo_passed = check_verdict(results, results_path, allow_failed_slo)
    cat = load_catalog(catalog)
    _check_known_instance(results, results_path, cat)
    measured = from_results(results, results_path, cat)
    estimates = parse_estimates(throughput, cat)
    throughputs = {measured.key: measured, **estimates}

    util = _fraction_arg(utilization, cat.planning.utilization, "--utilization")
    headroom = cat.planning.headroom.value
    target = results.measured.successful_rps if target_rps is None else target_rps
    if not target > 0:
        raise ConfigError(
            _CLI, "--target-rps", f"must be greater than 0 (got {target})", "for example --target-rps 500"
        )

    options: list[Option] = []
    not_priced: list[dict] = []
    c, site = cat.cloud, cat.onprem.site
    cluster_overhead = c.eks_control_plane_usd_per_hour.value + (
        units.hourly_from_monthly(c.model_store_gb.value * c.s3_usd_per_gb_month.value)
    )
    for name, inst in c.instances.items():
        tp = throughputs.get(device_key(inst.device))
        if tp is None:
            not_priced.append({"name": name, "kind": "cloud", "device": inst.device})
            continue
        rps = tp.rps_per_device * inst.devices
        for pricing in PRICINGS:
            hourly = price(inst, pricing, c.discounts)
            unit = model.cloud_unit(
                instance_usd_per_hour=hourly.value,
                rps_per_unit=rps,
                node_volume_gb=c.node_volume_gb.value,
                ebs_usd_per_gb_month=c.ebs_gp3_usd_per_gb_month.value,
                egress_usd_per_gb=c.egress_usd_per_gb.value,
                response_bytes=c.response_bytes.value,
            )
            figures = {
                f"cloud.instances.{name}.usd_per_hour.{pricing}": hourly,
                "cloud.node_volume_gb": c.node_volume_gb,
                "cloud.ebs_gp3_usd_per_gb_month": c.ebs_gp3_usd_per_gb_month,
                "cloud.egress_usd_per_gb": c.egress_usd_per_gb,
                "cloud.response_bytes": c.response_bytes,
            }
            options.append(
                _option(f"{name} {PRICING_LABELS[pricing]}", "cloud", pricing, name, inst.device, inst.devices,
                        rps, tp, unit, figures, target, headroom, util, cluster_overhead)
            )  # fmt: skip
    for name, srv in cat.onprem.servers.items():
        tp = throughputs.get(device_key(srv.device))
        if tp is None:
            not_priced.append({"name": name, "kind": "onprem", "device": srv.device})
            continue
        rps = tp.rps_per_device * srv.devices
        years = srv.amortization_years or site.amortization_years
        unit = model.onprem_unit(
            purchase_usd=srv.purchase_usd.value,
            amortization_years=years.value,
            power_load_w=srv.power_load_w.value,
            power_idle_w=srv.power_idle_w.value,
            pue=site.pue.value,
            electricity_usd_per_kwh=site.electricity_usd_per_kwh.value,
            colocation_usd_per_kw_month=site.colocation_usd_per_kw_month.value,
            maintenance_fraction_per_year=site.maintenance_fraction_per_year.value,
            engineer_usd_per_year=site.engineer_usd_per_year.value,
            ops_engineer_fraction=site.ops_engineer_fraction_per_server.value,
        )
        figures = {
            f"onprem.servers.{name}.purchase_usd": srv.purchase_usd,
            f"onprem.servers.{name}.power_load_w": srv.power_load_w,
            f"onprem.servers.{name}.power_idle_w": srv.power_idle_w,
            "amortization_years": years,
            **{
                f"onprem.site.{k}": getattr(site, k)
                for k in type(site).model_fields
                if k != "amortization_years"
            },
        }
        options.append(
            _option(name, "onprem", f"owned-{years.value:g}y", name, srv.device, srv.devices, rps, tp, unit,
                    figures, target, headroom, util, 0.0)
        )  # fmt: skip

    if not options:
        raise ConfigError(
            results_path,
            "target.accelerator",
            f"no catalog option runs on '{measured.device}', and no --throughput estimate matches one",
            "add instances or servers with that device in a --catalog file, or pass --throughput DEVICE=RPS "
            "for a catalog device",
        )
    on_demand = [o for o in options if o.kind == "cloud" and o.pricing == "on_demand"]
    reference = min(on_demand, key=lambda o: o.fleet.monthly_usd, default=None)
    if reference is not None:
        # The cloud scales to demand, so its instances run at the planned load (headroom), not at `util`.
        reference_price = model.usd_per_million(reference.unit, reference.rps_per_unit, headroom)
        for option in options:
            if option.kind != "onprem":
                continue
            option.break_even = {
                "against": reference.name,
                "against_usd_per_million": reference_price,
                "utilization": model.break_even_utilization(
                    option.unit, option.rps_per_unit, reference_price
                ),
                "months": model.months_to_break_even(
                    option.fleet.capex_usd, option.fleet.opex_monthly_usd, reference.fleet.monthly_usd
                ),
                "against_monthly_usd": reference.fleet.monthly_usd,
            }

    comparison = Comparison(
        results_path=results_path,
        results=results,
        catalog=cat,
        catalog_override=Path(catalog) if catalog else None,
        slo_passed=slo_passed,
        label=_label(results, slo_passed, measured, estimates),
        utilization=util,
        headroom=headroom,
        target_rps=target,
        throughputs=throughputs,
        options=options,
        not_priced=not_priced,
        reference=reference,
    )
    if write:
        from inferstack.cost.report import write_all

        out = Path(out_dir) if out_dir is not None else results_path.parent / "cost"
        comparison.files = write_all(comparison, out)
    return comparison


def _option(
    name: str,
    kind: str,
    pricing: str,
    instance: str,
    device: str,
    devices: int,
    rps: float,
    tp: Throughput,
    unit: model.UnitCost,
    figures: dict[str, Figure],
    target: float,
    headroom: float,
    util: float,
    overhead_usd_per_hour: float,
) -> Option:
    return Option(
        name=name,
        kind=kind,
        pricing=pricing,
        instance=instance,
        device=device,
        devices=devices,
        rps_per_unit=rps,
        throughput=tp,
        unit=unit,
        figures=figures,
        fleet=model.fleet(unit, rps, target, headroom, overhead_usd_per_hour),
        usd_per_million_full=model.usd_per_million(unit, rps, 1.0),
        usd_per_million_at_utilization=model.usd_per_million(unit, rps, util),
        sensitivity=[(u, model.usd_per_million(unit, rps, u)) for u in SENSITIVITY],
    )
