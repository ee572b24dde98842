"""A report a person can read: verdict first, then figures and plots (Markdown, with PNG plots beside it)."""

from __future__ import annotations

from pathlib import Path

from inferstack.results import Results

UNITS = {"error_ratio": "", "achieved_ratio": ""}


def _fmt(metric: str, value) -> str:
    if value is None:
        return "not measured"
    if metric.endswith("_ms"):
        return f"{value:.1f} ms"
    return f"{value:.2%}" if metric == "error_ratio" else f"{value:.3f}"


def plots(results: Results, out: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results.timeseries
    t = [r["t"] for r in rows]
    files = {}
    warm = results.load.warmup_s
    end = warm + results.load.measure_s

    fig, ax = plt.subplots(figsize=(9, 4))
    for key, style in (("p50", "-"), ("p95", "-"), ("p99", ":")):
        ax.plot(t, [r[key] if r[key] is not None else float("nan") for r in rows], style, label=key)
    for o in results.objectives:
        if o.metric in ("latency_p95_ms", "latency_p99_ms"):
            ax.axhline(
                o.threshold, color="red", alpha=0.4, linestyle="--", label=f"SLO {o.name} {o.threshold:g} ms"
            )
    ax.axvspan(0, warm, color="grey", alpha=0.15, label="warm-up (not judged)")
    ax.axvspan(end, max(t + [end]), color="grey", alpha=0.15)
    ax.set(
        xlabel="seconds",
        ylabel="latency (ms)",
        title=f"Latency percentiles per second: {results.target.model}",
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    files["latency_plot"] = "latency.png"

    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(t, [r["rps"] for r in rows], label="answered req/s")
    ax.plot(t, [r["failures"] for r in rows], color="red", label="failed req/s")
    offered, acc = [], 0.0
    stage_edges = []
    for stage in results.load.stages:
        stage_edges.append((acc, acc + stage["duration_s"], stage["rps"]))
        acc += stage["duration_s"]
    for second in t:
        offered.append(next((rps for lo, hi, rps in stage_edges if lo <= second < hi), stage_edges[-1][2]))
    ax.step(t, offered, where="post", linestyle="--", color="black", alpha=0.6, label="offered req/s")
    ax.axvspan(0, warm, color="grey", alpha=0.15)
    ax.set(xlabel="seconds", ylabel="requests / s", title="Throughput")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)
    files["throughput_plot"] = "throughput.png"
    return files


def markdown(results: Results, files: dict[str, str], build_info: dict | None) -> str:
    verdict = (
        "PASS: every objective holds"
        if results.verdict.passed
        else f"FAIL: missed {', '.join(results.verdict.failed)}"
    )
    m = results.measured
    lines = [
        f"# Load test: {results.slo_name}",
        "",
        f"**Verdict: {verdict}**",
        "",
        f"Target `{results.target.url}`, model `{results.target.model}` version {results.target.model_version or '?'} "
        f"({results.target.environment}), {results.started_at} to {results.finished_at}. SLO file `{results.slo_file}`.",
        "",
        "| objective | metric | threshold | measured | |",
        "|---|---|---|---|---|",
    ]
    for o in results.objectives:
        lines.append(
            f"| {o.name} | {o.metric} | {o.op} {_fmt(o.metric, o.threshold)} | {_fmt(o.metric, o.measured)} | "
            f"{'pass' if o.passed else '**FAIL**'} |"
        )
    lat = m.latency_ms
    lines += [
        "",
        "## Load and what was measured",
        "",
        f"Offered {results.load.offered_rps:g} req/s by {results.load.users} users; judged window "
        f"{results.load.measure_s:g} s after a {results.load.warmup_s:g} s warm-up.",
        "",
        "| requests | failures | achieved req/s | successful req/s | p50 | p90 | p95 | p99 | max |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {m.requests} | {m.failures} | {m.achieved_rps:.2f} | {m.successful_rps:.2f} | {lat.p50} | {lat.p90} | "
        f"{lat.p95} | {lat.p99} | {lat.max} |",
        "",
        "Latencies in ms, client side.",
    ]
    if m.errors:
        lines += ["", "Errors by kind:", ""] + [
            f"- {kind}: {count}" for kind, count in sorted(m.errors.items())
        ]
    s = results.server
    lines += ["", "## Triton's view of the judged window", ""]
    if s.available:
        lines += [
            "| inferences | executions | average batch | request ms | queue ms | compute ms |",
            "|---|---|---|---|---|---|",
            f"| {s.inference_count:.0f} | {s.execution_count:.0f} | {s.avg_batch_size} | {s.avg_request_ms} | "
            f"{s.avg_queue_ms} | {s.avg_compute_ms} |",
        ]
    else:
        lines.append(f"Not available: {s.note}")
    lines += [
        "",
        "## Plots",
        "",
        f"![latency]({files['latency_plot']})",
        "",
        f"![throughput]({files['throughput_plot']})",
    ]
    if build_info:
        mt = build_info.get("metrics", {})
        lines += [
            "",
            f"## The model: {build_info.get('name')} (build {build_info.get('build_key')})",
            "",
            f"Held-out set: {build_info.get('dataset', {}).get('test_examples')} texts from "
            f"`{build_info.get('dataset', {}).get('origin')}`, split by group.",
            "",
            "| | FP32 | INT8 (served) |",
            "|---|---|---|",
            f"| accuracy | {mt.get('fp32_accuracy', 0):.3f} | {mt.get('int8_accuracy', 0):.3f} |",
            f"| ROC AUC | {mt.get('fp32_roc_auc', 0):.3f} | {mt.get('int8_roc_auc', 0):.3f} |",
            f"| size (MB) | {mt.get('fp32_size_mb', 0):.1f} | {mt.get('int8_size_mb', 0):.1f} |",
            f"| p50 / p95 batch 1 (ms) | {mt.get('fp32_latency_p50_ms', 0):.1f} / {mt.get('fp32_latency_p95_ms', 0):.1f} | "
            f"{mt.get('int8_latency_p50_ms', 0):.1f} / {mt.get('int8_latency_p95_ms', 0):.1f} |",
            "",
            f"Label agreement INT8 vs FP32: {mt.get('label_agreement', 0):.3f}; AUC drop {mt.get('auc_drop', 0):+.4f}. "
            f"MLflow run `{build_info.get('mlflow', {}).get('run_id')}`, registered version "
            f"{build_info.get('published', {}).get('mlflow_model_version')}.",
        ]
    machine = results.machine
    lines += [
        "",
        "## Machine",
        "",
        f"Load generator: {machine.get('cpu_model', '?')}, {machine.get('cpu_count')} logical CPUs, "
        f"flags {', '.join(machine.get('cpu_flags', []))}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(results.versions.items()))
        + ".",
    ]
    return "\n".join(lines) + "\n"


def write(results: Results, out: Path, build_info: dict | None = None) -> dict[str, str]:
    files = plots(results, out)
    (out / "report.md").write_text(markdown(results, files, build_info))
    return {"report": "report.md", **files}
