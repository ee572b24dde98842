"""System packages the project needs, installed from Debian's archive when running as root.

`make demo` and `make test` run this after the virtual environment exists. As root, missing packages are
installed with apt-get; otherwise the exact command to run is printed and the exit code is non-zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# Debian package -> the command it provides, for the local stack.
PACKAGES = {"prometheus": "prometheus"}


def missing() -> list[str]:
    return [
        pkg
        for pkg, binary in PACKAGES.items()
        if not (shutil.which(binary) or os.path.exists(f"/usr/bin/{binary}"))
    ]


def apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"==> installing Debian packages: {' '.join(packages)}", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    # --no-install-recommends: the local stack needs the binaries, not the exporters and web assets.
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=True, env=env
    )


def main() -> int:
    need = missing()
    if not need:
        return 0
    if os.geteuid() == 0 and shutil.which("apt-get"):
        apt_install(need)
        still = missing()
        if still:
            print(f"error: {', '.join(still)} still missing after apt-get install", file=sys.stderr)
            return 1
        return 0
    print(
        f"error: the local stack needs the Debian package(s) {', '.join(need)}. Install them with:\n"
        f"  sudo apt-get install {' '.join(need)}\nthen run make again.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
