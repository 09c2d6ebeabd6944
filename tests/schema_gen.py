"""The JSON Schema of ``bench_proof.json``, generated from the report model.

``python tests/schema_gen.py`` rewrites ``src/ftbench/report/schema/bench_proof.schema.json``;
``tests/test_model.py`` checks that the committed file equals what this generates, so the model
stays the one definition of the report.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from ftbench.report import model

SCHEMA_FILE = (
    Path(__file__).parent.parent
    / "src"
    / "ftbench"
    / "report"
    / "schema"
    / "bench_proof.schema.json"
)


def _type(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder: recursion guard
            defs[name] = _object(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    if origin in (Union, types.UnionType):
        options = [_type(a, defs) for a in typing.get_args(tp)]
        return {"anyOf": options}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type(args[0], defs)}
        return {
            "type": "array",
            "prefixItems": [_type(a, defs) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(typing.get_args(tp)[1], defs)}
    return {
        type(None): {"type": "null"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
    }[tp]


def _object(cls: Any, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):
        prop = _type(hints[f.name], defs)
        if "pattern" in f.metadata:
            prop = {**prop, "pattern": f"^{f.metadata['pattern']}$"}
        if "minimum" in f.metadata:
            prop = {**prop, "minimum": f.metadata["minimum"]}
        props[f.name] = prop
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if no_default and not f.metadata.get("omit_none"):
            required.append(f.name)
    out: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        out = {"description": " ".join(cls.__doc__.split()), **out}
    return out


def generate() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    root = _object(model.Report, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://firsttry.dev/schemas/ftbench/bench_proof-1.json",
        "title": "ftbench report (bench_proof.json), schema 1",
        "$comment": "Generated from src/ftbench/report/model.py by tests/schema_gen.py",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def text() -> str:
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
