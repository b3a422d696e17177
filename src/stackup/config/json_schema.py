"""The JSON Schema of `stack.yaml`, for editors (`stackup schema`, `stack.schema.json`).

Generated from the pydantic models in `schema` with their descriptions and examples.
pydantic describes a field by the type its validator returns; where the validator
accepts more than that (a `${VAR}` string for a port, `250ms` for a duration, an
unquoted `restart: no`, which YAML reads as false), the schema must say what users may
write instead. The validators in `fields` are matched by identity, so the schema
follows the models without a second list of fields. Only `stackup schema` (and
`stackup init`) import this module: building a JSON Schema is never on `up`'s path.
"""

from __future__ import annotations

import signal
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from stackup.config import fields
from stackup.config.schema import StackSchema
from stackup.naming import SERVICE_NAME

_NUMBER = r"(\d+(\.\d*)?|\.\d+)"
DURATION_PATTERN = rf"^\s*({_NUMBER}|({_NUMBER}\s*(ms|s|m|h)\s*)+)\s*$"
_INTERPOLATED_PORT = {
    "type": "string",
    "pattern": r"^\s*\d+\s*$|\$\{",
    "description": "A ${VAR} string (interpolated, then a whole number).",
}


def _duration(minimum: float) -> JsonSchemaValue:
    return {
        "anyOf": [
            {"type": "number", "minimum": minimum},
            {"type": "string", "pattern": DURATION_PATTERN},
        ]
    }


def _signal_names() -> list[str]:
    names = sorted(s.name for s in signal.Signals)
    short = [n.removeprefix("SIG") for n in names]
    return names + short + [n.lower() for n in names + short]


# What each validator of `fields` accepts, as the user writes it.
_ACCEPTS: dict[Any, JsonSchemaValue] = {
    fields.parse_duration: _duration(0),
    fields.parse_check_period: _duration(0.001),
    fields.parse_port_value: {
        "anyOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, _INTERPOLATED_PORT]
    },
    fields.parse_command: {
        "anyOf": [
            {"type": "string", "pattern": r"\S"},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
        ]
    },
    fields.parse_env_name: {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
    fields.parse_env_value: {"type": ["string", "number", "boolean", "null"]},
    fields.parse_str_list: {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
    fields.parse_service_name: {"type": "string", "pattern": SERVICE_NAME.pattern},
    fields.parse_restart: {"enum": ["no", "on-failure", "always", False]},
    fields.parse_signal: {
        "anyOf": [
            {"enum": _signal_names()},
            {"type": "integer", "enum": sorted({int(s) for s in signal.Signals})},
        ]
    },
    fields.parse_version: {"enum": [1, "1"]},
}
# Validators that also accept nothing (`web:` with no keys under it).
_NULLABLE = (fields.none_as_empty, fields.parse_dependency)


class _StackJsonSchema(GenerateJsonSchema):
    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        function = schema["function"]["function"]
        if function in _ACCEPTS:
            return dict(_ACCEPTS[function])
        inner = super().function_before_schema(schema)
        if function in _NULLABLE:
            return {"anyOf": [inner, {"type": "null"}]}
        return inner

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        out = super().dict_schema(schema)
        if "patternProperties" in out:  # keys with a pattern: no other keys
            out["additionalProperties"] = False
        return out

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, signal.Signals):
            return dft.name
        return super().encode_default(dft)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Env File" says less than the key itself; editors show the key


def stack_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a stack file."""
    body = StackSchema.model_json_schema(schema_generator=_StackJsonSchema)
    props = body["properties"]
    # An offset may be negative: only the final ports must be in 1-65535.
    props["port_offset"] = {
        **_without_type(props["port_offset"]),
        "anyOf": [{"type": "integer"}, _INTERPOLATED_PORT, {"type": "null"}],
    }
    # `services:` with nothing under it is refused (at least one service), not empty.
    services = props["services"]
    (mapping,) = [s for s in services.pop("anyOf") if s.get("type") == "object"]
    props["services"] = {**services, **mapping, "minProperties": 1}
    service = body["$defs"]["ServiceSchema"]["properties"]
    service["user"] = {
        **_without_type(service["user"]),
        "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}],
    }
    for name, model in body["$defs"].items():
        model["title"] = name.removesuffix("Schema").removesuffix("Spec")
    body.pop("title", None)
    _drop_null_defaults(body)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "stackup stack file (stack.yaml)",
        "description": "A development stack for stackup: its services, their ports, health"
        " checks and dependencies. Generated by `stackup schema`.",
        **body,
    }


def _without_type(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prop.items() if k not in ("anyOf", "type")}


def _drop_null_defaults(node: Any) -> None:
    """`"default": null` on every optional key says nothing an editor should show."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None:
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)
