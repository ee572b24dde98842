"""The one version lock: pyproject mirrors its python section exactly, nothing floats."""

import re
import tomllib

from inferstack import versions
from inferstack.paths import project_root


def _pyproject_pins() -> dict[str, set[str]]:
    data = tomllib.loads((project_root() / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for group in data["project"]["optional-dependencies"].values():
        specs.extend(group)
    pins: dict[str, set[str]] = {}
    for spec in specs:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*==\s*([^;\s]+)", spec)
        if match:
            pins.setdefault(match.group(1).lower(), set()).add(match.group(3))
    return pins


def test_every_locked_python_package_is_pinned_identically_in_pyproject():
    pins = _pyproject_pins()
    for name, version in versions.python_pins().items():
        assert name.lower() in pins, f"{name} is in versions.yaml but not pinned in pyproject.toml"
        assert pins[name.lower()] == {str(version)}, (
            f"{name}: pyproject pins {pins[name.lower()]}, the lock says {version}"
        )


def test_every_direct_dependency_is_pinned_exactly():
    data = tomllib.loads((project_root() / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for group in data["project"]["optional-dependencies"].values():
        specs.extend(s for s in group if not s.startswith("inferstack["))
    floating = [s for s in specs if "==" not in s]
    assert not floating, f"unpinned dependencies: {floating}"


def test_lock_has_no_latest_and_no_ranges():
    text = versions.lock_path().read_text()
    assert ":latest" not in text and "latest" not in re.sub(r"#.*", "", text)
    assert not re.search(r"[\"']\s*[<>~^]=?", text), "a version range found in versions.yaml"


def test_project_images_carry_the_ngc_release():
    image = versions.project_image("triton", "registry.example.com/team")
    assert (
        image == f"registry.example.com/team/inferstack-triton:{versions.get('ngc.release')}-inferstack0.1.0"
    )
