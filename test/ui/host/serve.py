#!/usr/bin/python3
"""Serve the NaaW UI test host: a minimal JupyterLab page on Debian's jupyter_server 1.23.

    /usr/bin/python3 test/ui/host/serve.py --port 8890 --token secret --root-dir /tmp/nb \\
        --labextension path/to/built/extension --server-extension naaw_jupyter

The page (templates/index.html and the bundle in build/static, built by
`npx webpack --config test/ui/host/webpack.config.js`) is served at /lab by
jupyterlab_server's LabHandler, which writes PageConfig, including
`federated_extensions` read from each --labextension directory (laid out like
share/jupyter/labextensions/<name>/: package.json with jupyterlab._build, and
static/). Settings schemas and the light theme come from build/schemas and
build/themes through jupyterlab_server's settings and themes handlers; user
settings and workspaces live in a temporary directory removed at exit.

JupyterLab 4's @jupyterlab/services targets jupyter_server >= 2.4. What it needs
and 1.23 lacks is added here: GET /api/me (identity and permissions) and the
/api/events/subscribe websocket, which accepts and stays quiet (no server here
emits events).

Listens on 127.0.0.1 only. SIGTERM stops the server and shuts its kernels down.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.zmqhandlers import WebSocketMixin
from jupyter_server.serverapp import ServerApp
from jupyterlab_server import LabServerApp
from tornado import web
from tornado.websocket import WebSocketHandler
from traitlets.config import Config

HOST_DIR = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.path.join(HOST_DIR, "build")
BUILD_COMMAND = "npx webpack --config test/ui/host/webpack.config.js"

# jupyter_server loads extensions by module name; this script registers itself
# under this name (see main) so that the app below can be one.
EXTENSION_MODULE = "naaw_ui_host"


class MeHandler(APIHandler):
    """GET /api/me as jupyter_server 2 answers it: the identity, and every
    permission asked for (`?permissions={"contents": ["read", ...]}`) granted,
    since 1.23 has one authenticated user who may do everything."""

    @web.authenticated
    def get(self):
        user = self.current_user
        name = user if isinstance(user, str) else (user or {}).get("name", "anonymous")
        try:
            asked = json.loads(self.get_argument("permissions", "{}"))
        except ValueError:
            raise web.HTTPError(400, "permissions is not JSON")
        if not isinstance(asked, dict):
            raise web.HTTPError(400, "permissions must be a JSON object")
        identity = {
            "username": name,
            "name": name,
            "display_name": name,
            "initials": name[:1].upper() or None,
            "avatar_url": None,
            "color": None,
        }
        self.finish(json.dumps({"identity": identity, "permissions": asked}))


class EventsSubscribeHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """The /api/events/subscribe websocket of jupyter_server 2: nothing here
    emits events, so it only authenticates, accepts and stays quiet."""

    def set_default_headers(self):
        # JupyterHandler's headers do not apply to a websocket upgrade.
        pass

    async def get(self, *args, **kwargs):
        if self.get_current_user() is None:
            raise web.HTTPError(403)
        return await super().get(*args, **kwargs)

    def on_message(self, message):
        pass


class UiHostApp(LabServerApp):
    """jupyterlab_server's LabServerApp serving the test host's bundle and templates."""

    __module__ = EXTENSION_MODULE
    name = EXTENSION_MODULE
    app_name = "NaaW UI test host"
    load_other_extensions = False

    def initialize_handlers(self):
        super().initialize_handlers()
        self.handlers.extend(
            [
                (r"/api/me/?", MeHandler),
                (r"/api/events/subscribe", EventsSubscribeHandler),
            ]
        )


def _jupyter_server_extension_points():
    return [{"module": EXTENSION_MODULE, "app": UiHostApp}]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--token", required=True, help="the server's token")
    parser.add_argument("--root-dir", required=True, help="the contents root directory")
    parser.add_argument(
        "--labextension",
        action="append",
        default=[],
        metavar="DIR",
        help="a built federated extension (package.json and static/); repeatable",
    )
    parser.add_argument(
        "--server-extension",
        action="append",
        default=[],
        metavar="MODULE",
        help="a jupyter_server extension to enable, by module name; repeatable",
    )
    parser.add_argument("--allow-root", action="store_true", help="allow running as root")
    return parser.parse_args(argv)


def check_build():
    missing = [
        p
        for p in (
            os.path.join(BUILD_DIR, "static", "bundle.js"),
            os.path.join(BUILD_DIR, "schemas"),
            os.path.join(BUILD_DIR, "themes"),
        )
        if not os.path.exists(p)
    ]
    if missing:
        sys.exit(
            f"serve.py: the UI host is not built ({missing[0]} is missing); run `{BUILD_COMMAND}` in the project root"
        )


def link_labextensions(dirs, into):
    """Lay the given extension directories out as a labextensions path:
    <into>/<name> (or <into>/@scope/name) -> the directory."""
    os.makedirs(into)
    for ext_dir in dirs:
        ext_dir = os.path.abspath(ext_dir)
        package_file = os.path.join(ext_dir, "package.json")
        try:
            with open(package_file, encoding="utf-8") as f:
                package = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"serve.py: --labextension {ext_dir}: cannot read package.json: {e}")
        name = package.get("name")
        if not name or "_build" not in package.get("jupyterlab", {}):
            sys.exit(
                f"serve.py: --labextension {ext_dir} is not a built federated extension "
                "(its package.json has no jupyterlab._build; run build-labextension and pass its outputDir)"
            )
        target = os.path.join(into, *name.split("/"))
        if os.path.lexists(target):
            sys.exit(f"serve.py: two --labextension directories are named {name}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(ext_dir, target)


def make_config(args, state_dir):
    c = Config()
    c.ServerApp.ip = "127.0.0.1"
    c.ServerApp.port = args.port
    c.ServerApp.port_retries = 0
    c.ServerApp.token = args.token
    c.ServerApp.password = ""
    c.ServerApp.open_browser = False
    c.ServerApp.allow_root = args.allow_root
    c.ServerApp.root_dir = os.path.abspath(args.root_dir)
    c.ServerApp.default_url = "/lab"
    labextensions = os.path.join(state_dir, "labextensions")
    link_labextensions(args.labextension, labextensions)
    c.UiHostApp.static_dir = os.path.join(BUILD_DIR, "static")
    c.UiHostApp.templates_dir = os.path.join(HOST_DIR, "templates")
    c.UiHostApp.schemas_dir = os.path.join(BUILD_DIR, "schemas")
    c.UiHostApp.themes_dir = os.path.join(BUILD_DIR, "themes")
    # Only the given extensions: not those installed on the machine.
    c.UiHostApp.labextensions_path = []
    c.UiHostApp.extra_labextensions_path = [labextensions]
    c.UiHostApp.user_settings_dir = os.path.join(state_dir, "settings")
    c.UiHostApp.workspaces_dir = os.path.join(state_dir, "workspaces")
    c.UiHostApp.app_settings_dir = os.path.join(state_dir, "app-settings")
    # The bundle is rebuilt in place; never let a browser keep an old one.
    c.UiHostApp.cache_files = False
    return c


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    check_build()
    if not os.path.isdir(args.root_dir):
        sys.exit(f"serve.py: --root-dir {args.root_dir} is not a directory")
    sys.modules.setdefault(EXTENSION_MODULE, sys.modules[__name__])
    state_dir = tempfile.mkdtemp(prefix="naaw-ui-host-")
    try:
        extensions = {EXTENSION_MODULE: True}
        extensions.update({name: True for name in args.server_extension})
        serverapp = ServerApp.instance(
            jpserver_extensions=extensions, config=make_config(args, state_dir)
        )
        serverapp.initialize(argv=[], find_extensions=False, starter_extension=EXTENSION_MODULE)
        missing = [
            name
            for name in args.server_extension
            if not serverapp.extension_manager.extensions.get(name)
            or not serverapp.extension_manager.extensions[name].enabled
        ]
        if missing:
            sys.exit(
                f"serve.py: server extension(s) not loaded: {', '.join(missing)} (not importable? check PYTHONPATH)"
            )
        serverapp.start()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
