"""`python3 -m naaw_runtime chain`: one container of a pod that runs a tile chain over a batch of tiles.

Every step of the chain is a container of one pod (an Argo containerSet) sharing its /tmp. All start
at once; each loads its component once and works through the same sorted items, waiting per item for
its producers' results on the shared disk, so the steps run pipelined and intermediates never leave
the pod. The protocol (docs/pod-chain.md) has a TypeScript twin for the built-ins: src/chain/.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any, Callable, NamedTuple

from .batch import parse_param_args
from .errors import CellError, InputError, NaawError
from .execute import Component, bind_params, check_input_names, execute, make_outputs_dir
from .spec import ComponentSpec
from .values import expected_kind, read_value

POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 1.0
# A producer whose heartbeat is older than this was killed (OOM); one whose heartbeat never appeared
# within twice this of our start never started. The test shortens it.
DEFAULT_STALE_SECONDS = 30.0


class Wire(NamedTuple):
    """`--input NAME=STEP/OUTPUT` or `--param-from NAME=STEP/OUTPUT`."""

    name: str
    step: str
    output: str


class ChainStopped(Exception):
    """This container stops because another failed or died; the message says which and on which item."""


def stale_seconds() -> float:
    text = os.environ.get("NAAW_CHAIN_STALE_SECONDS", "")
    try:
        value = float(text) if text else DEFAULT_STALE_SECONDS
    except ValueError:
        value = DEFAULT_STALE_SECONDS
    return value if value > 0 else DEFAULT_STALE_SECONDS


def list_items(items_from: str) -> list[str]:
    """The names of the item directories, sorted by their UTF-8 bytes (as the TypeScript twin sorts them)."""
    try:
        names = [e.name for e in os.scandir(items_from) if e.is_dir() and not e.name.startswith(".")]
    except OSError as exc:
        raise InputError(f"--items-from {items_from}: cannot list the items ({exc.strerror or exc})") from None
    return sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape"))


class Work:
    """The shared work directory: WORK/<item>/<step>/{outputs/, .done, .failed}, WORK/.abort, WORK/.alive/<step>."""

    def __init__(self, root: str, chain: list[str], items: list[str]):
        self.root = Path(root)
        self.chain = chain
        self.items = items

    def step_dir(self, item: str, step: str) -> Path:
        return self.root / item / step

    def outputs(self, item: str, step: str) -> Path:
        return self.step_dir(item, step) / "outputs"

    def done(self, item: str, step: str) -> bool:
        return (self.step_dir(item, step) / ".done").exists()

    def alive_file(self, step: str) -> Path:
        return self.root / ".alive" / step

    def abort_line(self) -> str | None:
        try:
            return (self.root / ".abort").read_text(encoding="utf-8").strip() or "(no reason given)"
        except FileNotFoundError:
            return None

    def write_abort(self, line: str) -> None:
        """WORK/.abort, whole or not at all, and only if absent: the first failure is the one every container reports."""
        # Written aside, then hard-linked into place: a link never replaces a file, and a reader never sees it half written.
        # (Not named by pid: each container of a pod may be pid 1 in its own namespace.)
        temporary = self.root / f".abort.{uuid.uuid4().hex}.tmp"
        temporary.write_text(" ".join(line.splitlines()) + "\n", encoding="utf-8")
        try:
            os.link(temporary, self.root / ".abort")
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)

    def aborted_index(self, line: str) -> int:
        """The index of the item an abort line names; items before it still finish. 0 when it names none."""
        named = [i for i, item in enumerate(self.items) if f" failed on {item}: " in line or f" without finishing {item} (" in line]
        return max(named, key=lambda i: len(self.items[i])) if named else 0

    def finish(self, item: str, step: str) -> None:
        """The .done marker; then, if every step of the chain is done with the item, its directory goes."""
        marker = self.step_dir(item, step) / ".done"
        marker.touch()
        if all(self.done(item, s) for s in self.chain):
            self.remove_item(item, step)

    def remove_item(self, item: str, step: str) -> None:
        # Claimed by a rename first, so two containers finishing together never both delete it.
        trash = self.root / ".trash"
        trash.mkdir(exist_ok=True)
        claimed = trash / f"{item}-{step}"
        try:
            os.rename(self.root / item, claimed)
        except FileNotFoundError:
            return
        except OSError:
            return  # another container claimed it in the same instant (ENOTEMPTY on a stale name): it removes it
        shutil.rmtree(claimed, ignore_errors=True)


class Heartbeat:
    """Touches WORK/.alive/<step> every second from a daemon thread, so waiters can tell a killed container."""

    def __init__(self, work: Work, step: str):
        self.file = work.alive_file(step)
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.touch()
        self._stop = threading.Event()
        threading.Thread(target=self._beat, name="naaw-heartbeat", daemon=True).start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.file.touch()
            except OSError:
                pass  # a full disk must not kill the step; waiters then see it as stale

    def stop(self) -> None:
        self._stop.set()


class Waiter:
    """Polls a condition on the shared disk, stopping on an abort or when a step it depends on died."""

    def __init__(self, work: Work, step: str):
        self.work = work
        self.step = step
        self.started = time.time()
        self.stale = stale_seconds()

    def check_abort(self, index: int) -> None:
        line = self.work.abort_line()
        if line is not None and index >= self.work.aborted_index(line):
            raise ChainStopped(f"stopped: {line}")

    def until(self, ready: Callable[[], bool], index: int, item: str, watched: Callable[[], list[str]]) -> None:
        """Waits for `ready()` before item `index`; `watched()` names the steps that have yet to finish `item`, whose heartbeats are checked."""
        while not ready():
            self.check_abort(index)
            for step in watched():
                dead = self._dead(step)
                if dead:
                    line = f"step {step} stopped without finishing {item} (killed? see its container's log)"
                    self.work.write_abort(line)
                    raise ChainStopped(f"stopped: {self.work.abort_line() or line}")
            time.sleep(POLL_SECONDS)

    def _dead(self, step: str) -> bool:
        if step == self.step:
            return False
        now = time.time()
        try:
            beat = self.work.alive_file(step).stat().st_mtime
        except FileNotFoundError:
            return now - self.started > 2 * self.stale
        return now - beat > self.stale


class ChainArgs(NamedTuple):
    component: str
    work: str
    items_from: str
    step: str
    chain: list[str]
    inputs: list[Wire]
    params: list[str]
    params_from: list[Wire]
    exports: list[tuple[str, str]]
    window: int


def parse_wire(option: str, text: str) -> Wire:
    name, equals, source = text.partition("=")
    step, slash, output = source.partition("/")
    if not equals or not name or not slash or not step or not output:
        raise InputError(f"{option} {text!r} must look like NAME=STEP/OUTPUT")
    return Wire(name, step, output)


def parse_export(text: str) -> tuple[str, str]:
    output, equals, directory = text.partition("=")
    if not equals or not output or not directory:
        raise InputError(f"--export {text!r} must look like OUTPUT=DIR")
    return output, directory


def chain_args(args: Any) -> ChainArgs:
    chain = [s for s in args.chain.split(",") if s]
    if len(set(chain)) != len(chain):
        raise InputError(f"--chain {args.chain}: a step is named twice")
    if args.step not in chain:
        raise InputError(f"--step {args.step} is not in --chain {args.chain}")
    if args.window < 1:
        raise InputError(f"--window {args.window}: give at least 1 (items in flight in the pod)")
    inputs = [parse_wire("--input", t) for t in args.input]
    params_from = [parse_wire("--param-from", t) for t in args.param_from]
    for wire in inputs + params_from:
        if wire.step not in chain or wire.step == args.step:
            raise InputError(f"{wire.name}={wire.step}/{wire.output}: {wire.step} is not another step of --chain {args.chain}")
    exports = [parse_export(t) for t in args.export]
    return ChainArgs(args.component, args.work, args.items_from, args.step, chain, inputs, args.param, params_from, exports, args.window)


def check_wiring(spec: ComponentSpec, options: ChainArgs, given: dict[str, Any]) -> None:
    """Every input wired once, params known and not given twice, exports naming outputs: before any item runs."""
    names = [w.name for w in options.inputs]
    check_input_names(spec, names)
    for variable in spec.inputs:
        if names.count(variable.name) != 1:
            how = "is given twice" if names.count(variable.name) > 1 else "is not wired"
            raise InputError(f"input '{variable.name}' of component '{spec.name}' {how}: pass --input {variable.name}=STEP/OUTPUT once")
    for wire in options.params_from:
        if spec.param(wire.name) is None:
            known = ", ".join(p.name for p in spec.params) or "none"
            raise InputError(f"--param-from {wire.name}: unknown param; component '{spec.name}' takes params: {known}")
        if wire.name in given:
            raise InputError(f"param '{wire.name}' is given by both --param and --param-from")
    placeholders = {w.name: None for w in options.params_from}
    for param in spec.params:
        if param.name not in given and param.name not in placeholders and not param.has_default:
            raise InputError(f"param '{param.name}' ({param.type}) has no default, so it needs a value: pass --param or --param-from")
    outputs = {o.name for o in spec.outputs}
    for output, _ in options.exports:
        if output not in outputs:
            raise InputError(f"--export {output}: component '{spec.name}' has no output '{output}' (it has: {', '.join(sorted(outputs)) or 'none'})")


def produced_file(work: Work, item: str, wire: Wire, declared: str) -> Path:
    """The producer's output file: OUTPUT.npy or OUTPUT.json, as the declared type allows."""
    directory = work.outputs(item, wire.step)
    kinds = [expected_kind(declared)] if expected_kind(declared) else ["npy", "json"]
    for kind in kinds:
        candidate = directory / f"{wire.output}.{kind}"
        if candidate.exists():
            return candidate
    raise InputError(f"{wire.name}: step {wire.step} wrote no output '{wire.output}' ({' or '.join(kinds)}) for {item} in {directory}")


def export_file(source: Path, directory: str, item: str) -> None:
    """DIR/<item>.<ext>: a hard link to the output (a copy across file systems), written then renamed."""
    target_dir = Path(directory)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{item}{source.suffix}"
    temporary = target_dir / f".{item}{source.suffix}.{uuid.uuid4().hex}.tmp"
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def run_item(component: Component, work: Work, options: ChainArgs, given: dict[str, Any], item: str) -> None:
    spec = component.spec
    values: dict[str, Any] = {}
    for wire in options.inputs:
        declared = spec.input(wire.name).type
        values[wire.name] = read_value(produced_file(work, item, wire, declared), f"input '{wire.name}'", declared)
    from_producers = {}
    for wire in options.params_from:
        declared = spec.param(wire.name).type
        from_producers[wire.name] = read_value(produced_file(work, item, wire, declared), f"param '{wire.name}'", declared)
    params = bind_params(spec, {**given, **from_producers}, how_to_give=": pass --param NAME=VALUE")
    step_dir = work.step_dir(item, options.step)
    partial = step_dir / "outputs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    make_outputs_dir(partial)
    written = execute(component, {**values, **params}, partial)
    final = work.outputs(item, options.step)
    shutil.rmtree(final, ignore_errors=True)
    os.rename(partial, final)
    for output, directory in options.exports:
        export_file(final / written[output].name, directory, item)


def run_chain(args: Any, report: Callable[[str], None]) -> int:
    """The container's loop over the items; the exit code (0, 1 when stopped or the component failed, 2 bad input)."""
    step = args.step
    try:
        items = list_items(args.items_from) if os.path.isdir(args.items_from) else None
    except InputError:
        items = None  # reported below, with the abort the others stop on
    work = Work(args.work, [s for s in args.chain.split(",") if s], items or [])
    try:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        line = f"{step} cannot start: --work {args.work} cannot be created ({exc.strerror or exc})"
        print(line, file=sys.stderr)
        report(line)
        return 2
    heartbeat = Heartbeat(work, step)
    waiter = Waiter(work, step)
    item = None
    try:
        options = chain_args(args)
        if items is None:
            raise InputError(f"--items-from {options.items_from} is not a directory")
        component = Component.load(options.component)
        given = parse_param_args(component.spec, options.params)
        check_wiring(component.spec, options, given)
        producers = sorted({w.step for w in options.inputs + options.params_from})
        for index, item in enumerate(items):
            waiter.check_abort(index)
            if index >= options.window:
                # Backpressure: at most `window` items in flight, so only their intermediates are on disk.
                earlier = items[index - options.window]
                waiter.until(lambda: not (work.root / earlier).exists(), index, earlier, lambda: [s for s in options.chain if not work.done(earlier, s)])
            waiter.until(lambda: all(work.done(item, p) for p in producers), index, item, lambda: [p for p in producers if not work.done(item, p)])
            run_item(component, work, options, given, item)
            work.finish(item, options.step)
        return 0
    except ChainStopped as stopped:
        print(str(stopped), file=sys.stderr)
        report(str(stopped))
        return 1
    except (NaawError, OSError) as exc:
        # An OSError here is the shared disk failing (full, read-only): the item cannot go on, as a failed component.
        line = " ".join(exc.message.splitlines()) if isinstance(exc, NaawError) else f"cannot write in {args.work}: {exc}"
        print(line, file=sys.stderr)
        if isinstance(exc, CellError):
            print(exc.details, file=sys.stderr)
        where = f"{step} failed on {item}: " if item is not None else f"{step} cannot start: "
        try:
            if item is not None:
                failed = work.step_dir(item, step)
                failed.mkdir(parents=True, exist_ok=True)
                (failed / ".failed").write_text(line + "\n", encoding="utf-8")
            work.write_abort(where + line)
        except OSError:
            pass  # the disk refuses even this: the others stop when this container's heartbeat goes stale
        report(where + line)
        return exc.exit_code if isinstance(exc, NaawError) else 1
    except Exception as exc:  # a bug in the runtime: the traceback for the report, and the pod still stops
        traceback.print_exc()
        line = f"{step} failed on {item}: internal error: {type(exc).__name__}: {exc}"
        work.write_abort(line)
        report(line)
        return 1
    finally:
        heartbeat.stop()
