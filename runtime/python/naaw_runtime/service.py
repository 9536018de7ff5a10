"""`python3 -m naaw_runtime serve`: the component as a small REST service (GET /healthz, GET /spec, POST /run)."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

from . import __version__
from .errors import CellError, InputError, NaawError
from .execute import Component, bind_params, check_input_names, execute, make_outputs_dir
from .fused import run_fused
from .openapi import openapi_document
from .values import loads_strict, read_value

MAX_BODY_BYTES = 1024 * 1024
# An oversized body up to this size is read and dropped before answering 413, so the client sees the answer
# instead of a connection reset; anything larger is refused without reading it.
MAX_DRAINED_BYTES = 16 * 1024 * 1024
RUNS_DIR = Path(".naaw") / "runs"
# Longer paths name nothing the kernel opens (ENAMETOOLONG); they get a lexical check only, since realpath
# costs one lstat per component (a 1 MiB body of `a/a/a/...` would hold a thread for seconds).
PATH_MAX = 4096


class RuntimeService:
    """What the HTTP handler needs: the component(s), the confined data root and the OpenAPI document.

    A service of one component answers POST /run; a service of several (the components of a foreach item's
    steps, as `naaw run` starts one) answers POST /chain, which runs them one after the other in one request.
    """

    def __init__(self, component: Component | Sequence[Component], data_root: str | Path, workdir: str | Path | None = None):
        components = [component] if isinstance(component, Component) else list(component)
        if not components:
            raise InputError("a service needs at least one component")
        self.components: dict[str, Component] = {}
        for each in components:
            if each.name in self.components:
                raise InputError(f"two component directories are both named '{each.name}'")
            self.components[each.name] = each
        self.component = components[0]
        self.name = ",".join(self.components)
        self.data_root = os.path.realpath(data_root)
        if not os.path.isdir(self.data_root):
            raise InputError(f"--data-root {data_root} is not a directory")
        # Where the cells run and relative request paths are read from: the data root unless told otherwise
        # (the local runner keeps the directory `naaw run` was started in, so relative params mean what they
        # meant there); it must lie inside the data root, or the confinement would not hold.
        self.workdir = os.path.realpath(workdir) if workdir is not None else self.data_root
        if not os.path.isdir(self.workdir) or not self._inside(self.workdir):
            raise InputError(f"--workdir {workdir} must be a directory inside --data-root {data_root}")
        self.openapi: dict[str, Any] = openapi_document(self.component.spec)

    def resolve(self, given: Any, what: str) -> Path:
        """A request path resolved against the data root; symlinks included, it must not leave the root."""
        if not isinstance(given, str) or not given or "\0" in given:
            raise InputError(f"{what} must be a path (a non-empty string), got {given!r}")
        if len(given) > PATH_MAX:
            raise InputError(f"{what}: a path of {len(given)} characters is longer than any path can be ({PATH_MAX})")
        real = os.path.realpath(os.path.join(self.workdir, given))
        if not self._inside(real):
            raise InputError(f"{what}: path '{given}' is outside the data root")
        return Path(real)

    def inside(self, file: str | Path) -> bool:
        """Whether a file, symlinks resolved, lies in the data root."""
        return self._inside(os.path.realpath(file))

    def _inside(self, absolute: str) -> bool:
        return absolute == self.data_root or absolute.startswith(self.data_root.rstrip(os.sep) + os.sep)

    def confine_params(self, given: dict[str, Any]) -> None:
        """Refuse a request whose params could name a path outside the data root.

        The spec types a path param like `load`'s `tile` as a plain `str`, and nothing declares which strings
        the cells open, so every string in a given param (in lists and dict values too) is held to what an
        input path is held to: read relative to the data root (the cells run there: see `serve`), it must
        stay inside, symlinks included. A string that is not meant as a path passes unless it is absolute or
        climbs out with `..`. Defaults come from the notebook, not the request, and are not checked.
        """
        for name, value in given.items():
            for text in _strings(value):
                if "\0" in text:
                    continue  # no file name holds a NUL: open() refuses it, so it cannot lead anywhere
                joined = os.path.join(self.workdir, text)
                # A string too long to be a path is checked lexically (see PATH_MAX).
                where = os.path.normpath(joined) if len(text) > PATH_MAX else os.path.realpath(joined)
                if not self._inside(where):
                    shown = text if len(text) <= 200 else text[:197] + "..."
                    raise InputError(
                        f"param '{name}': path '{shown}' is outside the data root "
                        "(a string in params is read as a path from the data root, where the cells run, and must not lead out of it)"
                    )

    def relative(self, path: Path) -> str:
        return os.path.relpath(path, self.workdir)

    def health(self) -> dict[str, Any]:
        if len(self.components) > 1:
            return {"status": "ok", "components": list(self.components)}
        return {"status": "ok", "component": self.component.name}

    def _single(self, route: str) -> None:
        if len(self.components) > 1:
            raise InputError(f"this service serves the components {', '.join(self.components)}: {route} serves one; use POST /chain")

    def describe(self) -> dict[str, Any]:
        self._single("GET /spec")
        return {"component": self.component.spec.document, "openapi": self.openapi}

    def chain(self, request: Any) -> dict[str, Any]:
        return run_fused(self, request)

    def run(self, request: Any) -> dict[str, Any]:
        started = time.perf_counter()
        self._single("POST /run")
        spec = self.component.spec
        if not isinstance(request, dict):
            raise InputError('the request body must be a JSON object like {"inputs": {...}, "params": {...}}')
        unknown = sorted(set(request) - {"inputs", "params", "outputs", "reuse_files"})
        if unknown:
            raise InputError(f"unknown field '{unknown[0]}' in the request; expected inputs, params, outputs and reuse_files")
        if not isinstance(request.get("reuse_files", False), bool):
            raise InputError("'reuse_files' must be true or false")
        paths = request.get("inputs", {})
        given_params = request.get("params", {})
        if not isinstance(paths, dict):
            raise InputError("'inputs' must be an object mapping each input name to a path")
        if not isinstance(given_params, dict):
            raise InputError("'params' must be an object mapping each param name to a value")
        check_input_names(spec, list(paths))
        params = bind_params(spec, given_params)
        self.confine_params(given_params)
        values = dict(params)
        for variable in spec.inputs:
            what = f"input '{variable.name}'"
            if variable.name not in paths:
                raise InputError(f"missing {what} ({variable.type}): give its path in \"inputs\"")
            path = self.resolve(paths[variable.name], what)
            values[variable.name] = read_value(path, what, variable.type, shown=paths[variable.name])
        fresh = request.get("outputs") is None
        outputs_dir = self._fresh_outputs_dir() if fresh else make_outputs_dir(
            self.resolve(request["outputs"], "'outputs'"), shown=request["outputs"]
        )
        try:
            # reuse_files: an output that is a file under the data root, unchanged, is answered with its path.
            may_reuse = (lambda file: self._inside(os.path.realpath(file))) if request.get("reuse_files") else None
            written = execute(self.component, values, outputs_dir, may_reuse)
        except BaseException:
            if fresh:
                _remove_if_empty(outputs_dir)
            raise
        types = {v.name: v.type for v in spec.outputs}
        return {
            "outputs": {name: {"path": self.relative(path), "type": types[name]} for name, path in written.items()},
            "seconds": round(time.perf_counter() - started, 6),
        }

    def _fresh_outputs_dir(self) -> Path:
        runs = make_outputs_dir(Path(self.data_root) / RUNS_DIR)
        fresh = runs / f"{self.component.name}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        fresh.mkdir()
        return fresh


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value (dict keys aside), walked without recursion: a body may nest deeply."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
    return found


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    server_version = f"naaw_runtime/{__version__}"
    # Keep-alive: `naaw run` sends a component's every request on one connection, where HTTP/1.0 would cost a
    # TCP connection and a server thread per step. Every answer carries a Content-Length.
    protocol_version = "HTTP/1.1"
    # An answer leaves in one write (buffered, flushed once a request is handled) with Nagle off: on a kept-alive
    # connection, headers and body in two small writes would wait for the client's delayed ACK (40 ms).
    wbufsize = -1
    disable_nagle_algorithm = True
    timeout = 60  # seconds a client may take to send its request (or stay idle between two); it does not limit the cells' run time
    service: RuntimeService  # set on the subclass made by make_server
    server: "RuntimeServer"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Only failed requests are logged: a line per answered step cost `naaw run` a write and a wake-up of
        # the process reading stderr (over 1 ms a step on a busy machine), and said nothing it needs.
        if isinstance(code, int) and code < 400:
            return
        super().log_request(code, size)

    def handle(self) -> None:
        self.server.track(self.connection)
        try:
            super().handle()
        finally:
            self.server.untrack(self.connection)

    def handle_one_request(self) -> None:
        super().handle_one_request()
        self.server.idle(self.connection)

    def parse_request(self) -> bool:
        # The request line has arrived: the connection is busy until its answer is sent.
        self.server.busy(self.connection)
        return super().parse_request()

    def _routes(self) -> dict[str, tuple[str, Callable[[], Any]]]:
        return {
            "/healthz": ("GET", self.service.health),
            "/spec": ("GET", self.service.describe),
            "/run": ("POST", lambda: self.service.run(self._read_json_body())),
            "/chain": ("POST", lambda: self.service.chain(self._read_json_body())),
        }

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        self._body_read = False
        path = urlsplit(self.path).path
        headers: dict[str, str] = {}
        try:
            route = self._routes().get(path)
            if route is None:
                raise NaawError(f"no such path {path}; this service answers GET /healthz, GET /spec, POST /run and POST /chain", 404)
            allowed, answer = route
            if method != allowed:
                raise NaawError(f"{method} is not allowed on {path}; use {allowed}", 405, headers={"Allow": allowed})
            status, body = 200, answer()
        except CellError as exc:
            self.log_message("%s", exc.message)
            sys.stderr.write(exc.details + "\n")
            status, body = exc.status, {"error": exc.message, "cell": exc.cell, "line": exc.line, **exc.extra}
        except NaawError as exc:
            status, body, headers = exc.status, {"error": exc.message, **exc.extra}, exc.headers
        except Exception as exc:
            traceback.print_exc()
            status, body = 500, {"error": f"internal error in naaw_runtime: {type(exc).__name__}: {exc}"}
        if not self._body_read and (self.headers.get("Transfer-Encoding") or self.headers.get("Content-Length", "0").strip() != "0"):
            # A body left unread would be taken for the next request on this connection.
            self.close_connection = True
        self._send_json(status, body, headers, include_body=method != "HEAD")

    def _read_json_body(self) -> Any:
        if self.headers.get("Transfer-Encoding"):
            raise NaawError("send the request body with a Content-Length; chunked bodies are not supported", 411)
        declared = self.headers.get("Content-Length")
        if declared is None:
            raise NaawError(f"POST {urlsplit(self.path).path} needs a Content-Length header", 411)
        try:
            length = int(declared)
            if length < 0:
                raise ValueError
        except ValueError:
            raise InputError(f"invalid Content-Length {declared!r}") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if length <= MAX_DRAINED_BYTES:
                self._discard(length)
            raise NaawError(
                f"the request body is {length} bytes, over the limit of {MAX_BODY_BYTES} bytes (1 MiB); "
                "pass data as files under the data root and send their paths",
                413,
            )
        raw = self.rfile.read(length)
        self._body_read = True
        if len(raw) < length:
            raise InputError(f"the request body ended after {len(raw)} of {length} bytes")
        try:
            return loads_strict(raw)
        except ValueError as exc:
            raise InputError(f"malformed JSON in the request body: {exc}") from None
        except RecursionError:
            # json's decoder recurses once per nested array or object; Python stops it with RecursionError
            # (the thread's stack is intact, so the service goes on serving).
            raise InputError(
                f"the JSON in the request body is nested too deeply (Python's limit is about {sys.getrecursionlimit()} levels)"
            ) from None

    def _discard(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                return
            remaining -= len(chunk)

    def _send_json(self, status: int, body: Any, headers: dict[str, str], include_body: bool = True) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if include_body:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing left to tell it


class RuntimeServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for runs in flight, so SIGTERM does not cut an output short

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._connections_lock = threading.Lock()
        self._idle_connections: set[socket.socket] = set()
        self._closing = False

    # Keep-alive connections wait for their next request in a thread; server_close() joins those threads, so
    # a stop ends the idle ones (their read sees end of file) and lets busy ones finish their answer first.
    def track(self, connection: socket.socket) -> None:
        self.idle(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._idle_connections.discard(connection)

    def busy(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._idle_connections.discard(connection)

    def idle(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._idle_connections.add(connection)
            if self._closing:
                _end_reads(connection)

    def close_idle_connections(self) -> None:
        with self._connections_lock:
            self._closing = True
            for connection in self._idle_connections:
                _end_reads(connection)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def _end_reads(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RD)
    except OSError:
        pass  # already closed by the client


def make_server(component: Component | Sequence[Component], host: str, port: int, data_root: str | Path, workdir: str | Path | None = None) -> RuntimeServer:
    service = RuntimeService(component, data_root, workdir)
    handler = type("Handler", (_Handler,), {"service": service})
    server_class = RuntimeServer
    if ":" in host:
        server_class = type("RuntimeServer6", (RuntimeServer,), {"address_family": socket.AF_INET6})
    try:
        server = server_class((host, port), handler)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    service.openapi = openapi_document(service.component.spec, server_url=url_of(server))
    return server


SHUTDOWN_POLL_SECONDS = 0.05


def _stop_at_eof(stop: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except OSError:
        pass
    stop.set()


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the service on this machine: a loopback address, or a name for one."""
    name = host.strip("[]").split("%", 1)[0]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        if not name:
            return False  # "" binds every interface
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError:
            return False  # it cannot be bound either; the bind reports that
        return bool(infos) and all(is_loopback(str(info[4][0])) for info in infos)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def exposure_warning(host: str) -> str | None:
    """The warning for a service bound where other machines can reach it, or None on loopback."""
    if is_loopback(host):
        return None
    return (
        f"naaw_runtime: warning: --host {host or '(all interfaces)'} is not a loopback address: the service has no "
        "authentication, and anyone who can reach it over the network can run the component and read and write "
        "files under its data root; bind 127.0.0.1, or put it behind an authenticating proxy or a network policy"
    )


def url_of(server: RuntimeServer) -> str:
    host, port = server.server_address[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(component_dir: str | Sequence[str], host: str, port: int, data_root: str, stop_on_stdin_eof: bool = False, workdir: str | None = None) -> int:
    """Serve until SIGTERM or SIGINT (or, if asked, until stdin closes), then stop cleanly and return 0."""
    components = [Component.load(d) for d in ([component_dir] if isinstance(component_dir, str) else component_dir)]
    warning = exposure_warning(host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    server = make_server(components, host, port, data_root, workdir)
    name = ",".join(c.name for c in components)
    # The cells open relative paths from the working directory: run them in the data root, so that a relative
    # path in a param means the file that confine_params checked, as an input path does (even when the
    # service was started from elsewhere: an image's /app, or `--data-root DIR` from the project).
    os.chdir(os.path.realpath(workdir if workdir is not None else data_root))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if stop_on_stdin_eof:
        threading.Thread(target=_stop_at_eof, args=(stop,), name="naaw-stdin", daemon=True).start()
    # shutdown() waits for serve_forever to see its flag, which it checks once a poll interval (0.5 s by
    # default): naaw run waits for its services to stop before it writes the report.
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, name="naaw-http", daemon=True)
    worker.start()
    print(f"naaw_runtime: serving {name} on {url_of(server)}", flush=True)
    while not stop.wait(1.0):
        pass
    server.shutdown()
    server.close_idle_connections()
    server.server_close()
    worker.join()
    print(f"naaw_runtime: stopped serving {name}", file=sys.stderr, flush=True)
    return 0
