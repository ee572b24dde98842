"""Load YAML files into typed models, turning every mistake into an error that names file, field and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from inferstack.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            path, None, "file not found", f"create it or pass the right path (looked at {path.resolve()})"
        )
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            path, None, f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", "fix the YAML syntax"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text ({exc.reason})", "save the file as UTF-8") from None


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _describe(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """The description of the field at `loc`, used as the fix hint."""
    current: Any = model
    description = None
    for item in loc:
        if isinstance(item, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or item not in fields:
            return description
        info = fields[item]
        description = info.description
        annotation = info.annotation
        args = getattr(annotation, "__args__", ()) or ()
        candidates = [annotation, *args]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return description


def validate(model: type[M], data: Any, path: str | Path) -> M:
    if data is None:
        raise ConfigError(
            path,
            None,
            "the file is empty",
            f"write a {model.__name__} document (see the example in the docs)",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        field = _field_path(loc) or None
        hint = _describe(model, loc)
        if err["type"] == "extra_forbidden":
            fix = "remove it or correct its spelling"
            problem = "unknown field"
        elif err["type"] == "missing":
            problem = "required field is missing"
            fix = f"add it{': ' + hint if hint else ''}"
        else:
            problem = f"{err['msg']} (got {err.get('input')!r})"
            fix = hint or "see the documented format"
        more = len(exc.errors()) - 1
        if more:
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(path, field, problem, fix) from None


def load(model: type[M], path: str | Path) -> M:
    return validate(model, read_yaml(path), path)


class Strict(BaseModel):
    """Base for every file format: unknown fields are errors (a typo must not be silently ignored)."""

    model_config = {"extra": "forbid", "frozen": True}
