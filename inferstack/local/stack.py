"""Start, inspect and stop the local stack, remembering exactly what was started.

`up` writes every process it starts (pid, command, ports, log) to <state>/local/stack.json. `up` twice
starts only what is not already running; `down` stops exactly the processes listed there, after checking
each pid still runs the command we started (a reused pid is never signalled).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from inferstack.errors import ServiceError
from inferstack.local import services
from inferstack.paths import state_dir


def stack_file() -> Path:
    path = state_dir() / "local" / "stack.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def read_stack() -> dict:
    path = stack_file()
    return json.loads(path.read_text()) if path.is_file() else {"services": {}}


def write_stack(stack: dict) -> None:
    tmp = stack_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(stack, indent=2))
    tmp.replace(stack_file())


def _tls(ca: str) -> ssl.SSLContext | None:
    if not ca:
        return None
    if ca == "loopback-unverified":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca)


def healthy(url: str, timeout: float = 2.0, ca: str = "") -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=_tls(ca)) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((services.HOST, port)) == 0


def alive(entry: dict) -> bool:
    """True when the recorded pid is still the process we started (pid + creation time: a reused pid differs)."""
    try:
        proc = psutil.Process(entry["pid"])
        return (
            proc.status() != psutil.STATUS_ZOMBIE
            and abs(proc.create_time() - entry.get("create_time", -1)) < 0.05
        )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(service: services.Service) -> dict:
    for p in service.ports:
        if port_busy(p):
            raise ServiceError(
                f"{service.name}: port {services.HOST}:{p} is already in use by another program; stop it "
                f"or choose other ports (INFERSTACK_*_PORT environment variables)"
            )
    log = service.log.open("ab")
    log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(service.command)}\n".encode())
    log.flush()
    proc = subprocess.Popen(
        service.command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **service.env},
        start_new_session=True,
    )
    entry = {
        "pid": proc.pid,
        "command": service.command,
        "ports": service.ports,
        "log": str(service.log),
        "health_url": service.health_url,
        "urls": service.urls,
        "started_at": time.time(),
        "create_time": psutil.Process(proc.pid).create_time(),
    }
    deadline = time.monotonic() + service.start_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(
                f"{service.name} exited with code {proc.returncode} while starting; see {service.log}:\n"
                f"{_tail(service.log)}"
            )
        if healthy(service.health_url, timeout=1.0, ca=service.health_ca):
            entry["ready_s"] = round(time.time() - entry["started_at"], 2)
            return entry
        time.sleep(0.25)
    terminate(proc.pid)
    raise ServiceError(
        f"{service.name} was not healthy at {service.health_url} within {service.start_timeout_s:.0f} s; "
        f"it was stopped. See {service.log}:\n{_tail(service.log)}"
    )


def terminate(pid: int, timeout: float = 15.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):  # reap it if it is our child
        os.waitpid(pid, os.WNOHANG)


def wanted(
    repo: Path | None = None, with_prometheus: bool = True, with_mlflow: bool = True
) -> list[services.Service]:
    triton = services.triton(repo)
    wanted = [triton]
    if with_prometheus:
        wanted.append(services.prometheus(services.port("triton_metrics", 8002)))
    if with_mlflow:
        wanted.append(services.mlflow())
    return wanted


def up(repo: Path | None = None, with_prometheus: bool = True, with_mlflow: bool = True, echo=print) -> dict:
    stack = read_stack()
    for service in wanted(repo, with_prometheus, with_mlflow):
        current = stack["services"].get(service.name)
        if current and alive(current):
            if current["command"] != service.command:
                raise ServiceError(
                    f"{service.name} is already running with other settings (pid {current['pid']}); "
                    "run `inferstack down local` first"
                )
            echo(f"{service.name}: already running (pid {current['pid']})")
            continue
        echo(f"{service.name}: starting (log {service.log})")
        entry = start(service)
        stack["services"][service.name] = entry
        write_stack(stack)
        echo(f"{service.name}: ready in {entry['ready_s']} s")
    return status()


def status() -> dict:
    stack = read_stack()
    result = {"environment": "local", "services": {}, "endpoints": {}}
    for name, entry in stack["services"].items():
        running = alive(entry)
        ok = running and healthy(entry["health_url"])
        result["services"][name] = {
            "pid": entry["pid"],
            "running": running,
            "healthy": ok,
            "log": entry["log"],
            "urls": entry["urls"],
        }
        for key, url in entry["urls"].items():
            result["endpoints"][key] = {"url": url, "healthy": ok}
    result["healthy"] = bool(result["services"]) and all(s["healthy"] for s in result["services"].values())
    return result


def down(echo=print) -> list[str]:
    stack = read_stack()
    stopped = []
    for name, entry in list(stack["services"].items()):
        if alive(entry):
            echo(f"{name}: stopping pid {entry['pid']}")
            terminate(entry["pid"])
            stopped.append(name)
        else:
            echo(f"{name}: not running")
        del stack["services"][name]
        write_stack(stack)
    return stopped


def load_model(triton_url: str, model: str, timeout: float = 120.0) -> None:
    """Ask a running Triton (explicit model control) to (re)load a model, e.g. after publishing a version."""
    request = urllib.request.Request(
        f"{triton_url}/v2/repository/models/{model}/load",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        raise ServiceError(f"Triton refused to load {model}: {exc.read().decode(errors='replace')}") from None
