"""NaaW's Jupyter server extension: REST routes under /naaw/ for the JupyterLab panel.

Enable it with `jupyter server --ServerApp.jpserver_extensions='{"naaw_jupyter": True}'` (or the
`jupyter_server_config.d` file a package installs). Every route calls the `naaw` CLI with JSON
output, in the server's root directory, so the panel shows what the CLI says and never analyzes a
notebook itself. The CLI is `$NAAW_CLI` (a command line, split as a shell splits words), else
`naaw` on the PATH.
"""

import atexit

from .handlers import route_table
from .runs import Runs


def _jupyter_server_extension_points():
    return [{"module": "naaw_jupyter"}]


def _load_jupyter_server_extension(serverapp):
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    runs = Runs(serverapp.root_dir)
    # A run started from the panel does not outlive the server.
    atexit.register(runs.stop_all)
    web_app.add_handlers(".*$", route_table(base_url, serverapp.root_dir, runs))
    serverapp.log.info("naaw_jupyter: routes under %snaaw/", base_url)


# The name jupyter_server 1.x also looks for.
load_jupyter_server_extension = _load_jupyter_server_extension
