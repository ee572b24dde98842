"""The benchmark: naive vs optimized serving in one run, same weights, texts, load shapes and machine.

Per round (A B A B: the two systems alternate, so drift in the machine's load hits both):
  fixed rate   the SLO file's offered rate, judged like `inferstack loadtest` (p50/p95/p99, errors, CPU)
  search       the highest constant rate whose step keeps p95 within the SLO, no errors and >= 95 % of the
               offered rate achieved: a geometric ladder of short steps, then bisection between the last
               step that held and the first that did not.
Once: the raw engine ceiling (ONNX Runtime alone in its own process, servers idle), cold start to ready,
and a label-agreement check that both servers serve the same model.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from inferstack.bench import servers
from inferstack.bench.cpu import CpuSampler
from inferstack.loadtest import runner
from inferstack.modeldef import ModelDefinition
from inferstack.slo import SLO

SCHEMA = "inferstack.bench/v1"
SYSTEMS = ("naive", "triton")


@dataclass(frozen=True)
class Scale:
    """How long the bench runs. `full` is what `make bench` runs; `quick` and `tiny` trade precision for time."""

    name: str
    rounds: int
    step_warmup_s: int
    step_measure_s: int
    start_rps: float
    factor: float
    bisections: int
    max_steps: int
    fixed_warmup_s: int
    fixed_measure_s: int
    ceiling_seconds: float
    batch_sizes: tuple[int, ...]


SCALES = {
    "full": Scale("full", 2, 4, 10, 10.0, 1.5, 3, 14, 5, 30, 3.0, (1, 2, 4, 8, 16, 32)),
    "quick": Scale("quick", 1, 2, 6, 10.0, 1.6, 1, 10, 3, 12, 1.0, (1, 4, 8, 16)),
    "tiny": Scale("tiny", 1, 1, 3, 5.0, 2.0, 0, 2, 1, 3, 0.2, (1, 4)),
}


@dataclass
class Step:
    system: str
    round: int
    kind: str  # "fixed" | "search"
    offered_rps: float
    achieved_rps: float
    successful_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    error_ratio: float
    passed: bool
    users: int
    cpu_cores: dict = field(default_factory=dict)
    server: dict = field(default_factory=dict)
    load_average: float = 0.0
    samples_file: str | None = None


def step_slo(
    model: str, rps: float, warmup_s: int, measure_s: int, p95_ms: float, users_per_rps: float
) -> SLO:
    return SLO.model_validate(
        {
            "name": f"bench-{rps:g}rps",
            "model": model,
            "load": {"offered_rps": rps, "users_per_rps": users_per_rps},
            "window": {"warmup": f"{warmup_s}s", "measure": f"{measure_s}s"},
            "objectives": [
                {"name": "p95-latency", "metric": "latency_p95_ms", "op": "<=", "threshold": p95_ms},
                {"name": "error-rate", "metric": "error_ratio", "op": "<", "threshold": 0.01},
                {"name": "throughput", "metric": "achieved_ratio", "op": ">=", "threshold": 0.95},
            ],
        }
    )


class Bench:
    def __init__(
        self,
        definition: ModelDefinition,
        slo: SLO,
        slo_file: Path,
        texts: list[str],
        labels: list[str],
        scale: Scale,
        out: Path,
        echo=print,
    ):
        self.definition = definition
        self.slo = slo
        self.slo_file = slo_file
        self.texts = texts
        self.labels = labels
        self.scale = scale
        self.out = out
        self.echo = echo
        self.p95_slo = next((o.threshold for o in slo.objectives if o.metric == "latency_p95_ms"), 100.0)
        self.fixed_rps = slo.stages[-1][1]
        self.users_per_rps = slo.load.users_per_rps
        self.steps: list[Step] = []
        self.servers: dict[str, servers.Running] = {}
        (out / "steps").mkdir(parents=True, exist_ok=True)

    # --- one load step -------------------------------------------------------------------------------
    def step(self, system: str, rnd: int, kind: str, rps: float, warmup_s: int, measure_s: int) -> Step:
        server = self.servers[system]
        slo = step_slo(self.definition.name, rps, warmup_s, measure_s, self.p95_slo, self.users_per_rps)
        samples = self.out / "steps" / f"{kind}-{system}-r{rnd}-{rps:.1f}.json"
        for other in self.servers.values():  # a backlog left in either server must not share the cores
            drain(other.url, self.definition.name, self.texts[0])
        with CpuSampler(server.pid) as sampler:
            results = runner.run(
                server.url,
                slo,
                self.slo_file,
                self.out / "steps",
                self.texts,
                self.labels,
                metrics_url=server.metrics_url,
                environment="local",
                echo=lambda *_: None,
                keep_samples=samples,
            )
        t0 = json.loads(samples.read_text())["t0"]
        cores = sampler.cores(t0 + warmup_s, t0 + warmup_s + measure_s)
        m = results.measured
        server_view = results.server.model_dump() if results.server.available else {}
        s = Step(
            system,
            rnd,
            kind,
            round(rps, 2),
            m.achieved_rps,
            m.successful_rps,
            m.latency_ms.p50,
            m.latency_ms.p95,
            m.latency_ms.p99,
            m.error_ratio,
            results.verdict.passed,
            results.load.users,
            cores,
            server_view,
            round(os.getloadavg()[0], 2),
            str(samples.relative_to(self.out)),
        )
        self.steps.append(s)
        mark = "holds" if s.passed else "misses " + ",".join(results.verdict.failed)
        batch = f", server batch {server_view.get('avg_batch_size')}" if server_view else ""
        self.echo(
            f"  {system:6} {kind:6} {rps:7.1f} req/s offered: {m.achieved_rps:7.1f} achieved, p95 "
            f"{_ms(m.latency_ms.p95)}, errors {m.error_ratio:.1%}, server {cores['server']} cores{batch}: {mark}"
        )
        return s

    def search(self, system: str, rnd: int, start: float) -> float:
        """Highest offered rate that held the SLO (0.0 when even the first step missed)."""
        sc = self.scale
        held, missed, rate = 0.0, None, start
        for _ in range(sc.max_steps):
            if self.step(system, rnd, "search", rate, sc.step_warmup_s, sc.step_measure_s).passed:
                held, rate = rate, rate * sc.factor
            else:
                missed = rate
                break
        if missed is None:
            return held
        if held == 0.0:  # even the first step missed: walk down instead
            rate = start
            for _ in range(sc.max_steps):
                rate /= sc.factor
                if rate < 0.5:
                    return 0.0
                if self.step(system, rnd, "search", rate, sc.step_warmup_s, sc.step_measure_s).passed:
                    held = rate
                    break
                missed = rate
            if held == 0.0:
                return 0.0
        for _ in range(sc.bisections):
            mid = (held * missed) ** 0.5
            if missed / held < 1.06:
                break
            if self.step(system, rnd, "search", mid, sc.step_warmup_s, sc.step_measure_s).passed:
                held = mid
            else:
                missed = mid
        return held

    # --- the whole run ---------------------------------------------------------------------------------
    def rounds(self) -> dict[str, list[float]]:
        sc = self.scale
        maxima: dict[str, list[float]] = {s: [] for s in self.servers}
        for rnd in range(1, sc.rounds + 1):
            self.echo(
                f"[bold]round {rnd}/{sc.rounds}[/]: fixed rate {self.fixed_rps:g} req/s, then the "
                f"highest rate with p95 <= {self.p95_slo:g} ms"
            )
            for system in self.servers:
                self.step(system, rnd, "fixed", self.fixed_rps, sc.fixed_warmup_s, sc.fixed_measure_s)
            for system in self.servers:
                previous = maxima[system]
                # later rounds start two ladder steps below the last round's answer
                start = max(sc.start_rps, previous[-1] / sc.factor**2) if previous else sc.start_rps
                maxima[system].append(round(self.search(system, rnd, start), 2))
                self.echo(f"  {system}: {maxima[system][-1]:.1f} req/s sustained within the SLO")
        return maxima


def infer(url: str, model: str, text: str, timeout: float = 30.0) -> dict:
    body = json.dumps({"inputs": [{"name": "TEXT", "shape": [1, 1], "datatype": "BYTES", "data": [text]}]})
    req = urllib.request.Request(
        f"{url}/v2/models/{model}/infer", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return {o["name"]: o for o in json.loads(response.read())["outputs"]}


def drain(url: str, model: str, text: str) -> None:
    """Wait until the previous step's backlog is served: an overloaded step leaves requests queued in the
    server after Locust stops, and they must not be charged to the next step. One request queues behind
    them; when it returns, the server is idle. Then a pause, so spinning thread pools go quiet."""
    with contextlib.suppress(OSError):  # the step itself records what is wrong
        infer(url, model, text, timeout=120.0)
    time.sleep(1.0)


def agreement(naive_url: str, triton_url: str, texts: list[str], model: str) -> dict:
    """Both servers must serve the same classifier: labels of FP32 eager vs INT8 ONNX on the same texts."""
    same, n = 0, 0
    for text in texts:
        answers = [infer(url, model, text)["LABEL"]["data"][0] for url in (naive_url, triton_url)]
        same += answers[0] == answers[1]
        n += 1
    return {"texts": n, "label_agreement": round(same / n, 4) if n else None}


def engine_ceiling(version_dir: Path, texts: list[str], scale: Scale, padding: str) -> dict:
    """The raw ceiling, ONNX Runtime alone in processes of its own (one session per process, servers idle).

    Two layouts: one process with one thread per core, and one single-threaded process per core running
    side by side (their rates summed). The ceiling is the better one at its best batch size."""
    cores = os.cpu_count() or 1
    layouts = [(1, cores)] + ([(cores, 1)] if cores > 1 else [])
    results = []
    with tempfile.TemporaryDirectory(prefix="inferstack-ceiling-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps({"texts": texts}))
        for processes, threads in layouts:
            start_at = time.time() + 4.0  # every process loaded before any measures
            procs, outs = [], []
            for i in range(processes):
                out = Path(tmp) / f"ceiling-{processes}x{threads}-{i}.json"
                command = [
                    sys.executable,
                    "-m",
                    "inferstack.bench.engine",
                    "--version-dir",
                    str(version_dir),
                    "--texts",
                    str(texts_file),
                    "--out",
                    str(out),
                    "--seconds",
                    str(scale.ceiling_seconds),
                    "--batch-sizes",
                    ",".join(map(str, scale.batch_sizes)),
                    "--threads",
                    str(threads),
                    "--padding",
                    padding,
                    "--start-at",
                    str(start_at),
                ]
                procs.append(
                    subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                )
                outs.append(out)
            time.sleep(max(0.0, start_at - time.time()))
            busy0, t0 = _busy(), time.time()
            for proc in procs:
                _, err = proc.communicate(timeout=600)
                if proc.returncode != 0:
                    raise RuntimeError(f"the engine ceiling run failed:\n{err[-2000:]}")
            parts = [json.loads(out.read_text()) for out in outs]
            rows = []
            for k, row in enumerate(parts[0]["by_batch_size"]):
                rows.append(
                    {
                        **row,
                        "engine_seq_per_s": round(
                            sum(p["by_batch_size"][k]["engine_seq_per_s"] for p in parts), 2
                        ),
                        "pipeline_seq_per_s": round(
                            sum(p["by_batch_size"][k]["pipeline_seq_per_s"] for p in parts), 2
                        ),
                        "engine_seq_per_cpu_s": round(
                            sum(p["by_batch_size"][k]["engine_seq_per_cpu_s"] for p in parts) / len(parts), 2
                        ),
                    }
                )
            best = max(rows, key=lambda r: r["engine_seq_per_s"])
            results.append(
                {
                    "processes": processes,
                    "intra_op_threads": threads,
                    "by_batch_size": rows,
                    "best_batch_size": best["batch_size"],
                    "engine_seq_per_s": best["engine_seq_per_s"],
                    "pipeline_seq_per_s": max(r["pipeline_seq_per_s"] for r in rows),
                    "machine_busy_cores": round((_busy() - busy0) / (time.time() - t0), 3),
                }
            )
    top = max(results, key=lambda r: r["engine_seq_per_s"])
    return {
        "layouts": results,
        "padding": padding,
        "seconds_per_size": scale.ceiling_seconds,
        "best_layout": f"{top['processes']} process(es) x {top['intra_op_threads']} thread(s)",
        "best_batch_size": top["best_batch_size"],
        "engine_seq_per_cpu_s": max(
            r["engine_seq_per_cpu_s"] for lay in results for r in lay["by_batch_size"]
        ),
        "engine_seq_per_s": top["engine_seq_per_s"],
        "pipeline_seq_per_s": max(r["pipeline_seq_per_s"] for r in results),
        "by_batch_size": top["by_batch_size"],
    }


def _busy() -> float:
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(statistics.median(vals), 3) if vals else None


def summarize(bench: Bench, maxima: dict[str, list[float]]) -> dict:
    """Per system: the median over rounds of the searched maximum and of the fixed-rate figures."""
    out = {}
    for system in bench.servers:
        fixed = [s for s in bench.steps if s.system == system and s.kind == "fixed"]
        best = maxima[system]
        at_max = []
        for rnd, rate in enumerate(best, start=1):
            match = [
                s
                for s in bench.steps
                if s.system == system
                and s.kind == "search"
                and s.round == rnd
                and s.passed
                and abs(s.offered_rps - round(rate, 2)) < 0.02
            ]
            at_max.extend(match[-1:])
        server_cores_max = _median([s.cpu_cores.get("server") for s in at_max])
        throughput = _median(best)
        out[system] = {
            "max_rps_within_slo": throughput,
            "max_rps_by_round": best,
            "achieved_rps_at_max": _median([s.achieved_rps for s in at_max]),
            "fixed_rate": {
                "offered_rps": bench.fixed_rps,
                "achieved_rps": _median([s.achieved_rps for s in fixed]),
                "p50_ms": _median([s.p50_ms for s in fixed]),
                "p95_ms": _median([s.p95_ms for s in fixed]),
                "p99_ms": _median([s.p99_ms for s in fixed]),
                "error_ratio": max((s.error_ratio for s in fixed), default=None),
                "server_cpu_cores": _median([s.cpu_cores.get("server") for s in fixed]),
                "load_generator_cpu_cores": _median([s.cpu_cores.get("load_generator") for s in fixed]),
                "by_round": [
                    {
                        "round": s.round,
                        "p50_ms": s.p50_ms,
                        "p95_ms": s.p95_ms,
                        "p99_ms": s.p99_ms,
                        "error_ratio": s.error_ratio,
                    }
                    for s in fixed
                ],
            },
            "at_max": {
                "server_cpu_cores": server_cores_max,
                "load_generator_cpu_cores": _median([s.cpu_cores.get("load_generator") for s in at_max]),
                "others_cpu_cores": _median([s.cpu_cores.get("others") for s in at_max]),
                "requests_per_cpu_second": round(throughput / server_cores_max, 2)
                if throughput and server_cores_max
                else None,
                "p95_ms": _median([s.p95_ms for s in at_max]),
            },
            "cold_start_to_ready_s": bench.servers[system].ready_s,
        }
        if system == "triton":

            def server_median(steps, key):
                return _median([s.server.get(key) for s in steps if s.server])

            out[system]["server_side"] = {
                where: {
                    key: server_median(steps, key)
                    for key in ("avg_batch_size", "avg_queue_ms", "avg_compute_ms", "avg_request_ms")
                }
                for where, steps in (("fixed_rate", fixed), ("at_max", at_max))
            }
    return out


def ratio(a, b) -> float | None:
    return round(a / b, 3) if a and b else None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def as_dicts(steps: list[Step]) -> list[dict]:
    return [asdict(s) for s in steps]


# --- the whole bench ---------------------------------------------------------------------------------
TARGETS = {"throughput_at_slo": 5.0, "serving_efficiency": 0.9, "triton_p95_at_fixed_rate_ms": 50.0}


def apply_overrides(definition: ModelDefinition, overrides: list[str]) -> ModelDefinition:
    """`--serving instances=2 --serving dynamic_batching.max_queue_delay_microseconds=5000` for tuning runs."""
    import yaml

    serving = definition.serving.model_dump()
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--serving {item!r}: write KEY=VALUE, e.g. instances=2")
        node = serving
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node[part]
        if parts[-1] not in node:
            raise ValueError(f"--serving {key!r}: serving has no such setting (see model-repo/*.model.yaml)")
        node[parts[-1]] = yaml.safe_load(value)
    return definition.model_copy(update={"serving": type(definition.serving).model_validate(serving)})


def published_version(definition: ModelDefinition, repo: Path, echo) -> Path:
    """The latest published version; built and published first when there is none (a fresh clone)."""
    from inferstack.model.publish import versions

    model_dir = repo / definition.name
    existing = versions(model_dir)
    if not existing:
        from inferstack.model.build import build_and_publish

        echo("no published model version yet: building it first (inferstack model build)")
        build_and_publish(definition, repo)
        existing = versions(model_dir)
    return model_dir / str(existing[-1])


def execute(
    definition_file: Path,
    slo_file: Path,
    scale: Scale,
    out: Path,
    overrides: list[str] | None = None,
    repo: Path | None = None,
    systems: tuple[str, ...] = SYSTEMS,
    log_mlflow: bool = True,
    triton_env: dict[str, str] | None = None,
    echo=print,
) -> dict:
    from inferstack.loadtest.cli import texts_for
    from inferstack.modeldef import load_definition
    from inferstack.paths import default_model_repo
    from inferstack.slo import load_slo

    definition = apply_overrides(load_definition(definition_file), overrides or [])
    slo = load_slo(slo_file)
    version_dir = published_version(definition, repo or default_model_repo(), echo)
    texts, labels = texts_for(definition_file, None)
    build = json.loads((version_dir / "build.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    started = now()
    load_before = [round(x, 2) for x in os.getloadavg()]
    machine = runner.machine()
    echo(
        f"machine: {machine.get('cpu_count')} cores, {machine.get('cpu_model', '?')}, flags "
        f"{' '.join(machine.get('cpu_flags', []))}; load average {load_before}"
    )

    serving = definition.serving
    echo(
        f"raw engine ceiling: ONNX Runtime alone (1 process x all cores, 1 process per core), "
        f"batch sizes {list(scale.batch_sizes)}"
    )
    ceiling = engine_ceiling(version_dir, texts, scale, serving.padding)
    echo(
        f"  {ceiling['engine_seq_per_s']:.1f} seq/s at batch {ceiling['best_batch_size']} (engine); "
        f"{ceiling['pipeline_seq_per_s']:.1f} seq/s with the tokenizer; best layout {ceiling['best_layout']}"
    )

    bench = Bench(definition, slo, slo_file, texts, labels, scale, out, echo)
    try:
        for system in systems:
            echo(f"starting {system} (cold start to ready)")
            if system == "triton":
                bench.servers[system] = servers.start_triton(definition, version_dir, triton_env)
            else:
                bench.servers[system] = servers.start_naive(definition, version_dir)
            echo(f"  {system} ready in {bench.servers[system].ready_s} s at {bench.servers[system].url}")
        agree = None
        if set(systems) == set(SYSTEMS):
            agree = agreement(
                bench.servers["naive"].url,
                bench.servers["triton"].url,
                texts[: 20 if scale.name == "tiny" else 100],
                definition.name,
            )
            echo(
                f"same model check: naive (FP32 eager) and Triton (INT8) agree on "
                f"{agree['label_agreement']:.1%} of {agree['texts']} labels"
            )
        maxima = bench.rounds()
    finally:
        for running in bench.servers.values():
            servers.stop(running)

    figures = summarize(bench, maxima)
    naive, triton = figures.get("naive", {}), figures.get("triton", {})
    metrics = build.get("metrics", {})
    ratios = {
        "throughput_at_slo": ratio(triton.get("max_rps_within_slo"), naive.get("max_rps_within_slo")),
        "p95_at_fixed_rate": ratio(
            naive.get("fixed_rate", {}).get("p95_ms"), triton.get("fixed_rate", {}).get("p95_ms")
        ),
        "serving_efficiency": ratio(triton.get("max_rps_within_slo"), ceiling["engine_seq_per_s"]),
        # contention-proof: served requests per server CPU-second / engine sequences per CPU-second
        "serving_efficiency_per_cpu": ratio(
            triton.get("at_max", {}).get("requests_per_cpu_second"), ceiling.get("engine_seq_per_cpu_s")
        ),
        "model_size": ratio(metrics.get("fp32_size_mb"), metrics.get("int8_size_mb")),
        "requests_per_cpu_second": ratio(
            triton.get("at_max", {}).get("requests_per_cpu_second"),
            naive.get("at_max", {}).get("requests_per_cpu_second"),
        ),
    }
    triton_p95 = triton.get("fixed_rate", {}).get("p95_ms")
    targets = {
        "throughput_at_slo": {
            "target": f">= {TARGETS['throughput_at_slo']}",
            "measured": ratios["throughput_at_slo"],
            "met": bool(
                ratios["throughput_at_slo"] and ratios["throughput_at_slo"] >= TARGETS["throughput_at_slo"]
            ),
        },
        "serving_efficiency": {
            "target": f">= {TARGETS['serving_efficiency']}",
            "measured": ratios["serving_efficiency"],
            "met": bool(
                ratios["serving_efficiency"] and ratios["serving_efficiency"] >= TARGETS["serving_efficiency"]
            ),
        },
        "triton_p95_at_fixed_rate_ms": {
            "target": f"<= {TARGETS['triton_p95_at_fixed_rate_ms']} at {bench.fixed_rps:g} req/s",
            "measured": triton_p95,
            "met": bool(triton_p95 and triton_p95 <= TARGETS["triton_p95_at_fixed_rate_ms"]),
        },
    }
    others = [s.cpu_cores.get("others") for s in bench.steps if s.cpu_cores.get("others") is not None]
    result = {
        "schema": SCHEMA,
        "started_at": started,
        "finished_at": now(),
        "scale": asdict(scale),
        "machine": {
            **machine,
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "others_cpu_cores_median": _median(others),
            "others_cpu_cores_max": max(others, default=None),
        },
        "model": {
            "name": definition.name,
            "version": version_dir.name,
            "build_key": build.get("build_key"),
            "fp32_size_mb": metrics.get("fp32_size_mb"),
            "int8_size_mb": metrics.get("int8_size_mb"),
            "texts": len(texts),
            "label_agreement": agree,
        },
        "slo": {
            "file": str(slo_file),
            "p95_ms": bench.p95_slo,
            "fixed_rate_rps": bench.fixed_rps,
            "users_per_rps": bench.users_per_rps,
        },
        "systems": {
            "naive": {
                "description": "FastAPI + uvicorn (1 worker) + PyTorch eager FP32, one forward per request, no batching"
            },
            "triton": {
                "description": "Triton python backend + ONNX Runtime INT8, dynamic batching",
                "serving": serving.model_dump(),
                "overrides": list(overrides or []),
                "env": dict(triton_env or {}),
            },
        },
        "ratios": ratios,
        "targets": targets,
        "ceiling": ceiling,
        "steps": as_dicts(bench.steps),
    }
    for system in systems:
        result["systems"][system].update(figures.get(system, {}))
    from inferstack.bench import report

    result["artifacts"] = report.write(result, out)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    if log_mlflow:
        result["mlflow"] = report.log_mlflow(result, out)
        (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
