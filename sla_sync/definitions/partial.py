"""The valid parts of raw data whose whole may be invalid.

The checks of :mod:`sla_sync.definitions.checks` look at several values at once. A value that is
invalid itself is already reported by the schema, so a check must neither guess it nor give up
on the values next to it that are fine: a bad ``target`` must not hide a tier whose ``when`` can
never match. These helpers validate one key (or one list item) at a time, with the rules of the
model that owns it, and answer :data:`UNKNOWN` where the value cannot be known:

- the value is invalid (its problem is reported elsewhere);
- the key is omitted from a mapping that also holds keys its model does not know: a misspelt key
  may be the omitted one (``calender: ny`` must not also give "name the default calendar");
- the key is required and omitted (reported as missing).

Only what is certain is returned, so a check that uses these values cannot report a problem that
fixing the other problems would make go away.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class Unknown:
    """The type of :data:`UNKNOWN` (one instance)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()
"""A value that cannot be known (see the module docstring); compare with ``is``."""

NAME: Final = TypeAdapter[str](
    Annotated[str, Field(min_length=1)], config=ConfigDict(coerce_numbers_to_str=True)
)
"""One item of a list of names (stages, statuses, teams), as the models read it."""


def has_unknown_keys(model: type[BaseModel], raw: Mapping[Any, Any]) -> bool:
    """Whether ``raw`` holds a key ``model`` does not define."""
    return any(str(key) not in model.model_fields for key in raw)


@functools.cache
def _adapter(model: type[BaseModel], key: str) -> TypeAdapter[Any]:
    info = model.model_fields[key]
    annotated: Any = Annotated[info.annotation, info]  # the field's type with its constraints
    return TypeAdapter(annotated, config=model.model_config)


def value(model: type[BaseModel], raw: object, key: str) -> Any:
    """The validated value of ``key`` in ``raw`` (a mapping read as ``model``), its default when
    it is certainly omitted, else :data:`UNKNOWN`."""
    if not isinstance(raw, Mapping):
        return UNKNOWN
    if key not in raw:
        info = model.model_fields[key]
        if info.is_required() or has_unknown_keys(model, raw):
            return UNKNOWN
        return info.get_default(call_default_factory=True)
    try:
        return _adapter(model, key).validate_python(raw[key])
    except ValidationError:
        return UNKNOWN


def section(model: type[BaseModel], raw: object, key: str) -> Mapping[str, Any] | Unknown | None:
    """The raw mapping under ``key`` (a nested model) without validating it: ``{}`` when it is
    certainly omitted and defaults to a model, ``None`` when it is certainly omitted (or null)
    and optional, else :data:`UNKNOWN` (not a mapping, or maybe omitted)."""
    if not isinstance(raw, Mapping):
        return UNKNOWN
    sub = raw.get(key)
    if isinstance(sub, Mapping):
        return sub
    if sub is None:
        default = value(model, raw, key) if key not in raw else _null(model, key)
        if default is None:
            return None
        if isinstance(default, BaseModel):
            return {}
    return UNKNOWN


def _null(model: type[BaseModel], key: str) -> Any:
    try:
        return _adapter(model, key).validate_python(None)
    except ValidationError:
        return UNKNOWN


def valid_items(adapter: TypeAdapter[Any], raw: object) -> list[tuple[int, Any]]:
    """``(index, value)`` of each item of the list ``raw`` that ``adapter`` accepts."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    out: list[tuple[int, Any]] = []
    for index, item in enumerate(raw):
        try:
            out.append((index, adapter.validate_python(item)))
        except ValidationError:
            continue
    return out
