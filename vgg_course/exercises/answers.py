"""A student's answer as plain data: JSON values the trusted judge can read, and their names.

An exercise's ``observe`` runs on the student's side and may return only plain data (what
crosses the sandbox's pipe); these helpers turn whatever the student's code gave into it,
read a part of a dict answer, and name a value's type in a message to the student.
"""

from __future__ import annotations

import math
from typing import Any

from vgg_course.i18n import _


def field(answers: Any, key: str) -> Any:
    """``answers[key]`` of a dict answer; ``...`` there means that part is still the stub."""
    if not isinstance(answers, dict):
        raise TypeError(_("`answers` should be a dict, got {type}").format(
            type=type(answers).__name__))
    value = answers.get(key, ...)
    if value is ...:
        raise NotImplementedError(key)
    return value


def plain(value: Any) -> Any:
    """A student's value as JSON data: ints, floats, strs, bools, None, lists, dicts, else
    ``{"type": name}`` (so the judge can say what came back)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"type": "float", "repr": repr(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "__index__"):  # numpy and 0-d torch integers count as ints
        try:
            return int(value.__index__())
        except Exception:  # noqa: BLE001  (a tensor with more than one value, say)
            pass
    return {"type": type(value).__name__}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    """How a plain value (see :func:`plain`) would be described to a student."""
    if isinstance(value, dict) and set(value) <= {"type", "repr"} and "type" in value:
        return str(value["type"])
    return {type(None): "None", bool: "bool", int: "int", float: "float", str: "str",
            list: "list", dict: "dict"}.get(type(value), type(value).__name__)
