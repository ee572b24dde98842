"""The comparison as a person reads it (terminal table, Markdown, chart) and as a program reads it (cost.json)."""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from inferstack.cost import units
from inferstack.cost.catalog import DEFAULT_CATALOG, cited

if TYPE_CHECKING:
    from rich.console import Console

    from inferstack.cost.comparison import Comparison, Option

SCHEMA = "inferstack.cost/v1"
JSON_NAME, MARKDOWN_NAME, CHART_NAME = "cost.json", "cost.md", "cost-per-million.png"

METHOD = [
    "Asset cost = amount x duration x rate, as the OpenCost specification prices assets; an instance or "
    "server costs its rate for every hour it exists, busy or idle: idle cost is counted (as OpenCost does).",
    "A month is 730 hours, a year 8,760 (as Infracost counts them).",
    "Throughput per unit = throughput per device (per GPU, one Triton replica each; per vCPU for CPU) x devices "
    "in the unit. Measured throughput is successful requests per second in a load test that met every SLO.",
    "Cost per million inferences at utilization u = (fixed + variable x u) USD/hour / (throughput x u x 3600) x 1e6. "
    "Fixed: instance price and disk (cloud); amortized purchase, idle power x PUE x tariff, colocation per kW "
    "provisioned, maintenance, operations staff (on-prem). Variable: egress (cloud), power above idle (on-prem).",
    "Units for the target rate = ceil(target / (throughput per unit x headroom)): no unit is planned past the "
    "headroom fraction of what it sustained within the SLO. Monthly cost adds the EKS control plane and the S3 "
    "model store for the cloud.",
    "Break-even utilization: the on-prem utilization at which its cost per inference equals the cheapest cloud "
    "on-demand option's, the cloud being scaled to demand (its units at the headroom load). Months to break even: "
    "purchase / (cloud monthly cost - on-prem monthly running cost), both serving the target rate.",
]


def _fmt_money(value: float) -> str:
    return f"${value:,.0f}" if value >= 100 else f"${value:.3g}"


def _break_even_text(option: Option) -> tuple[str, str]:
    be = option.break_even
    if not be:
        return "-", "-"
    u = be["utilization"]
    months = be["months"]
    return (f"{u:.0%}" if u is not None else "never"), (f"{months:.1f}" if months is not None else "never")


def render_table(comparison: Comparison, console: Console) -> None:
    from rich.table import Table

    title = f"Cost per million inferences at {comparison.target_rps:g} req/s"
    if comparison.label:
        console.print(f"[bold yellow]{comparison.label}[/]", highlight=False, soft_wrap=True)
    table = Table(title=title, title_justify="left")
    table.add_column("option", min_width=14, ratio=1)
    table.add_column("req/s", justify="right", no_wrap=True)
    table.add_column("$/M full", justify="right", no_wrap=True)
    table.add_column(f"$/M @{comparison.utilization:.0%}", justify="right", no_wrap=True)
    table.add_column("units", justify="right", no_wrap=True)
    table.add_column("$/month", justify="right", no_wrap=True)
    table.add_column("b/e util", justify="right", no_wrap=True)
    table.add_column("b/e mo", justify="right", no_wrap=True)
    table.add_column("basis", no_wrap=True)
    for o in sorted(comparison.options, key=lambda o: o.usd_per_million_at_utilization):
        be_util, be_months = _break_even_text(o)
        table.add_row(
            o.name if o.kind == "cloud" else f"{o.name} (on-prem)",
            f"{o.rps_per_unit:.4g}",
            _fmt_money(o.usd_per_million_full),
            _fmt_money(o.usd_per_million_at_utilization),
            str(o.fleet.units),
            f"{o.fleet.monthly_usd:,.0f}",
            be_util,
            be_months,
            o.short_basis,
        )
    console.print(table)
    console.print(
        "req/s: per unit. $/M: USD per million inferences. b/e: break-even (utilization, months) against the cheapest cloud on-demand option"
        + (f" ({comparison.reference.name})" if comparison.reference else "")
        + ". basis: price/throughput, pub = published, est = estimate, meas = measured.",
        highlight=False,
    )
    if comparison.not_priced:
        names = ", ".join(f"{r['name']} ({r['device']})" for r in comparison.not_priced)
        console.print(f"not priced, no throughput for their device: {names}", highlight=False)
        console.print(
            "  price them with --throughput DEVICE=RPS (an estimate, labelled as such)", highlight=False
        )


def to_json(comparison: Comparison) -> dict:
    r = comparison.results
    return {
        "schema": SCHEMA,
        "generated_at": comparison.generated_at,
        "label": comparison.label,
        "results_file": str(comparison.results_path),
        "slo": {
            "name": r.slo_name,
            "passed": comparison.slo_passed,
            "failed": list(r.verdict.failed),
            "priced_despite_failure": not comparison.slo_passed,
        },
        "target": {
            "environment": r.target.environment,
            "accelerator": r.target.accelerator,
            "instance_type": r.target.instance_type,
            "replicas": r.target.replicas,
        },  # fmt: skip
        "currency": "USD",
        "assumptions": {
            "target_rps": comparison.target_rps,
            "utilization": comparison.utilization,
            "headroom": comparison.headroom,
            "hours_per_month": units.HOURS_PER_MONTH,
        },
        "method": METHOD,
        "throughput": {
            t.device: {
                "rps_per_device": t.rps_per_device,
                "per": "vCPU" if t.device == "cpu" else "GPU",
                "basis": t.basis,
                "source": t.source,
            }  # fmt: skip
            for t in comparison.throughputs.values()
        },
        "reference_cloud_option": comparison.reference.name if comparison.reference else None,
        "options": [_option_json(o, comparison.utilization) for o in comparison.options],
        "not_priced": [
            {**row, "reason": f"no throughput for {row['device']}; pass --throughput {row['device']}=RPS"}
            for row in comparison.not_priced
        ],
        "catalog": {
            "files": [str(DEFAULT_CATALOG)]
            + ([str(comparison.catalog_override)] if comparison.catalog_override else []),
            "figures": cited(comparison.catalog),
        },
    }


def _option_json(o: Option, utilization: float) -> dict:
    return {
        "name": o.name,
        "kind": o.kind,
        "pricing": o.pricing,
        "instance": o.instance,
        "device": o.device,
        "devices": o.devices,
        "basis": o.basis,
        "rps_per_unit": o.rps_per_unit,
        "throughput_basis": o.throughput.basis,
        "usd_per_hour_at_full_use": o.unit.usd_per_hour(1.0),
        "usd_per_hour_components_at_full_use": o.unit.components_at_full,
        "usd_per_million_inferences": {
            "full_use": o.usd_per_million_full,
            "at_utilization": o.usd_per_million_at_utilization,
            "utilization": utilization,
        },
        "sensitivity": [{"utilization": u, "usd_per_million_inferences": v} for u, v in o.sensitivity],
        "for_target_rate": {
            "units": o.fleet.units,
            "effective_utilization": o.fleet.effective_utilization,
            "monthly_usd": o.fleet.monthly_usd,
            "usd_per_million_inferences": o.fleet.usd_per_million,
            "upfront_usd": o.fleet.capex_usd,
            "monthly_running_usd": o.fleet.opex_monthly_usd,
        },
        "break_even": o.break_even,
        "figures": {path: f.model_dump() for path, f in o.figures.items()},
    }


def to_markdown(comparison: Comparison, chart_name: str | None = CHART_NAME) -> str:
    r = comparison.results
    out = ["# Cost per inference: on-prem vs cloud", ""]
    if comparison.label:
        out += [f"> **{comparison.label}**", ""]
    out += [
        f"Results: `{comparison.results_path}` (SLO `{r.slo_name}`: "
        f"{'met' if comparison.slo_passed else 'FAILED: ' + ', '.join(r.verdict.failed)}). "
        f"Target rate {comparison.target_rps:g} req/s; utilization {comparison.utilization:.0%}; "
        f"headroom {comparison.headroom:.0%}. Generated {comparison.generated_at}.",
        "",
        "## Throughput used",
        "",
        "| device | req/s per device | basis | source |",
        "|---|---|---|---|",
    ]
    for t in comparison.throughputs.values():
        per = "vCPU" if t.device == "cpu" else "GPU"
        out.append(f"| {t.device} | {t.rps_per_device:.4g} per {per} | {t.basis} | {t.source} |")
    out += [
        "",
        "## Options",
        "",
        f"| option | kind | req/s per unit | $/M at full use | $/M at {comparison.utilization:.0%} | units for target "
        "| $/month | break-even utilization | months to break even | basis |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in sorted(comparison.options, key=lambda o: o.usd_per_million_at_utilization):
        be_util, be_months = _break_even_text(o)
        out.append(
            f"| {o.name} | {o.kind} | {o.rps_per_unit:.4g} | {_fmt_money(o.usd_per_million_full)} "
            f"| {_fmt_money(o.usd_per_million_at_utilization)} | {o.fleet.units} | {o.fleet.monthly_usd:,.0f} "
            f"| {be_util} | {be_months} | {o.basis} |"
        )
    if comparison.reference:
        out += [
            "",
            f"Break-even is against `{comparison.reference.name}`, the cheapest cloud on-demand option.",
        ]
    if comparison.not_priced:
        out += ["", "Not priced (no throughput for their device; add `--throughput DEVICE=RPS`): "
                + ", ".join(f"{r['name']} ({r['device']})" for r in comparison.not_priced) + "."]  # fmt: skip
    out += ["", "## Sensitivity to utilization (USD per million inferences)", ""]
    header = (
        "| option | "
        + " | ".join(f"{u:.0%}" for u, _ in (comparison.options[0].sensitivity if comparison.options else []))
        + " |"
    )
    out += [header, "|---" * (header.count("|") - 1) + "|"]
    for o in comparison.options:
        out.append(f"| {o.name} | " + " | ".join(_fmt_money(v) for _, v in o.sensitivity) + " |")
    if chart_name:
        out += ["", f"![cost per million inferences vs utilization]({chart_name})"]
    out += ["", "## Method", ""] + [f"- {line}" for line in METHOD]
    out += [
        "",
        "## Catalog figures",
        "",
        "| field | value | basis | source | date |",
        "|---|---|---|---|---|",
    ]
    for row in cited(comparison.catalog):
        out.append(
            f"| {row['field']} | {row['value']:g} | {row['basis']} | {row['source']} | {row['date']} |"
        )
    return "\n".join(out) + "\n"


def write_chart(comparison: Comparison, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from inferstack.cost import model

    fig, ax = plt.subplots(figsize=(10, 6.5), dpi=110)
    grid = np.linspace(0.02, 1.0, 99)
    # One colour per instance or server, one line style per pricing: the eye finds an instance, then its price.
    instances = list(dict.fromkeys(o.instance for o in comparison.options))
    colours = plt.get_cmap("tab10" if len(instances) <= 10 else "tab20")
    styles = {"on_demand": "-", "commit_1y": "--", "commit_3y": "-.", "spot": ":"}
    for o in sorted(comparison.options, key=lambda o: -o.usd_per_million_full):
        ys = [model.usd_per_million(o.unit, o.rps_per_unit, float(u)) for u in grid]
        ax.plot(
            grid * 100,
            ys,
            styles.get(o.pricing, "-"),
            color=colours(instances.index(o.instance)),
            linewidth=2.8 if o.kind == "onprem" else 1.6,
            label=f"{o.name} ({o.kind})",
        )
    ax.axvline(comparison.utilization * 100, color="grey", linewidth=0.8, label="chosen utilization")
    ax.set_yscale("log")
    ax.set_xlabel("utilization (% of the capacity bought that is busy)")
    ax.set_ylabel("USD per million inferences (log scale)")
    title = f"Cost per million inferences vs utilization ({comparison.results.slo_name})"
    if comparison.label:
        title = "\n".join(textwrap.wrap(comparison.label, 120)) + "\n" + title
    ax.set_title(title, fontsize=9, color="red" if not comparison.slo_passed else "black")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return path


def write_all(comparison: Comparison, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = write_chart(comparison, out_dir / CHART_NAME)
    report = _write_text(out_dir / MARKDOWN_NAME, to_markdown(comparison, CHART_NAME))
    data = _write_text(out_dir / JSON_NAME, json.dumps(to_json(comparison), indent=2) + "\n")
    return {"cost.json": data, "report": report, "chart": chart}
