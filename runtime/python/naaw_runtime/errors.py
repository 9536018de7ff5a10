"""Errors a user can act on, each knowing how the service and the batch entry point report it."""

from __future__ import annotations


class NaawError(Exception):
    """A user-facing error: `status` is the HTTP status the service answers, `exit_code` the batch exit code."""

    status = 400
    exit_code = 2

    def __init__(self, message: str, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status
        self.headers = headers or {}
        # More fields of the service's error answer (POST /chain names the step that failed and those done before).
        self.extra: dict = {}

    @property
    def message(self) -> str:
        return str(self.args[0])


class InputError(NaawError):
    """The caller's inputs, params or paths are wrong (HTTP 400, exit 2)."""


class SpecError(NaawError):
    """The component directory is malformed: the runtime cannot start (exit 2)."""

    status = 500


class ComponentError(NaawError):
    """The component ran but its result cannot be used (HTTP 500, exit 1)."""

    status = 500
    exit_code = 1


class CellError(ComponentError):
    """The notebook cell code raised; `cell` and `line` locate it in the notebook when the source map does."""

    def __init__(self, message: str, cell: int | None, line: int | None, details: str):
        super().__init__(message)
        self.cell = cell
        self.line = line
        self.details = details
