"""Runs the `naaw` CLI for a route, without blocking the server, and reads its JSON answer."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from dataclasses import dataclass

# A verb that takes longer than this is stopped and answered as an error (a run is not a verb
# here: runs.py watches those).
CLI_TIMEOUT_SECONDS = 120


class CliUnavailable(Exception):
    """The naaw command cannot be started: what to install or set."""


def naaw_command() -> list[str]:
    return shlex.split(os.environ.get("NAAW_CLI", "naaw"))


@dataclass
class CliAnswer:
    status: int
    document: object | None  # the JSON on stdout, when there is one
    stderr: str


async def start(args: list[str], cwd: str, stdout=asyncio.subprocess.PIPE) -> asyncio.subprocess.Process:
    command = naaw_command() + args
    try:
        return await asyncio.create_subprocess_exec(
            *command, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=stdout, stderr=asyncio.subprocess.PIPE
        )
    except OSError as error:
        raise CliUnavailable(
            f"cannot run {command[0]!r} ({error.strerror}): install naaw (npm ci in the project) or set NAAW_CLI"
        ) from None


async def run(args: list[str], cwd: str) -> tuple[int, str, str]:
    """`naaw ARGS`, stopped after CLI_TIMEOUT_SECONDS: its exit status, stdout and stderr."""
    process = await start(args, cwd)
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        return 124, "", f"naaw {args[0]} took longer than {CLI_TIMEOUT_SECONDS} s and was stopped"
    return process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def run_json(args: list[str], cwd: str) -> CliAnswer:
    """`naaw ARGS` (which end in --json); its exit status, its JSON and its stderr."""
    status, out, err = await run(args, cwd)
    try:
        document = json.loads(out) if out.strip() else None
    except ValueError:
        document = None
    return CliAnswer(status, document, err)
