"""Argument checks of the Python API: each raises InvalidArgumentError (or the given StreamKitError subclass)
naming the argument, before anything reaches ctypes, whose own errors (ArgumentError, OverflowError) name no
argument and would truncate a text at its first NUL byte."""

import math
import operator
import os
from typing import Any, Iterable, List, Mapping, Optional, Type, TypeVar

from .errors import InvalidArgumentError, StreamKitError

T = TypeVar("T")

INT32 = (-(2 ** 31), 2 ** 31 - 1)
INT64 = (-(2 ** 63), 2 ** 63 - 1)
UINT64 = (0, 2 ** 64 - 1)


def integer(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in low...high (bool refused: ``True`` is no count)."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be an integer, not {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{name} must be an integer, not {type(value).__name__} {value!r}") from None
    if not low <= number <= high:
        raise InvalidArgumentError(f"{name} must be {low} to {high}, not {number}")
    return number


def seconds(name: str, value: Any, *, positive: bool = False) -> float:
    """A finite number of seconds, not negative (above zero with ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{name} must be a number of seconds, not {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise InvalidArgumentError(f"{name} must be a finite number of seconds {'above' if positive else 'from'} "
                                   f"0, not {value!r}")
    return float(value)


def milliseconds(name: str, value: Any, *, positive: bool = False) -> int:
    """Seconds as the C API's int milliseconds (at most about 24 days)."""
    ms = int(seconds(name, value, positive=positive) * 1000)
    if ms > INT32[1]:
        raise InvalidArgumentError(f"{name} must be at most {INT32[1] // 1000} seconds, not {value!r}")
    return max(ms, 1) if positive else ms


def text(name: str, value: Any, *, error: Type[StreamKitError] = InvalidArgumentError, secret: bool = False,
         empty: bool = False) -> bytes:
    """A str as UTF-8 for the C API: no NUL byte (C would end the text there), not empty unless allowed. A
    ``secret`` is never repeated in the message."""
    if not isinstance(value, str):
        raise error(f"{name} must be a str, not {type(value).__name__}")
    shown = "" if secret else f" {value!r}"
    if "\0" in value:
        raise error(f"{name} must not contain a NUL character{shown}")
    if not value and not empty:
        raise error(f"{name} must not be empty")
    return value.encode()


def path(name: str, value: Any) -> bytes:
    """A file system path (str, bytes or os.PathLike) for the C API."""
    try:
        encoded = os.fsencode(value)
    except TypeError:
        raise InvalidArgumentError(f"{name} must be a path (str, bytes or os.PathLike), "
                                   f"not {type(value).__name__}") from None
    if b"\0" in encoded or not encoded:
        raise InvalidArgumentError(f"{name} must be a non-empty path without NUL bytes, not {value!r}")
    return encoded


def choice(name: str, value: Any, options: Mapping[Any, T]) -> T:
    """``options[value]``, or an error listing the options (an unhashable value is simply not one of them)."""
    try:
        return options[value]
    except (KeyError, TypeError):
        names = ", ".join(str(o) for o in options if o is not None)
        raise InvalidArgumentError(f"{name} must be one of {names}; got {value!r}") from None


def one_or_many(name: str, value: Any, kind: type) -> List[Any]:
    """A single ``kind`` value or an iterable of them, as a list (a str is one value, never its characters)."""
    if value is None:
        return []
    if isinstance(value, kind) or (kind is int and _is_index(value)):
        return [value]
    if isinstance(value, (str, bytes, bytearray)):
        raise InvalidArgumentError(f"{name} must be {_kind(kind)} or a list of them, not {value!r}")
    try:
        items = list(value)
    except TypeError:
        raise InvalidArgumentError(f"{name} must be {_kind(kind)} or a list of them, "
                                   f"not {type(value).__name__} {value!r}") from None
    return items


def _is_index(value: Any) -> bool:
    return not isinstance(value, bool) and hasattr(type(value), "__index__")


def _kind(kind: type) -> str:
    return "an integer" if kind is int else "a str"


def optional(check, name: str, value: Optional[Any], *args, **kwargs):
    """``check(name, value, ...)``, or None for None."""
    return None if value is None else check(name, value, *args, **kwargs)


def items(check, name: str, values: Iterable[Any], *args, **kwargs) -> List[Any]:
    """``check`` on each item, the message naming the item (``crypto_ids[2]``)."""
    return [check(f"{name}[{i}]", v, *args, **kwargs) for i, v in enumerate(values)]
