"""Run ansible-playbook the way a user does (from the repository root), and read its recap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from inferstack.paths import project_root

ANSIBLE_DIR = project_root() / "ansible"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class PlaybookRun:
    args: list[str]
    rc: int
    output: str
    seconds: float

    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m[1]: {"ok": int(m[2]), "changed": int(m[3]), "unreachable": int(m[4]), "failed": int(m[5])}
            for m in RECAP.finditer(self.output)
        }

    @property
    def flat(self) -> str:
        """The output with all whitespace runs collapsed: messages wrapped over lines still match."""
        return " ".join(self.output.split())

    def tail(self, n: int = 6000) -> str:
        return self.output[-n:]


def ansible_env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return dict(
        os.environ,
        PATH=f"{bin_dir}:{os.environ.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        ANSIBLE_LOCAL_TEMP="/tmp/inferstack-ansible-tmp",
    )


def run_playbook(
    inventory: Path, playbook: str = "site.yml", *extra: str, timeout: float = 900
) -> PlaybookRun:
    args = ["ansible-playbook", "-i", str(inventory), str(ANSIBLE_DIR / playbook), *extra]
    t0 = time.monotonic()
    proc = subprocess.run(
        args, cwd=project_root(), env=ansible_env(), text=True, capture_output=True, timeout=timeout
    )
    run = PlaybookRun(args, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - t0)
    print(f"[ansible] {' '.join(args[3:])}: rc={run.rc} in {run.seconds:.0f}s recap={run.recap()}")
    return run
