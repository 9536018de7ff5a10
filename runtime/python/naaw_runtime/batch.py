"""`python3 -m naaw_runtime run`: inputs from a directory, outputs to a directory, params from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import InputError
from .execute import Component, bind_params, execute, make_outputs_dir
from .spec import ComponentSpec
from .values import expected_kind, loads_strict, read_value


def run_batch(component_dir: str, inputs_dir: str | None, outputs_dir: str, param_args: list[str]) -> dict[str, Path]:
    """Run the component once; raises NaawError (exit 2 for bad input, 1 when the component failed)."""
    component = Component.load(component_dir)
    spec = component.spec
    params = bind_params(spec, parse_param_args(spec, param_args), how_to_give=": pass --param NAME=VALUE")
    inputs = read_inputs(spec, Path(inputs_dir) if inputs_dir is not None else None)
    outputs = make_outputs_dir(Path(outputs_dir))
    return execute(component, {**inputs, **params}, outputs)


def parse_param_args(spec: ComponentSpec, param_args: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs: VALUE is JSON, except for a str param, where it is taken verbatim."""
    given: dict[str, Any] = {}
    for argument in param_args:
        name, equals, text = argument.partition("=")
        if not equals or not name:
            raise InputError(f"--param {argument!r} must look like NAME=VALUE")
        if name in given:
            raise InputError(f"--param {name} is given twice")
        param = spec.param(name)
        if param is not None and param.type == "str":
            given[name] = text
            continue
        try:
            given[name] = loads_strict(text)
        except ValueError as exc:
            # An unknown name is reported by bind_params, with the list of known ones.
            if param is None:
                given[name] = text
                continue
            raise InputError(f"--param {name}: {text!r} is not a JSON value ({exc})") from None
    return given


def read_inputs(spec: ComponentSpec, inputs_dir: Path | None) -> dict[str, Any]:
    """Each declared input from DIR/NAME.npy or DIR/NAME.json, as its declared type allows."""
    if not spec.inputs:
        return {}
    if inputs_dir is None:
        names = ", ".join(v.name for v in spec.inputs)
        raise InputError(f"component '{spec.name}' needs inputs ({names}): pass --inputs DIR")
    if not inputs_dir.is_dir():
        raise InputError(f"--inputs {inputs_dir} is not a directory")
    values = {}
    for variable in spec.inputs:
        kinds = [expected_kind(variable.type)] if expected_kind(variable.type) else ["npy", "json"]
        present = [inputs_dir / f"{variable.name}.{kind}" for kind in kinds if (inputs_dir / f"{variable.name}.{kind}").exists()]
        if not present:
            expected = " or ".join(str(inputs_dir / f"{variable.name}.{kind}") for kind in kinds)
            wrong_kind = [p for p in inputs_dir.glob(f"{variable.name}.*") if p.suffix in (".npy", ".json")]
            found = f" ({wrong_kind[0].name} exists, but a {variable.type} must be a .{kinds[0]})" if wrong_kind else ""
            raise InputError(f"input '{variable.name}' ({variable.type}) not found: expected {expected}{found}")
        if len(present) > 1:
            raise InputError(f"input '{variable.name}' is ambiguous: both {present[0]} and {present[1]} exist")
        values[variable.name] = read_value(present[0], f"input '{variable.name}'", variable.type)
    return values
