"""What a person reads after `inferstack bench`: the terminal table, report.md with plots, the MLflow run."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

NAMES = {"naive": "naive (FastAPI + torch FP32)", "triton": "ours (Triton + ORT INT8)"}
COLORS = {"naive": "tab:red", "triton": "tab:blue"}


def _f(value, fmt="{:.1f}", none="-") -> str:
    return none if value is None else fmt.format(value)


def _rows(result: dict) -> list[tuple[str, str, str, str]]:
    s = result["systems"]
    n, t = s.get("naive", {}), s.get("triton", {})
    r = result["ratios"]
    fixed = result["slo"]["fixed_rate_rps"]

    def get(d, *keys):
        for k in keys:
            d = (d or {}).get(k)
        return d

    rows = [
        (
            f"max req/s with p95 <= {result['slo']['p95_ms']:g} ms",
            _f(n.get("max_rps_within_slo")),
            _f(t.get("max_rps_within_slo")),
            _f(r["throughput_at_slo"], "{:.2f}x"),
        ),
    ]
    for p in ("p50", "p95", "p99"):
        rows.append(
            (
                f"{p} at {fixed:g} req/s (ms)",
                _f(get(n, "fixed_rate", f"{p}_ms")),
                _f(get(t, "fixed_rate", f"{p}_ms")),
                _f(r["p95_at_fixed_rate"], "{:.2f}x") if p == "p95" else "",
            )
        )
    rows += [
        (
            f"errors at {fixed:g} req/s",
            _f(get(n, "fixed_rate", "error_ratio"), "{:.2%}"),
            _f(get(t, "fixed_rate", "error_ratio"), "{:.2%}"),
            "",
        ),
        (
            f"server CPU at {fixed:g} req/s (cores)",
            _f(get(n, "fixed_rate", "server_cpu_cores"), "{:.2f}"),
            _f(get(t, "fixed_rate", "server_cpu_cores"), "{:.2f}"),
            "",
        ),
        (
            "server CPU at max (cores)",
            _f(get(n, "at_max", "server_cpu_cores"), "{:.2f}"),
            _f(get(t, "at_max", "server_cpu_cores"), "{:.2f}"),
            "",
        ),
        (
            "req per server CPU-second at max",
            _f(get(n, "at_max", "requests_per_cpu_second")),
            _f(get(t, "at_max", "requests_per_cpu_second")),
            _f(r.get("requests_per_cpu_second"), "{:.2f}x"),
        ),
        (
            "cold start to ready (s)",
            _f(n.get("cold_start_to_ready_s")),
            _f(t.get("cold_start_to_ready_s")),
            "",
        ),
        (
            "model size (MB)",
            _f(result["model"]["fp32_size_mb"]),
            _f(result["model"]["int8_size_mb"]),
            _f(r["model_size"], "{:.2f}x"),
        ),
        (
            "raw engine ceiling (seq/s)",
            "",
            _f(result["ceiling"]["engine_seq_per_s"]),
            _f(r["serving_efficiency"], "{:.0%} served"),
        ),
        (
            "engine seq per CPU-second (ceiling)",
            "",
            _f(result["ceiling"].get("engine_seq_per_cpu_s")),
            _f(r.get("serving_efficiency_per_cpu"), "{:.0%} per CPU"),
        ),
    ]
    server_side = get(t, "server_side", "at_max") or {}
    if server_side:
        rows.append(
            (
                "Triton at max: batch / queue / compute",
                "",
                f"{_f(server_side.get('avg_batch_size'), '{:.1f}')} / {_f(server_side.get('avg_queue_ms'))} / "
                f"{_f(server_side.get('avg_compute_ms'))} ms",
                "",
            )
        )
    return rows


def table(result: dict) -> Table:
    t = Table(title="inferstack bench: optimized vs naive serving, side by side")
    for column, justify in (("", "left"), ("naive", "right"), ("ours", "right"), ("ratio", "right")):
        t.add_column(column, justify=justify)
    for row in _rows(result):
        t.add_row(*row)
    m = result["machine"]
    t.caption = (
        f"{m.get('cpu_count')} cores ({m.get('cpu_model', '?')}; {' '.join(m.get('cpu_flags', []))}), "
        f"load average {m['load_average_before'][0]} -> {m['load_average_after'][0]}, "
        f"others' CPU median {m.get('others_cpu_cores_median')} cores; scale {result['scale']['name']}, "
        f"{result['scale']['rounds']} round(s)"
    )
    return t


def _judged_latencies(path: Path, warmup_s: float, measure_s: float) -> list[float]:
    data = json.loads(path.read_text())
    t0 = data["t0"]
    return [s[1] for s in data["samples"] if s[2] and t0 + warmup_s <= s[0] < t0 + warmup_s + measure_s]


def plots(result: dict, out: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    files = {}
    p95_slo = result["slo"]["p95_ms"]
    systems = [
        s
        for s in ("naive", "triton")
        if s in result["systems"] and "max_rps_within_slo" in result["systems"][s]
    ]

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for system in systems:
        steps = sorted(
            (s for s in result["steps"] if s["system"] == system and s["p95_ms"] is not None),
            key=lambda s: s["offered_rps"],
        )
        ax.plot(
            [s["achieved_rps"] for s in steps],
            [s["p95_ms"] for s in steps],
            "o-",
            color=COLORS[system],
            alpha=0.8,
            label=NAMES[system],
        )
        best = result["systems"][system]["max_rps_within_slo"]
        if best:
            ax.axvline(best, color=COLORS[system], linestyle=":", alpha=0.7)
    ax.axhline(p95_slo, color="black", linestyle="--", alpha=0.5, label=f"SLO p95 {p95_slo:g} ms")
    ax.set_yscale("log")
    ax.set(
        xlabel="achieved requests / s",
        ylabel="p95 latency (ms, log)",
        title="Throughput vs p95 (each point one constant-rate step; dotted: max within SLO)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput_vs_p95.png", dpi=110)
    plt.close(fig)
    files["throughput_vs_p95"] = "throughput_vs_p95.png"

    fig, ax = plt.subplots(figsize=(8, 4.5))
    scale = result["scale"]
    for system in systems:
        lat = []
        for s in result["steps"]:
            if s["system"] == system and s["kind"] == "fixed" and s.get("samples_file"):
                lat += _judged_latencies(
                    out / s["samples_file"], scale["fixed_warmup_s"], scale["fixed_measure_s"]
                )
        if not lat:
            continue
        x = np.sort(np.array(lat))
        ax.plot(
            x, np.arange(1, len(x) + 1) / len(x), color=COLORS[system], label=f"{NAMES[system]} (n={len(x)})"
        )
    ax.axvline(p95_slo, color="black", linestyle="--", alpha=0.5, label=f"SLO p95 {p95_slo:g} ms")
    ax.axhline(0.95, color="grey", linestyle=":", alpha=0.5)
    ax.set_xscale("log")
    ax.set(
        xlabel="latency (ms, log)",
        ylabel="fraction of requests",
        title=f"Latency distribution at {result['slo']['fixed_rate_rps']:g} req/s (all rounds)",
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "latency_cdf.png", dpi=110)
    plt.close(fig)
    files["latency_cdf"] = "latency_cdf.png"

    rows = result["ceiling"]["by_batch_size"]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["engine_seq_per_s"] for r in rows], 0.4, label="engine (session.run)")
    ax.bar(x + 0.2, [r["pipeline_seq_per_s"] for r in rows], 0.4, label="tokenizer + engine")
    if "triton" in systems and result["systems"]["triton"].get("max_rps_within_slo"):
        ax.axhline(
            result["systems"]["triton"]["max_rps_within_slo"],
            color=COLORS["triton"],
            linestyle="--",
            label="served by Triton within SLO",
        )
    ax.set_xticks(x, [str(r["batch_size"]) for r in rows])
    ax.set(
        xlabel="batch size",
        ylabel="sequences / s",
        title=f"Raw engine ceiling, {result['ceiling']['best_layout']} (ONNX Runtime alone)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "ceiling.png", dpi=110)
    plt.close(fig)
    files["ceiling"] = "ceiling.png"
    return files


def markdown(result: dict, files: dict[str, str]) -> str:
    m = result["machine"]
    lines = [
        "# inferstack bench: optimized vs naive serving",
        "",
        f"{result['started_at']} to {result['finished_at']}, scale `{result['scale']['name']}` "
        f"({result['scale']['rounds']} round(s), systems alternating A B A B). Model `{result['model']['name']}` "
        f"version {result['model']['version']} (build {result['model']['build_key']}), the same weights in both: "
        "FP32 eager in the naive server, INT8 ONNX in Triton.",
        "",
        f"Machine: {m.get('cpu_count')} cores, {m.get('cpu_model', '?')}, CPU flags {', '.join(m.get('cpu_flags', []))}; "
        f"{m.get('platform')}. Load average {m['load_average_before']} before, {m['load_average_after']} after; "
        f"other processes used {m.get('others_cpu_cores_median')} cores (median over steps, max "
        f"{m.get('others_cpu_cores_max')}). The load generator (Locust) runs on the same cores.",
        "",
        "| | naive | ours | ratio |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in _rows(result)]
    lines += ["", "## Targets", "", "| target | wanted | measured | |", "|---|---|---|---|"]
    for name, t in result["targets"].items():
        lines.append(f"| {name} | {t['target']} | {t['measured']} | {'met' if t['met'] else 'NOT met'} |")
    agree = result["model"].get("label_agreement")
    if agree:
        lines += [
            "",
            f"Same model check: labels agree on {agree['label_agreement']:.1%} of {agree['texts']} texts "
            "(FP32 eager vs INT8; the build's fidelity gate allows 95 %).",
        ]
    lines += ["", "## Plots", ""]
    lines += [f"![{name}]({path})" for name, path in files.items()]
    lines += [
        "",
        "## Every step",
        "",
        "| system | round | kind | offered | achieved | p50 | p95 | p99 | errors | "
        "server cores | locust cores | others | batch | held |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in result["steps"]:
        c = s["cpu_cores"]
        lines.append(
            f"| {s['system']} | {s['round']} | {s['kind']} | {s['offered_rps']:g} | {s['achieved_rps']:.1f} | "
            f"{_f(s['p50_ms'])} | {_f(s['p95_ms'])} | {_f(s['p99_ms'])} | {s['error_ratio']:.1%} | "
            f"{_f(c.get('server'), '{:.2f}')} | {_f(c.get('load_generator'), '{:.2f}')} | "
            f"{_f(c.get('others'), '{:.2f}')} | {_f(s['server'].get('avg_batch_size'), '{:.1f}')} | "
            f"{'yes' if s['passed'] else 'no'} |"
        )
    c = result["ceiling"]
    lines += [
        "",
        "## Raw engine ceiling",
        "",
        f"Best: {c['engine_seq_per_s']} seq/s, {c['best_layout']}, batch "
        f"{c['best_batch_size']} (padding to the longest text in each batch).",
        "",
    ]
    for layout in c.get("layouts", []):
        lines += [
            f"{layout['processes']} process(es) x {layout['intra_op_threads']} thread(s), side by side "
            f"(machine busy {layout['machine_busy_cores']} cores while measuring):",
            "",
            "| batch | engine seq/s | tokenizer + engine seq/s | mean tokens |",
            "|---:|---:|---:|---:|",
        ]
        for r in layout["by_batch_size"]:
            lines.append(
                f"| {r['batch_size']} | {r['engine_seq_per_s']} | {r['pipeline_seq_per_s']} | {r['mean_tokens']} |"
            )
        lines.append("")
    triton = result["systems"].get("triton", {})
    lines += [
        "",
        f"Triton serving settings: `{json.dumps(triton.get('serving'))}`"
        + (f", overrides `{triton.get('overrides')}`" if triton.get("overrides") else ""),
        "",
    ]
    return "\n".join(lines)


def write(result: dict, out: Path) -> dict[str, str]:
    files = plots(result, out)
    (out / "report.md").write_text(markdown(result, files))
    return {"report": "report.md", **files}


def log_mlflow(result: dict, out: Path) -> dict:
    from inferstack.model import tracking

    mlflow, _ = tracking.setup(tracking.tracking_uri(), "inferstack-bench")
    with mlflow.start_run(run_name=f"bench-{result['scale']['name']}") as run:
        mlflow.set_tags(
            {"kind": "bench", "scale": result["scale"]["name"], "model_version": result["model"]["version"]}
        )
        m = result["machine"]
        mlflow.log_params(
            {
                "cpu_count": m.get("cpu_count"),
                "cpu_flags": " ".join(m.get("cpu_flags", [])),
                "load_average_before": m["load_average_before"][0],
                **{
                    f"serving.{k}": json.dumps(v)
                    for k, v in result["systems"].get("triton", {}).get("serving", {}).items()
                },
            }
        )
        metrics = {f"ratio.{k}": v for k, v in result["ratios"].items() if v is not None}
        for system in ("naive", "triton"):
            s = result["systems"].get(system, {})
            for key, value in (
                ("max_rps_within_slo", s.get("max_rps_within_slo")),
                ("fixed_p95_ms", s.get("fixed_rate", {}).get("p95_ms")),
                ("fixed_p99_ms", s.get("fixed_rate", {}).get("p99_ms")),
                ("cold_start_s", s.get("cold_start_to_ready_s")),
            ):
                if value is not None:
                    metrics[f"{system}.{key}"] = value
        metrics["ceiling.engine_seq_per_s"] = result["ceiling"]["engine_seq_per_s"]
        mlflow.log_metrics(metrics)
        for name in ("report.md", *result["artifacts"].values()):
            if (out / name).is_file():
                mlflow.log_artifact(str(out / name))
        (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
        mlflow.log_artifact(str(out / "bench.json"))
        return {"tracking_uri": tracking.tracking_uri(), "run_id": run.info.run_id}
