"""Dataclasses to and from JSON values, checked against their type hints.

The report model (:mod:`ftbench.report.model`) is made of frozen dataclasses; this module turns
them into JSON values (fields in declaration order) and loads JSON values back into them,
checking every value against its field's type. A wrong value is a :class:`ModelError` naming
its path (``runs.warm.samples[3].wall_s: expected a number, got 'x'``).

Supported field types: ``bool``, ``int``, ``float`` (ints accepted, finite only), ``str``,
``None``, unions of these, ``Literal[...]``, ``tuple[X, ...]``, fixed ``tuple[X, Y]``,
``dict[str, X]`` and nested dataclasses; field metadata may add a ``pattern`` (strings) or a
``minimum`` (numbers). A field whose metadata has ``omit_none`` is left out
of the JSON when it is ``None`` (and may be missing when loading); every other field must be
present, unless it has a default (a field added by a later schema version).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")

#: ``field(metadata=OMIT_NONE)``: left out of the JSON when None.
OMIT_NONE: Mapping[str, bool] = {"omit_none": True}


def pattern(regex: str) -> Mapping[str, str]:
    """``field(metadata=pattern(...))``: a string that must match ``regex`` in full."""
    return {"pattern": regex}


def minimum(low: float) -> Mapping[str, float]:
    """``field(metadata=minimum(...))``: a number that must be at least ``low``."""
    return {"minimum": low}


class ModelError(ValueError):
    """A JSON value that does not fit the model."""


_SCALARS = (str, int, float, bool, type(None))
_CACHE = "_ftbench_json_value"


@cache
def _layout(cls: type) -> tuple[tuple[str, bool], ...]:
    """``(field name, omitted when None)`` of a dataclass, in order."""
    return tuple((f.name, bool(f.metadata.get("omit_none"))) for f in dataclasses.fields(cls))


def to_value(obj: Any) -> Any:
    """The JSON value of a model object (dataclasses become dicts, tuples lists).

    The value of a frozen dataclass is computed once and kept on the object (the copies the
    pipeline makes share their unchanged parts, so a report is encoded at little more than
    the cost of its new parts): treat the result as read-only.
    """
    if isinstance(obj, _SCALARS):
        return obj
    if isinstance(obj, tuple | list):
        return [to_value(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_value(v) for k, v in obj.items()}
    cached = obj.__dict__.get(_CACHE)
    if cached is not None:
        return cached
    out: dict[str, Any] = {}
    cls: type = obj.__class__
    for name, omit_none in _layout(cls):
        value = getattr(obj, name)
        if value is None and omit_none:
            continue
        out[name] = to_value(value)
    object.__setattr__(obj, _CACHE, out)
    return out


def from_value(cls: type[T], value: Any, path: str = "") -> T:
    """Load ``value`` (parsed JSON) as ``cls``, checking every field."""
    loaded: T = _load(cls, value, path or cls.__name__)
    return loaded


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _load(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _load_dataclass(tp, value, path)
    if origin in (Union, types.UnionType):
        return _load_union(typing.get_args(tp), value, path)
    if origin is Literal:
        if value not in typing.get_args(tp):
            allowed = ", ".join(repr(a) for a in typing.get_args(tp))
            raise ModelError(f"{path}: expected one of {allowed}, got {_describe(value)}")
        return value
    if origin is tuple:
        return _load_tuple(typing.get_args(tp), value, path)
    if origin is dict:
        if not isinstance(value, dict):
            raise ModelError(f"{path}: expected an object, got {_describe(value)}")
        item = typing.get_args(tp)[1]
        return {k: _load(item, v, f"{path}.{k}") for k, v in value.items()}
    return _load_scalar(tp, value, path)


def _load_scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is type(None):
        if value is not None:
            raise ModelError(f"{path}: expected null, got {_describe(value)}")
        return None
    if tp is bool:
        if not isinstance(value, bool):
            raise ModelError(f"{path}: expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelError(f"{path}: expected a whole number, got {_describe(value)}")
        return value
    if tp is float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (not math.isfinite(value))
        ):
            raise ModelError(f"{path}: expected a number, got {_describe(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ModelError(f"{path}: expected a string, got {_describe(value)}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"{path}: unsupported type {tp!r} in the model")  # a bug, not bad input


def _load_union(options: tuple[Any, ...], value: Any, path: str) -> Any:
    if value is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _load(option, value, path)
        except ModelError as exc:
            errors.append(str(exc))
    raise ModelError(
        errors[0] if len(errors) == 1 else f"{path}: unexpected value {_describe(value)}"
    )


def _load_tuple(args: tuple[Any, ...], value: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ModelError(f"{path}: expected a list, got {_describe(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_load(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ModelError(f"{path}: expected {len(args)} items, got {len(value)}")
    return tuple(
        _load(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
    )


def _check_constraints(meta: Mapping[str, Any], value: Any, path: str) -> None:
    regex = meta.get("pattern")
    if regex is not None and isinstance(value, str) and not re.fullmatch(regex, value):
        raise ModelError(f"{path}: {_describe(value)} does not match {regex}")
    low = meta.get("minimum")
    if low is not None and isinstance(value, int | float) and value < low:
        raise ModelError(f"{path}: expected at least {low:g}, got {_describe(value)}")


def _load_dataclass(cls: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ModelError(f"{path}: expected an object, got {_describe(value)}")
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in value:
            where = f"{path}.{f.name}"
            kwargs[f.name] = _load(hints[f.name], value[f.name], where)
            _check_constraints(f.metadata, kwargs[f.name], where)
        elif f.metadata.get("omit_none"):
            kwargs[f.name] = None
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ModelError(f"{path}: missing field {f.name!r}")
    return cls(**kwargs)
