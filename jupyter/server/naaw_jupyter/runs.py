"""Local runs started from the panel: `naaw run` in the background, its progress kept for polling."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import deque
from dataclasses import dataclass, field

from . import cli

KEPT_LINES = 200
REPORT_LINE = re.compile(r"^report: (.+)$")


@dataclass
class Run:
    id: str
    workflow: str
    state: str = "running"  # running, done, failed
    exit_code: int | None = None
    lines: deque = field(default_factory=lambda: deque(maxlen=KEPT_LINES))
    report: str | None = None

    def as_json(self) -> dict:
        return {"id": self.id, "workflow": self.workflow, "state": self.state, "exitCode": self.exit_code,
                "lines": list(self.lines), "report": self.report}


class Runs:
    def __init__(self, root: str):
        self.root = root
        self.runs: dict[str, Run] = {}
        self.tasks: set[asyncio.Task] = set()
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    def stop_all(self) -> None:
        """Stops the runs still going (the server is stopping): `naaw run` ends its services and
        keeps its cache whole on SIGTERM."""
        for process in self.processes.values():
            if process.returncode is None:
                try:
                    process.terminate()
                except ProcessLookupError:
                    pass

    async def start(self, workflow: str, params: dict) -> Run:
        args = ["run", workflow]
        for name, value in sorted(params.items()):
            args += ["--set", f"{name}={value}"]
        process = await cli.start(args, self.root)
        run = Run(id=secrets.token_hex(8), workflow=workflow)
        self.runs[run.id] = run
        self.processes[run.id] = process
        task = asyncio.ensure_future(self._follow(run, process))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return run

    async def _follow(self, run: Run, process: asyncio.subprocess.Process) -> None:
        async def read(stream) -> None:
            async for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                run.lines.append(line)
                found = REPORT_LINE.match(line)
                if found:
                    run.report = found.group(1).strip()
        await asyncio.gather(read(process.stdout), read(process.stderr))
        run.exit_code = await process.wait()
        run.state = "done" if run.exit_code == 0 else "failed"
        self.processes.pop(run.id, None)
