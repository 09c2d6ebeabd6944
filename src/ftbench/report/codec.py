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
from collections.abc import Callable, Mapping
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
    try:
        loaded: T = _loader(typing.cast(Any, cls))(value)
    except _Bad as bad:
        where = (path or cls.__name__) + "".join(reversed(bad.parts))
        raise ModelError(f"{where}: {bad.message}") from None
    return loaded


class _Bad(Exception):
    """A bad value deep in a document; each enclosing loader adds its part of the path (the
    path is only spelled out when something is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.parts: list[str] = []


Loader = Callable[[Any], Any]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _within(part: str, load: Loader, value: Any) -> Any:
    try:
        return load(value)
    except _Bad as bad:
        bad.parts.append(part)
        raise


@cache
def _loader(tp: Any) -> Loader:
    """A function that checks and loads a JSON value as ``tp`` (built once per type)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _dataclass_loader(tp)
    if origin in (Union, types.UnionType):
        return _union_loader(typing.get_args(tp))
    if origin is Literal:
        return _literal_loader(typing.get_args(tp))
    if origin is tuple:
        return _tuple_loader(typing.get_args(tp))
    if origin is dict:
        item = _loader(typing.get_args(tp)[1])

        def load_dict(value: Any) -> Any:
            if not isinstance(value, dict):
                raise _Bad(f"expected an object, got {_describe(value)}")
            return {k: _within(f".{k}", item, v) for k, v in value.items()}

        return load_dict
    return _scalar_loader(tp)


def _load_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Bad(f"expected a number, got {_describe(value)}")
    return float(value)  # an int too


def _scalar_loader(tp: Any) -> Loader:
    def load(value: Any) -> Any:
        if (isinstance(value, bool) and tp is not bool) or not isinstance(value, accepted):
            raise _Bad(f"expected {noun}, got {_describe(value)}")
        return value

    if tp is Any:
        return lambda value: value
    if tp is float:
        return _load_float
    kinds: dict[Any, tuple[type | tuple[type, ...], str]] = {
        type(None): (type(None), "null"),
        bool: (bool, "true or false"),
        int: (int, "a whole number"),
        str: (str, "a string"),
    }
    accepted, noun = kinds[tp]  # a KeyError: the model uses a type the codec does not know
    return load


def _literal_loader(allowed: tuple[Any, ...]) -> Loader:
    def load(value: Any) -> Any:
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            shown = ", ".join(repr(a) for a in allowed)
            raise _Bad(f"expected one of {shown}, got {_describe(value)}")
        return value

    return load


def _union_loader(options: tuple[Any, ...]) -> Loader:
    nullable = type(None) in options
    loaders = [_loader(o) for o in options if o is not type(None)]

    def load(value: Any) -> Any:
        if value is None and nullable:
            return None
        errors = []
        for option in loaders:
            try:
                return option(value)
            except _Bad as bad:
                errors.append(bad)
        if len(errors) == 1:
            raise errors[0]
        raise _Bad(f"unexpected value {_describe(value)}")

    return load


def _tuple_loader(args: tuple[Any, ...]) -> Loader:
    if len(args) == 2 and args[1] is Ellipsis:
        item = _loader(args[0])

        def load_items(value: Any) -> Any:
            if not isinstance(value, list | tuple):
                raise _Bad(f"expected a list, got {_describe(value)}")
            return tuple(_within(f"[{i}]", item, v) for i, v in enumerate(value))

        return load_items
    items = [_loader(a) for a in args]

    def load_fixed(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise _Bad(f"expected a list, got {_describe(value)}")
        if len(value) != len(items):
            raise _Bad(f"expected {len(items)} items, got {len(value)}")
        return tuple(
            _within(f"[{i}]", load, v) for i, (load, v) in enumerate(zip(items, value, strict=True))
        )

    return load_fixed


def _checker(meta: Mapping[str, Any]) -> Callable[[Any], None] | None:
    """The check of a field's ``pattern`` or ``minimum``, if it has one."""
    regex, low = meta.get("pattern"), meta.get("minimum")
    if regex is None and low is None:
        return None
    compiled = re.compile(regex) if regex is not None else None

    def check(value: Any) -> None:
        if compiled is not None and isinstance(value, str) and not compiled.fullmatch(value):
            raise _Bad(f"{_describe(value)} does not match {regex}")
        if low is not None and isinstance(value, int | float) and value < low:
            raise _Bad(f"expected at least {low:g}, got {_describe(value)}")

    return check


def _dataclass_loader(cls: Any) -> Loader:
    hints = typing.get_type_hints(cls)
    fields = [
        (
            f.name,
            _loader(hints[f.name]),
            _checker(f.metadata),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            bool(f.metadata.get("omit_none")),
        )
        for f in dataclasses.fields(cls)
    ]

    def load(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Bad(f"expected an object, got {_describe(value)}")
        kwargs = {}
        for name, load_field, check, required, omit_none in fields:
            if name in value:
                try:
                    kwargs[name] = loaded = load_field(value[name])
                    if check is not None:
                        check(loaded)
                except _Bad as bad:
                    bad.parts.append(f".{name}")
                    raise
            elif omit_none:
                kwargs[name] = None
            elif required:
                raise _Bad(f"missing field {name!r}")
        return cls(**kwargs)

    return load
