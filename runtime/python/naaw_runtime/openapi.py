"""The OpenAPI 3.0 document of a component's service, generated from its spec."""

from __future__ import annotations

from typing import Any

from .spec import ComponentSpec, Param

_JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "list": {"type": "array", "items": {}},
    "dict": {"type": "object"},
    "any": {},
}

# The file kind each declared type travels as: (pattern of the path, how to say it).
_FILE_KINDS = {"ndarray": (r"\.npy$", "a .npy file"), "any": (r"\.(npy|json)$", "a .npy or .json file")}
_JSON_FILE = (r"\.json$", "a .json file")


def openapi_document(spec: ComponentSpec, server_url: str | None = None) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": f"naaw component {spec.name}",
            "version": "1.0.0",
            "description": f"Component '{spec.name}' of {spec.notebook} (cells {', '.join(map(str, spec.cells))}). "
            "Inputs and outputs are paths of .npy/.json files relative to the service's data root. The cells run in "
            "the data root, and a string in params that, read as a path from there, leads out of it is refused (400).",
        },
        "paths": {
            "/healthz": {"get": _operation("Liveness", "Health")},
            "/spec": {"get": _operation("The component spec and this document", "Spec")},
            "/run": {
                "post": {
                    "summary": f"Run component '{spec.name}' once",
                    "operationId": "run",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunRequest"}}},
                    },
                    "responses": {
                        "200": _json_response("The outputs written", {"$ref": "#/components/schemas/RunResponse"}),
                        "400": _json_response("Unknown, missing or mistyped input or param; unreadable file; bad path", error),
                        "413": _json_response("Request body over 1 MiB", error),
                        "500": _json_response("The cell code raised, or an output cannot be written", {"$ref": "#/components/schemas/CellError"}),
                    },
                }
            },
        },
        "components": {"schemas": _schemas(spec)},
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def _operation(summary: str, schema: str) -> dict[str, Any]:
    return {"summary": summary, "responses": {"200": _json_response(summary, {"$ref": f"#/components/schemas/{schema}"})}}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _input_schema(name: str, declared: str) -> dict[str, Any]:
    pattern, kind = _FILE_KINDS.get(declared, _JSON_FILE)
    return {
        "type": "string",
        "pattern": pattern,
        "description": f"{declared} input '{name}': path of {kind}, relative to the data root",
    }


def _param_schema(param: Param) -> dict[str, Any]:
    schema = {**_JSON_SCHEMAS[param.type], "description": f"{param.type} param '{param.name}'"}
    if param.has_default:
        schema["default"] = param.default
    return schema


def _schemas(spec: ComponentSpec) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "type": "object",
        "properties": {v.name: _input_schema(v.name, v.type) for v in spec.inputs},
        "additionalProperties": False,
    }
    if spec.inputs:
        inputs["required"] = [v.name for v in spec.inputs]
    params: dict[str, Any] = {
        "type": "object",
        "properties": {p.name: _param_schema(p) for p in spec.params},
        "additionalProperties": False,
    }
    required_params = [p.name for p in spec.params if not p.has_default]
    if required_params:
        params["required"] = required_params
    run_request: dict[str, Any] = {
        "type": "object",
        "properties": {
            "inputs": inputs,
            "params": params,
            "outputs": {"type": "string", "description": "directory for the outputs, relative to the data root "
                        "(default: a fresh directory under .naaw/runs/)"},
            "reuse_files": {"type": "boolean", "default": False, "description": "answer an output that is a .npy file "
                            "under the data root, unchanged (the cells returned np.load(path, mmap_mode='r')), with "
                            "that file's path instead of writing a copy into the outputs directory"},
        },
        "additionalProperties": False,
    }
    required = (["inputs"] if spec.inputs else []) + (["params"] if required_params else [])
    if required:
        run_request["required"] = required
    outputs = {
        "type": "object",
        "required": [v.name for v in spec.outputs],
        "properties": {
            v.name: {
                "type": "object",
                "required": ["path", "type"],
                "properties": {"path": {"type": "string"}, "type": {"type": "string", "enum": [v.type]}},
            }
            for v in spec.outputs
        },
    }
    return {
        "RunRequest": run_request,
        "RunResponse": {
            "type": "object",
            "required": ["outputs", "seconds"],
            "properties": {"outputs": outputs, "seconds": {"type": "number"}},
        },
        "Health": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": ["ok"]}, "component": {"type": "string"}},
        },
        "Spec": {"type": "object", "properties": {"component": {"type": "object"}, "openapi": {"type": "object"}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "CellError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "cell": {"type": "integer", "nullable": True},
                "line": {"type": "integer", "nullable": True},
            },
        },
    }
