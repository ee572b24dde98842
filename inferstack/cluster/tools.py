"""The Go tools of the simulated cluster, built from source at the versions in versions.yaml, and cached.

Each tool is built in a small wrapper module of our own, because the upstream modules cannot be built with a
plain `go install MODULE@VERSION`: k8s.io/kubernetes replaces every k8s.io/* module by `./staging/...`, and
module zips omit staging/. The wrapper's go.mod requires the module at the locked version and replaces each
staging module by its published release; then `go get` resolves and `go build` builds.

A build lands in `<cache>/<name>-<version>/bin/` (cache: $INFERSTACK_TOOLS_CACHE, default
~/.cache/inferstack/tools), made in a scratch directory and renamed into place only when every binary of the
tool is built, so a killed build is never taken for a finished one. `ensure()` builds only what is missing
for the current lock and links the binaries into `.inferstack/tools/bin/`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inferstack import versions
from inferstack.errors import InferstackError
from inferstack.paths import state_dir

GO_MIN = (1, 24)  # the go line of k8s.io/kubernetes 1.33 and kwok 0.7


@dataclass(frozen=True)
class GoTool:
    name: str
    module: str
    version: str
    binaries: dict[str, str]  # binary name -> package path
    ldflags: tuple[str, ...] = ()
    staging_from: str = ""  # a module whose `=> ./staging/...` replaces are pinned to published releases

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


def _kubernetes() -> GoTool:
    version = "v" + str(versions.get("kubernetes.version")).lstrip("v")
    cmd = "k8s.io/kubernetes/cmd/"
    stamp = [f"-X k8s.io/component-base/version.{k}" for k in (f"gitVersion={version}", "gitTreeState=clean")]
    stamp += [f"-X k8s.io/client-go/pkg/version.gitVersion={version}"]
    return GoTool(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=version,
        binaries={
            b: cmd + b for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        },
        ldflags=tuple(stamp),
        staging_from="k8s.io/kubernetes",
    )


def all_tools() -> list[GoTool]:
    etcd = str(versions.get("tools.etcd"))
    kwok = str(versions.get("tools.kwok"))
    return [
        GoTool("etcd", "go.etcd.io/etcd/server/v3", etcd, {"etcd": "go.etcd.io/etcd/server/v3"}),
        _kubernetes(),
        GoTool("kwok", "sigs.k8s.io/kwok", kwok, {"kwok": "sigs.k8s.io/kwok/cmd/kwok"}),
    ]


def cache_root() -> Path:
    default = Path.home() / ".cache" / "inferstack" / "tools"
    return Path(os.environ.get("INFERSTACK_TOOLS_CACHE", default))


def bin_dir() -> Path:
    return state_dir() / "tools" / "bin"


def built(tool: GoTool) -> Path | None:
    """The finished build of this tool at this version, or None."""
    dest = cache_root() / tool.key
    manifest = dest / "manifest.json"
    if not manifest.is_file():
        return None
    if all((dest / "bin" / b).is_file() for b in tool.binaries):
        return dest
    return None


def go_binary() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not go:
        raise InferstackError(
            "the simulated cluster's tools are built from source with Go, and no `go` is on PATH.\n"
            f"  fix: install Go {GO_MIN[0]}.{GO_MIN[1]} or newer (Debian's golang-go is too old on bookworm; "
            "the polyglot machines have it in /usr/local/go/bin)"
        )
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    m = re.match(r"go(\d+)\.(\d+)", out)
    if not m or (int(m[1]), int(m[2])) < GO_MIN:
        raise InferstackError(f"{go} is {out}; the tools need Go {GO_MIN[0]}.{GO_MIN[1]} or newer")
    return go


def staging_replaces(go: str, module: str, version: str, env: dict[str, str]) -> list[str]:
    """`replace k8s.io/api => k8s.io/api v0.33.5` for every `=> ./staging/...` of module@version's go.mod."""
    out = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    if out.returncode != 0:
        raise InferstackError(
            f"go mod download {module}@{version} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
        )
    return pinned_staging(Path(json.loads(out.stdout)["GoMod"]).read_text(), module, version)


def pinned_staging(gomod: str, module: str, version: str) -> list[str]:
    staging = sorted(set(re.findall(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+\./staging/", gomod, re.M)))
    if not staging:
        raise InferstackError(
            f"{module}@{version}: no staging replaces found in its go.mod; has the layout changed?"
        )
    published = "v0." + version.lstrip("v").split(".", 1)[1]  # v1.33.5 -> v0.33.5
    return [f"replace {mod} => {mod} {published}" for mod in staging]


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-buildvcs=false")
    env["CGO_ENABLED"] = "0"
    env["GOTOOLCHAIN"] = env.get("GOTOOLCHAIN", "local")
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> None:
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise InferstackError(
            f"`{' '.join(cmd[:3])} ...` failed (exit {proc.returncode}); log {log}:\n{tail}"
        )


def build(tool: GoTool, echo: Callable[[str], None] = print) -> Path:
    """Build one tool into the cache (nothing when it is already there); returns its directory."""
    done = built(tool)
    if done:
        return done
    go = go_binary()
    env = _go_env()
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    work = root / f".{tool.key}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "bin").mkdir(parents=True)
    log = work / "build.log"
    lines = [f"module inferstack.local/tools/{tool.name}", "", f"go {GO_MIN[0]}.{GO_MIN[1]}.0", ""]
    lines += [f"require {tool.module} {tool.version}", ""]
    if tool.staging_from:
        lines += staging_replaces(go, tool.staging_from, tool.version, env)
    (work / "go.mod").write_text("\n".join(lines) + "\n")
    t0 = time.monotonic()
    echo(f"{tool.key}: resolving modules")
    pkgs = sorted(set(tool.binaries.values()))
    _run([go, "get", *[f"{p}@{tool.version}" for p in pkgs]], work, env, log, timeout=1800)
    for i, (binary, pkg) in enumerate(tool.binaries.items(), 1):
        echo(f"{tool.key}: building {binary} ({i}/{len(tool.binaries)}, minutes on 2 cores)")
        flags = ["-trimpath", "-ldflags", " ".join(["-s", "-w", *tool.ldflags])]
        _run([go, "build", *flags, "-o", str(work / "bin" / binary), pkg], work, env, log, timeout=3600)
    seconds = round(time.monotonic() - t0)
    manifest = {
        "name": tool.name,
        "module": tool.module,
        "version": tool.version,
        "binaries": tool.binaries,
        "go": subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout.strip(),
        "build_seconds": seconds,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    dest = root / tool.key
    shutil.rmtree(dest, ignore_errors=True)
    work.rename(dest)
    echo(f"{tool.key}: built in {seconds} s")
    return dest


def link(tool: GoTool, dest: Path) -> None:
    out = bin_dir()
    out.mkdir(parents=True, exist_ok=True)
    for binary in tool.binaries:
        target = out / binary
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(dest / "bin" / binary)


def ensure(names: list[str] | None = None, echo: Callable[[str], None] = print) -> dict[str, Path]:
    """Build what the lock asks for and is not cached yet, link it, and return binary -> path."""
    tools = all_tools()
    unknown = sorted(set(names or []) - {t.name for t in tools})
    if unknown:
        raise InferstackError(
            f"unknown tool(s) {', '.join(unknown)}; known: {', '.join(t.name for t in tools)}"
        )
    paths: dict[str, Path] = {}
    for tool in tools:
        if names and tool.name not in names:
            continue
        dest = build(tool, echo)
        link(tool, dest)
        paths.update({b: bin_dir() / b for b in tool.binaries})
    return paths


def status() -> list[dict]:
    rows = []
    for tool in all_tools():
        dest = built(tool)
        rows.append(
            {
                "tool": tool.name,
                "version": tool.version,
                "built": bool(dest),
                "path": str(dest or cache_root() / tool.key),
                "binaries": sorted(tool.binaries),
            }
        )
    return rows


def require(binary: str) -> str:
    """The path of a built tool binary, or a clear error naming the command that builds it."""
    for tool in all_tools():
        if binary in tool.binaries:
            dest = built(tool)
            if not dest:
                raise InferstackError(f"{binary} {tool.version} is not built yet.\n  fix: make tools")
            return str(dest / "bin" / binary)
    raise InferstackError(f"{binary} is not one of the simulated cluster's tools")
