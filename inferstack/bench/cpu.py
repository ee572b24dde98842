"""CPU used per process group while a load step runs, sampled with psutil.

Three groups: the server under test (its whole process tree: tritonserver and its python-backend stubs,
or the uvicorn process), the load generator (the Locust process the runner starts, a child of ours) and
everything else on the machine (other engineers' jobs share these cores: the report shows how much).
"""

from __future__ import annotations

import os
import threading
import time

import psutil


def _tree_seconds(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def _locust_seconds() -> float:
    total = 0.0
    for proc in psutil.Process(os.getpid()).children(recursive=False):
        try:
            if any("locust" in part for part in proc.cmdline()[:3]):
                t = proc.cpu_times()
                total += t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


class CpuSampler:
    """Samples (time, server s, locust s, machine busy s) every `interval` seconds in a thread."""

    def __init__(self, server_pid: int, interval: float = 0.5):
        self.server_pid = server_pid
        self.interval = interval
        self.samples: list[tuple[float, float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        self.samples.append(
            (time.time(), _tree_seconds(self.server_pid), _locust_seconds(), _machine_busy_seconds())
        )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def cores(self, start: float, end: float) -> dict:
        """Mean cores used by each group between two wall-clock times (the judged window).

        Locust's counter restarts from zero when its process appears, so its figure only uses samples
        taken while it ran (a positive reading at both ends)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {"server": None, "load_generator": None, "others": None, "machine": None}
        a, b = inside[0], inside[-1]
        wall = b[0] - a[0]
        server = (b[1] - a[1]) / wall
        locust = (b[2] - a[2]) / wall if a[2] > 0 and b[2] >= a[2] else None
        machine = (b[3] - a[3]) / wall
        others = machine - server - (locust or 0.0)
        return {
            "server": round(server, 3),
            "load_generator": None if locust is None else round(locust, 3),
            "others": round(max(others, 0.0), 3),
            "machine": round(machine, 3),
        }
