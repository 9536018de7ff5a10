"""Command line: `python3 -m naaw_runtime run ...`, `... serve ...` and `... chain ...`."""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .errors import CellError, NaawError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m naaw_runtime",
        description="Run a NaaW component once (run), as a REST service (serve), or per item in a pod (chain).",
    )
    parser.add_argument("--version", action="version", version=f"naaw_runtime {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{run,serve,chain}")

    run = commands.add_parser(
        "run",
        help="run the component once: inputs from a directory, outputs to a directory",
        description="Run the component once. Exit 0 on success, 2 on bad input, 1 when the cell code raised.",
    )
    run.add_argument("--component", required=True, metavar="DIR", help="the component directory (component.json, cells.py, component.py)")
    run.add_argument("--inputs", metavar="DIR", help="directory holding NAME.npy / NAME.json for each input")
    run.add_argument("--outputs", required=True, metavar="DIR", help="directory to write NAME.npy / NAME.json for each output (created if missing)")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a param value, parsed as JSON unless the param's type is str (repeatable); missing params take their defaults",
    )

    serve = commands.add_parser(
        "serve",
        help="serve the component over HTTP (GET /healthz, GET /spec, POST /run; POST /chain for several)",
        description="Serve the component as a REST service until SIGTERM or SIGINT.",
    )
    serve.add_argument(
        "--component",
        required=True,
        action="append",
        metavar="DIR",
        help="the component directory; repeated, the service runs those components one after the other per request (POST /chain)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind; 0 lets the OS choose (default: 8080)")
    serve.add_argument(
        "--data-root",
        default=".",
        metavar="DIR",
        help="request paths are resolved against this directory and must stay inside it (default: the working directory)",
    )
    serve.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="where the cells run and relative request paths are read from; inside --data-root (default: the data root)",
    )
    serve.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help="stop when standard input closes: a supervising process (naaw run) holds the other end, so the service "
        "never outlives it, even when it is killed",
    )
    add_chain_parser(commands)
    return parser


def add_chain_parser(commands: argparse._SubParsersAction) -> None:
    chain = commands.add_parser(
        "chain",
        help="one container of a pod running a tile chain: the component once per item, pipelined (docs/pod-chain.md)",
        description="Run the component on every item of --items-from in order, each as soon as its producers "
        "(other containers of the pod) have finished that item. Exit 0 when all are done, 2 on bad input, "
        "1 when the component failed or another step stopped.",
    )
    chain.add_argument("--component", required=True, metavar="DIR", help="the component directory")
    chain.add_argument("--work", required=True, metavar="WORK", help="the work directory the pod's containers share")
    chain.add_argument("--items-from", required=True, metavar="DIR", help="the items are the sorted names of this directory's subdirectories")
    chain.add_argument("--step", required=True, metavar="S", help="this container's step id")
    chain.add_argument("--chain", required=True, metavar="S1,S2,...", help="every step of the pod, comma-separated")
    chain.add_argument("--input", action="append", default=[], metavar="NAME=STEP/OUTPUT", help="an input from another step's output (repeatable)")
    chain.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a param value, JSON unless the param is a str (repeatable)")
    chain.add_argument("--param-from", action="append", default=[], metavar="NAME=STEP/OUTPUT", help="a param from another step's JSON output (repeatable)")
    chain.add_argument("--export", action="append", default=[], metavar="OUTPUT=DIR", help="also put the output at DIR/<item>.<ext> (repeatable)")
    chain.add_argument("--window", type=int, default=2, metavar="W", help="items in flight in the pod at most (default: 2)")


# Kubernetes' default terminationMessagePath. What a container writes there becomes its terminated
# state's message, which Argo puts in the failed node's message ("main: Error (exit code 1): <it>"),
# so `pulumi up` and `naaw submit` can name the component's error, not only an exit code.
TERMINATION_LOG = "/dev/termination-log"
# The kubelet keeps at most 4096 bytes of it.
TERMINATION_LOG_LIMIT = 4096


def write_termination_message(message: str) -> None:
    """The one-line error into the termination log, when running in a Kubernetes container (the file exists, writable)."""
    path = os.environ.get("NAAW_TERMINATION_LOG", TERMINATION_LOG)
    if not os.path.isfile(path) or not os.access(path, os.W_OK):
        return  # not in a Kubernetes container: never create a file under /dev
    data = message.encode("utf-8")[:TERMINATION_LOG_LIMIT].decode("utf-8", errors="ignore")
    try:
        with open(path, "w", encoding="utf-8") as log:
            log.write(data)
    except OSError:
        pass  # the message is on stderr as well; a read-only mount must not hide the real error


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "chain":
        from .chain import run_chain

        return run_chain(args, write_termination_message)
    try:
        if args.command == "run":
            from .batch import run_batch

            run_batch(args.component, args.inputs, args.outputs, args.param)
            return 0
        from .service import serve

        return serve(args.component, args.host, args.port, args.data_root, args.stop_on_stdin_eof, args.workdir)
    except CellError as exc:
        print(exc.message, file=sys.stderr)
        print(exc.details, file=sys.stderr)
        if args.command == "run":
            write_termination_message(exc.message)
        return exc.exit_code
    except NaawError as exc:
        line = " ".join(exc.message.splitlines())
        print(line, file=sys.stderr)
        if args.command == "run":
            write_termination_message(line)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
