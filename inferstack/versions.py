"""Read the one version lock, versions.yaml. Code asks for versions here; nothing else writes one."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from inferstack.config import read_yaml
from inferstack.errors import ConfigError
from inferstack.paths import project_root


def lock_path() -> Path:
    return project_root() / "versions.yaml"


@cache
def lock() -> dict[str, Any]:
    data = read_yaml(lock_path())
    if not isinstance(data, dict) or data.get("schema") != 1:
        raise ConfigError(
            lock_path(), "schema", "unknown lock format", "set `schema: 1` at the top of versions.yaml"
        )
    return data


def get(dotted: str) -> Any:
    """`get("ngc.release")` -> "25.10". A missing key is a bug in the caller or the lock: say which."""
    node: Any = lock()
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(
                lock_path(), dotted, "no such version in the lock", f"add `{dotted}` to versions.yaml"
            )
        node = node[part]
    return node


def python_pins() -> dict[str, str]:
    return dict(get("python"))


def triton_image() -> str:
    return f"nvcr.io/nvidia/tritonserver:{get('ngc.release')}-py3"


def tensorrt_image() -> str:
    return f"nvcr.io/nvidia/tensorrt:{get('ngc.release')}-py3"


def project_image(name: str, registry: str) -> str:
    """Images this project builds (images/<name>/) are tagged `<ngc release>-inferstack<version>`.

    The NGC release in the tag makes the TensorRT/Triton pairing visible on every node; the project
    version tells two builds of the same base apart.
    """
    from inferstack import __version__

    return f"{registry.rstrip('/')}/inferstack-{name}:{get('ngc.release')}-inferstack{__version__}"
