"""The roles pass ansible-lint (production profile) and yamllint, document every variable, repeat no version."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from inferstack.testbed.playbook import ANSIBLE_DIR, ansible_env

ROLES = sorted(p for p in (ANSIBLE_DIR / "roles").iterdir() if p.is_dir())


def test_yamllint_passes():
    proc = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-c", ".yamllint", "."],
        cwd=ANSIBLE_DIR,
        text=True,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_lint_production_profile_passes():
    exe = Path(sys.executable).parent / "ansible-lint"
    proc = subprocess.run(
        [
            str(exe),
            "--profile",
            "production",
            "--offline",
            "--nocolor",
            "-q",
            "site.yml",
            "verify.yml",
            "roles",
        ],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        text=True,
        capture_output=True,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]


def test_site_playbook_syntax_is_valid():
    exe = Path(sys.executable).parent / "ansible-playbook"
    proc = subprocess.run(
        [str(exe), "--syntax-check", "-i", "inventory/sample/hosts.yml", "site.yml", "verify.yml"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_role_readmes_match_argument_specs():
    proc = subprocess.run(
        [sys.executable, str(ANSIBLE_DIR / "tools/role_docs.py"), "--check"],
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_default_is_prefixed_and_declared_in_argument_specs(role):
    defaults_file = role / "defaults/main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    options = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]["main"][
        "options"
    ]
    for name in defaults:
        assert name.startswith(role.name + "_"), f"{role.name}: {name} is not prefixed with the role's name"
    required = {n for n, o in options.items() if o.get("required")}
    assert set(defaults) | required == set(options), (
        f"{role.name}: defaults without specs {set(defaults) - set(options)}, "
        f"specs without defaults {set(options) - set(defaults) - required}"
    )
    for name, opt in options.items():
        assert opt.get("description"), f"{role.name}: {name} has no description"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_roles_write_no_version_of_their_own(role):
    """Versions come from versions.yaml; a literal like 1.6.20 or 535.309.01 in a role is a second lock."""
    version = re.compile(r"(?<![\w.:/-])\d+\.\d+\.\d+(?![\w.])")
    for path in [*role.glob("defaults/*.yml"), *role.glob("vars/*.yml"), *role.glob("tasks/*.yml")]:
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            assert not version.search(line), f"{path.relative_to(ANSIBLE_DIR)}:{lineno}: {line.strip()}"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_first_task_asserts_with_a_fail_msg(role):
    tasks = yaml.safe_load((role / "tasks/main.yml").read_text())
    first = tasks[0]
    assert "ansible.builtin.assert" in first, f"{role.name}: first task is {first.get('name')}"
    assert first["ansible.builtin.assert"].get("fail_msg"), role.name


def test_no_ignore_errors_anywhere():
    for path in ANSIBLE_DIR.rglob("*.yml"):
        assert "ignore_errors" not in path.read_text(), path
