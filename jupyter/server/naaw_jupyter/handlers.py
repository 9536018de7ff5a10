"""The /naaw/ routes. Each is a jupyter_server APIHandler behind @tornado.web.authenticated, so only
the server's own authenticated session reaches it (its token or cookie, and its XSRF check on
POST). Answers are JSON; a problem the user can act on is a diagnostic in the answer, as the CLI
reports it, never a stack trace."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import shutil
import tempfile

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from . import cli
from .paths import BadPath, inside_root
from .runs import Runs

def problem(file: str, message: str) -> dict:
    return {"severity": "error", "file": file, "message": message}


class NaawHandler(APIHandler):
    def initialize(self, root: str, runs: Runs) -> None:
        self.root = root
        self.runs = runs

    def answer(self, document: object, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document))

    def bad_request(self, error: BadPath, shape: dict) -> None:
        self.answer({**shape, "diagnostics": [problem("", str(error))]}, 400)

    async def cli_json(self, args: list[str], file: str, shape: dict, adjust=None) -> None:
        """Answers with the CLI's JSON (passed through `adjust` first, when given); when it gave none,
        with its first line of stderr as a diagnostic."""
        try:
            answer = await cli.run_json(args, self.root)
        except cli.CliUnavailable as error:
            self.answer({**shape, "diagnostics": [problem(file, str(error))]}, 503)
            return
        if isinstance(answer.document, dict):
            if adjust:
                adjust(answer.document)
            self.answer(answer.document)
            return
        first = next((line for line in answer.stderr.splitlines() if line.strip()), "no output")
        self.log.warning("naaw %s exited %s: %s", " ".join(args), answer.status, answer.stderr)
        self.answer({**shape, "diagnostics": [problem(file, f"naaw {args[0]} failed (exit code {answer.status}): {first}")]}, 502)


class ComponentsHandler(NaawHandler):
    """GET: the components of the notebook as saved. POST {"notebook": path, "content": nbformat
    JSON}: of the notebook as the editor holds it (a tag just changed, not yet saved), analyzed from
    a private copy (with the requirements.txt beside the notebook), named by its own path."""

    @tornado.web.authenticated
    async def get(self) -> None:
        shape = {"components": []}
        try:
            notebook = inside_root(self.root, self.get_query_argument("notebook", None), "notebook", (".ipynb",))
        except BadPath as error:
            return self.bad_request(error, shape)
        await self.cli_json(["components", notebook, "--json"], notebook, shape)

    @tornado.web.authenticated
    async def post(self) -> None:
        shape = {"components": []}
        try:
            body = json.loads(self.request.body or b"{}")
            content = body["content"]
            if not isinstance(content, dict):
                raise ValueError("content is not a notebook")
        except (ValueError, KeyError, TypeError) as error:
            return self.answer({**shape, "diagnostics": [problem("", f"expected {{notebook, content}} as JSON ({error})")]}, 400)
        try:
            notebook = inside_root(self.root, body.get("notebook"), "notebook", (".ipynb",))
        except BadPath as error:
            return self.bad_request(error, shape)
        with tempfile.TemporaryDirectory(prefix="naaw-panel-") as scratch:
            copy = os.path.join(scratch, os.path.basename(notebook))
            with open(copy, "w", encoding="utf-8") as file:
                json.dump(content, file)
            pins = os.path.join(self.root, os.path.dirname(notebook), "requirements.txt")
            if os.path.isfile(pins):
                shutil.copyfile(pins, os.path.join(scratch, "requirements.txt"))

            def named_by_the_notebook(document: dict) -> None:
                for item in document.get("components", []) + document.get("diagnostics", []):
                    for key in ("notebook", "file"):
                        if item.get(key) == copy:
                            item[key] = notebook

            await self.cli_json(["components", copy, "--json"], notebook, shape, named_by_the_notebook)


class ValidateHandler(NaawHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        shape = {"valid": False}
        try:
            workflow = inside_root(self.root, self.get_query_argument("workflow", None), "workflow", (".yaml", ".yml"))
        except BadPath as error:
            return self.bad_request(error, shape)
        await self.cli_json(["validate", workflow, "--json"], workflow, {**shape, "workflow": workflow})


class WorkflowsHandler(NaawHandler):
    """The workflows under workflows/ that use the notebook (`uses: <notebook>/...`), each validated."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            notebook = inside_root(self.root, self.get_query_argument("notebook", None), "notebook", (".ipynb",))
        except BadPath as error:
            return self.bad_request(error, {"workflows": []})
        stem = os.path.splitext(os.path.basename(notebook))[0]
        candidates = []
        for path in sorted(glob.glob(os.path.join(self.root, "workflows", "*.y*ml"))):
            with open(path, encoding="utf-8", errors="replace") as file:
                if f"{stem}/" in file.read():
                    candidates.append(os.path.relpath(path, self.root).replace(os.sep, "/"))
        try:
            # Validated at once: one `naaw validate` each, in parallel.
            answers = await asyncio.gather(*(cli.run_json(["validate", w, "--json"], self.root) for w in candidates))
        except cli.CliUnavailable as error:
            return self.answer({"workflows": [], "diagnostics": [problem("", str(error))]}, 503)
        found = []
        for workflow, answer in zip(candidates, answers):
            document = answer.document if isinstance(answer.document, dict) else {
                "workflow": workflow, "valid": False,
                "diagnostics": [problem(workflow, f"naaw validate failed (exit code {answer.status})")]}
            uses = document.get("uses")
            if uses is None or any(u.startswith(f"{stem}/") for u in uses):
                found.append(document)
        self.answer({"notebook": notebook, "workflows": found})


class RenderHandler(NaawHandler):
    """The workflow's DAG as Mermaid text (`naaw render --to mermaid`), for the panel to draw."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            workflow = inside_root(self.root, self.get_query_argument("workflow", None), "workflow", (".yaml", ".yml"))
        except BadPath as error:
            return self.bad_request(error, {"mermaid": None})
        try:
            status, out, err = await cli.run(["render", workflow, "--to", "mermaid"], self.root)
        except cli.CliUnavailable as error:
            return self.answer({"mermaid": None, "diagnostics": [problem(workflow, str(error))]}, 503)
        if status != 0:
            lines = [line for line in err.splitlines() if line.strip()]
            return self.answer({"mermaid": None, "diagnostics": [problem(workflow, line) for line in lines[:20]]})
        self.answer({"workflow": workflow, "mermaid": out})


class StacksHandler(NaawHandler):
    """The stacks `naaw plan --stack` can price: stacks/Pulumi.<name>.yaml."""

    @tornado.web.authenticated
    def get(self) -> None:
        names = sorted(
            os.path.basename(path)[len("Pulumi."):-len(".yaml")]
            for path in glob.glob(os.path.join(self.root, "stacks", "Pulumi.*.yaml"))
        )
        self.answer({"stacks": names})


class PlanHandler(NaawHandler):
    """The plan and cost of a stack (`naaw plan --stack S --json`)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        stack = self.get_query_argument("stack", "")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", stack):
            return self.answer({"diagnostics": [problem("", f"stack {stack!r}: give a stack's name, as in Pulumi.<stack>.yaml")]}, 400)
        await self.cli_json(["plan", "--stack", stack, "--json"], f"Pulumi.{stack}.yaml", {})


class RunsHandler(NaawHandler):
    """POST {"workflow": path, "params": {name: value}} starts `naaw run`; the answer is the run."""

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as error:
            return self.answer({"diagnostics": [problem("", f"the request body is not a JSON object ({error})")]}, 400)
        try:
            workflow = inside_root(self.root, body.get("workflow"), "workflow", (".yaml", ".yml"))
        except BadPath as error:
            return self.bad_request(error, {})
        params = body.get("params") or {}
        if not isinstance(params, dict) or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(k)) for k in params):
            return self.answer({"diagnostics": [problem(workflow, "params: give an object of param names to values")]}, 400)
        values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        try:
            run = await self.runs.start(workflow, values)
        except cli.CliUnavailable as error:
            return self.answer({"diagnostics": [problem(workflow, str(error))]}, 503)
        self.answer(run.as_json(), 202)


class RunHandler(NaawHandler):
    @tornado.web.authenticated
    def get(self, run_id: str) -> None:
        run = self.runs.runs.get(run_id)
        if run is None:
            return self.answer({"diagnostics": [problem("", f"no run {run_id} on this server")]}, 404)
        self.answer(run.as_json())


def route_table(base_url: str, root: str, runs: Runs) -> list:
    options = {"root": root, "runs": runs}
    routes = [
        ("components", ComponentsHandler),
        ("workflows", WorkflowsHandler),
        ("validate", ValidateHandler),
        ("render", RenderHandler),
        ("stacks", StacksHandler),
        ("plan", PlanHandler),
        ("runs", RunsHandler),
        (r"runs/([0-9a-f]{16})", RunHandler),
    ]
    return [(url_path_join(base_url, "naaw", route), handler, options) for route, handler in routes]
