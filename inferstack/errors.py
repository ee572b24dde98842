"""User-facing errors.

Every error a user can cause names the file, the field and the fix, so the CLI prints it without a
traceback and the user knows what to change. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class InferstackError(Exception):
    """An error the user can fix; the CLI prints it plainly and exits non-zero."""

    exit_code = 2


class ConfigError(InferstackError):
    """A file the user wrote (model definition, SLO, catalog, inventory...) is wrong."""

    def __init__(self, file: str | Path | None, field: str | None, problem: str, fix: str):
        self.file = str(file) if file is not None else None
        self.field = field
        self.problem = problem
        self.fix = fix
        where = self.file or "<input>"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {problem}\n  fix: {fix}")


class ServiceError(InferstackError):
    """A server we start or talk to is not healthy; the message points at its log or URL."""

    exit_code = 3


class GateError(InferstackError):
    """A quality gate refused the result (fidelity gate, SLO verdict); says by how much."""

    exit_code = 1
