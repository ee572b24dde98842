"""System packages the project needs, installed from Debian's archive when running as root.

`make demo` runs `python -m inferstack.bootstrap` (what the local stack needs) and `make test` runs it with
`--for test` (that, plus the host tools of the Ansible test bed). As root, missing packages are installed
with apt-get; otherwise the exact command to run is printed and the exit code is non-zero. Whatever is still
missing after apt-get is named, with the package that brings it, before any test starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

# Debian package -> the command it provides, for the local stack.
PACKAGES = {"prometheus": "prometheus"}


def required(purpose: str = "demo") -> dict[str, str]:
    """command -> Debian package, for `demo` (the local stack) or `test` (everything the suite runs)."""
    need = {binary: pkg for pkg, binary in PACKAGES.items()}
    if purpose == "test":
        from inferstack.testbed.hosts import TOOLS

        need.update(TOOLS)
    return need


def missing(purpose: str = "demo") -> list[str]:
    """The Debian packages whose command is not on this machine, sorted and without repeats."""
    return sorted(
        {
            pkg
            for binary, pkg in required(purpose).items()
            if not (
                shutil.which(binary)
                or os.path.exists(f"/usr/bin/{binary}")
                or os.path.exists(f"/usr/sbin/{binary}")
            )
        }
    )


def apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"==> installing Debian packages: {' '.join(packages)}", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    # --no-install-recommends: the local stack needs the binaries, not the exporters and web assets.
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=True, env=env
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inferstack.bootstrap")
    parser.add_argument("--for", dest="purpose", choices=["demo", "test"], default="demo")
    purpose = parser.parse_args(argv).purpose
    need = missing(purpose)
    if not need:
        return 0
    if os.geteuid() == 0 and shutil.which("apt-get"):
        try:
            apt_install(need)
        except subprocess.CalledProcessError as exc:
            print(
                f"error: apt-get could not install the Debian package(s) {', '.join(need)} "
                f"(exit {exc.returncode}); `make {purpose}` needs them.\n"
                f"  fix: make Debian's archive reachable, or install them another way, then run make again",
                file=sys.stderr,
            )
            return 1
        still = missing(purpose)
        if still:
            print(
                f"error: Debian package(s) {', '.join(still)} still missing after apt-get install",
                file=sys.stderr,
            )
            return 1
        return 0
    print(
        f"error: `make {purpose}` needs the Debian package(s) {', '.join(need)}. Install them with:\n"
        f"  sudo apt-get install {' '.join(need)}\nthen run make again.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
