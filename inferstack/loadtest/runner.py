"""Run Locust headless and bounded against a Triton, judge the judged window, write results.json.

Locust runs in its own process (its gevent patching must not leak into ours). Every request is recorded
with its start time, so percentiles are exact and the warm-up is excluded precisely.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from inferstack import versions
from inferstack.errors import ServiceError
from inferstack.loadtest import triton_metrics
from inferstack.paths import project_root
from inferstack.results import Results, write_results
from inferstack.slo import SLO, judge

LOCUSTFILE = project_root() / "loadtests" / "locustfile.py"
# Locust's run timer starts before its test_start event: run a little past the judged window (not judged).
TAIL_S = 3


def _get_json(url: str, timeout: float = 3.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read() or b"{}")


def preflight(url: str, model: str) -> dict:
    """Fail fast, with a clear message, when nothing answers or the model is not ready."""
    try:
        server = _get_json(f"{url}/v2")
    except urllib.error.HTTPError as exc:
        raise ServiceError(
            f"{url} answered HTTP {exc.code} to GET /v2: is this a Triton (KServe v2) endpoint?"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(
            f"nothing answers at {url} ({reason}); start it (inferstack up local) or fix --target"
        ) from None
    try:
        meta = _get_json(f"{url}/v2/models/{model}")
        urllib.request.urlopen(f"{url}/v2/models/{model}/ready", timeout=3.0).close()
    except urllib.error.HTTPError as exc:
        raise ServiceError(
            f"model {model!r} is not ready at {url} (HTTP {exc.code}); check the server's log"
        ) from None
    return {"server_version": server.get("version"), "versions": meta.get("versions", [])}


def machine() -> dict:
    info = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        for line in cpuinfo.splitlines():
            if line.startswith("model name") and "cpu_model" not in info:
                info["cpu_model"] = line.split(":", 1)[1].strip()
            if line.startswith("flags") and "cpu_flags" not in info:
                flags = set(line.split(":", 1)[1].split())
                info["cpu_flags"] = sorted(
                    flags & {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8"}
                )
    except OSError:
        pass
    return info


def _percentiles(latencies: np.ndarray) -> dict:
    if latencies.size == 0:
        return dict.fromkeys(("p50", "p90", "p95", "p99", "max", "mean"))
    q = np.percentile(latencies, [50, 90, 95, 99])
    return {
        "p50": round(float(q[0]), 3),
        "p90": round(float(q[1]), 3),
        "p95": round(float(q[2]), 3),
        "p99": round(float(q[3]), 3),
        "max": round(float(latencies.max()), 3),
        "mean": round(float(latencies.mean()), 3),
    }


def _timeseries(samples: list, t0: float, seconds: float) -> list[dict]:
    rows = []
    for second in range(int(math.ceil(seconds))):
        window = [s for s in samples if second <= s[0] - t0 < second + 1]
        lat = np.array([s[1] for s in window if s[2]])
        p = _percentiles(lat)
        rows.append(
            {
                "t": second,
                "rps": len(window),
                "failures": sum(1 for s in window if not s[2]),
                "p50": p["p50"],
                "p95": p["p95"],
                "p99": p["p99"],
            }
        )
    return rows


def run(
    url: str,
    slo: SLO,
    slo_file: Path,
    out: Path,
    texts: list[str],
    labels: list[str],
    metrics_url: str | None = None,
    environment: str = "unknown",
    replicas: int = 1,
    accelerator: str | None = None,
    instance_type: str | None = None,
    echo=print,
    keep_samples: Path | None = None,
) -> Results:
    """keep_samples: also copy Locust's raw per-request samples there (`inferstack bench` plots them)."""
    url = url.rstrip("/")
    info = preflight(url, slo.model)
    stages = slo.stages
    total = sum(seconds for seconds, _ in stages)
    users = max(1, math.ceil(max(rps for _, rps in stages) * slo.load.users_per_rps))
    if metrics_url is None:
        parsed = urllib.parse.urlparse(url)
        metrics_url = f"{parsed.scheme}://{parsed.hostname}:8002/metrics"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="inferstack-locust-"))
    texts_file, samples_file = work / "texts.json", work / "samples.json"
    texts_file.write_text(json.dumps({"texts": texts}))
    env = {
        **os.environ,
        "INFERSTACK_MODEL": slo.model,
        "INFERSTACK_STAGES": json.dumps(stages),
        "INFERSTACK_USERS": str(users),
        "INFERSTACK_TEXTS": str(texts_file),
        "INFERSTACK_SAMPLES_OUT": str(samples_file),
        "INFERSTACK_LABELS": ",".join(labels),
    }
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    command = [
        locust,
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        url,
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{int(math.ceil(total)) + TAIL_S}s",
        "--stop-timeout",
        "5",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        "--skip-log-setup",
    ]
    started = datetime.now(UTC)
    echo(
        f"load test: {slo.name} against {url} ({users} users, {total:.0f} s, judged window {slo.measure_s:.0f} s "
        f"after {slo.warmup_s:.0f} s warm-up)"
    )

    scrapes: dict[str, dict | None] = {}

    def scrape_at(key: str, delay: float) -> None:
        time.sleep(delay)
        scrapes[key] = triton_metrics.scrape(metrics_url, slo.model)

    timer = threading.Thread(target=scrape_at, args=("before", slo.warmup_s + 1.0), daemon=True)
    timer.start()
    log_path = work / "locust.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        _progress(proc, total, echo)
        try:
            proc.wait(timeout=max(1.0, total + 90 - (time.time() - started.timestamp())))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise ServiceError(f"locust did not finish within {total + 90:.0f} s; it was stopped") from None
    output = log_path.read_text(errors="replace")
    scrapes["after"] = triton_metrics.scrape(metrics_url, slo.model)
    timer.join(timeout=5)
    if not samples_file.is_file():
        raise ServiceError(
            f"locust exited with code {proc.returncode} and recorded nothing:\n{(output or '')[-3000:]}"
        )
    recorded = json.loads(samples_file.read_text())
    if keep_samples is not None:
        shutil.copy2(samples_file, keep_samples)
    shutil.rmtree(work, ignore_errors=True)
    t0 = recorded["t0"] or time.time()
    samples = recorded["samples"]
    start, end = t0 + slo.warmup_s, t0 + slo.warmup_s + slo.measure_s
    judged = [s for s in samples if start <= s[0] < end]
    ok_lat = np.array([s[1] for s in judged if s[2]])
    failures = [s for s in judged if not s[2]]
    errors: dict[str, int] = {}
    for s in failures:
        errors[s[3]] = errors.get(s[3], 0) + 1
    judged_stages = _stages_in_window(stages, slo.warmup_s, slo.measure_s)
    offered = sum(sec * rps for sec, rps in judged_stages) / max(sum(sec for sec, _ in judged_stages), 1e-9)
    achieved = len(judged) / slo.measure_s
    latency = _percentiles(ok_lat)
    error_ratio = len(failures) / len(judged) if judged else 1.0
    measured = {
        "latency_p50_ms": latency["p50"],
        "latency_p90_ms": latency["p90"],
        "latency_p95_ms": latency["p95"],
        "latency_p99_ms": latency["p99"],
        "error_ratio": error_ratio,
        "achieved_ratio": achieved / offered if offered else 0.0,
    }
    outcomes = judge(slo, measured)
    version = None
    if info["versions"]:
        version = str(max(info["versions"], key=lambda v: int(v) if str(v).isdigit() else 0))
    pins = {k: str(v) for k, v in versions.python_pins().items()}
    if info.get("server_version"):
        pins["tritonserver"] = str(info["server_version"])
    server = triton_metrics.window(scrapes.get("before"), scrapes.get("after"))
    results = Results(
        started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        slo_file=str(slo_file),
        slo_name=slo.name,
        target={
            "url": url,
            "model": slo.model,
            "model_version": version,
            "environment": environment,
            "replicas": replicas,
            "accelerator": accelerator,
            "instance_type": instance_type,
        },
        versions=pins,
        machine=machine(),
        load={
            "shape": "stages" if slo.load.stages else "constant",
            "offered_rps": round(offered, 3),
            "stages": [{"duration_s": s, "rps": r} for s, r in stages],
            "users": users,
            "warmup_s": slo.warmup_s,
            "measure_s": slo.measure_s,
        },
        measured={
            "requests": len(judged),
            "failures": len(failures),
            "achieved_rps": round(achieved, 3),
            "successful_rps": round((len(judged) - len(failures)) / slo.measure_s, 3),
            "achieved_ratio": round(measured["achieved_ratio"], 4),
            "error_ratio": round(error_ratio, 6),
            "latency_ms": latency,
            "errors": errors,
        },
        objectives=outcomes,
        verdict={
            "passed": all(o.passed for o in outcomes),
            "failed": [o.name for o in outcomes if not o.passed],
        },
        server=server,
        timeseries=_timeseries(samples, t0, total),
    )
    return results


def _stages_in_window(
    stages: list[tuple[float, float]], warmup: float, measure: float
) -> list[tuple[float, float]]:
    """The parts of the stages that fall inside [warmup, warmup + measure]."""
    out, t = [], 0.0
    for seconds, rps in stages:
        lo, hi = max(t, warmup), min(t + seconds, warmup + measure)
        if hi > lo:
            out.append((hi - lo, rps))
        t += seconds
    return out or [(measure, stages[-1][1])]


def _progress(proc: subprocess.Popen, total: float, echo) -> None:
    """A progress bar while Locust runs (it prints nothing itself with --only-summary)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("locust"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("run", total=total)
        start = time.monotonic()
        while proc.poll() is None and time.monotonic() - start < total + 90:
            progress.update(task, completed=min(total, time.monotonic() - start))
            time.sleep(0.5)


def finish(results: Results, out: Path, build_info: dict | None = None) -> Path:
    from inferstack.loadtest import report

    results.artifacts = report.write(results, out, build_info)
    return write_results(results, out / "results.json")
