"""JSON request bodies: one bounded parser for every JSON endpoint, so no body can cause a 500.

json.loads alone lets through what later breaks a request: nesting deep enough to raise
RecursionError, 1e999 (a float infinity), NaN and Infinity, integers too large for a database
column, lone surrogates and NUL characters that a database refuses. parse() refuses all of these
with InvalidJSON, whose message says what to fix; integer() and strings() take fields out of a parsed
object with their type and range checked. JSONBodyParser is the same parse() for DRF views.
"""

import json
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
# Database integer columns (BigAutoField and friends) hold signed 64-bit values.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class InvalidJSON(ValueError):
    """The body cannot be accepted; str(error) is the message for the caller."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJSON(f"The number {text[:40]} is out of range.")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19:  # more digits than any 64-bit integer has
        raise InvalidJSON(f"The number {text[:40]}… is out of range.")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise InvalidJSON(f"The number {text} is out of range.")
    return value


def _no_constant(name: str):
    raise InvalidJSON(f"{name} is not a number.")


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise InvalidJSON("Text must not contain NUL (\\u0000) characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJSON("Text must be valid Unicode (a lone surrogate was sent).") from None


def _check_tree(doc, max_depth: int, what: str) -> None:
    """Depth and text checks, without recursion (the depth is what is being checked)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            raise InvalidJSON(f"{what} is nested too deeply (at most {max_depth} levels).")
        if isinstance(node, dict):
            for key in node:
                _check_text(key)
            children = node.values()
        else:
            children = node
        stack.extend((child, depth + 1) for child in children)


def parse(
    raw: bytes | str,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    expect=dict,
    what: str = "The body",
):
    """The parsed body; expect (dict, list, or None for anything) is checked at the top level.
    what names the body in messages ("The edit is not valid JSON …")."""
    if len(raw) > max_bytes:
        raise InvalidJSON(f"{what} is too large (at most {max_bytes // 1000} kB).")
    if not raw or not raw.strip():
        raise InvalidJSON(f"{what} is empty; send JSON.")
    try:
        doc = json.loads(
            raw,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            parse_constant=_no_constant,
        )
    except InvalidJSON:
        raise
    except RecursionError:
        raise InvalidJSON(f"{what} is nested too deeply (at most {max_depth} levels).") from None
    except (ValueError, TypeError) as e:  # UnicodeDecodeError is a ValueError
        raise InvalidJSON(f"{what} is not valid JSON ({_reason(e)}).") from None
    _check_tree(doc, max_depth, what)
    if expect is dict and not isinstance(doc, dict):
        raise InvalidJSON(f"{what} must be a JSON object ({{...}}).")
    if expect is list and not isinstance(doc, list):
        raise InvalidJSON(f"{what} must be a JSON array ([...]).")
    return doc


def parse_request(request, *, max_bytes: int = MAX_BYTES, expect=dict):
    """parse() of a Django request's body; a declared length over max_bytes is refused unread."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > max_bytes:
        raise InvalidJSON(f"The body is too large (at most {max_bytes // 1000} kB).")
    return parse(request.body, max_bytes=max_bytes, expect=expect)


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    return str(error)[:100]


def integer(doc: dict, key: str, *, minimum: int = 1, maximum: int = INT_MAX) -> int:
    """doc[key] as a whole number from minimum to maximum (true/false and 1.5 are not numbers)."""
    value = doc.get(key)
    if key not in doc or value is None:
        raise InvalidJSON(f"{key} is required.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidJSON(f"{key} must be a whole number.")
    if not minimum <= value <= maximum:
        raise InvalidJSON(f"{key} must be from {minimum} to {maximum}.")
    return value


def strings(doc: dict, key: str, *, max_items: int, max_length: int, default=None) -> list[str]:
    """doc[key] as a list of at most max_items strings of at most max_length characters."""
    if key not in doc:
        if default is not None:
            return list(default)
        raise InvalidJSON(f"{key} is required.")
    value = doc[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidJSON(f"{key} must be a list of strings.")
    if len(value) > max_items:
        raise InvalidJSON(f"{key} may hold at most {max_items} items.")
    if any(len(v) > max_length for v in value):
        raise InvalidJSON(f"Each {key} item may be at most {max_length} characters.")
    return value


class JSONBodyParser(JSONParser):
    """DRF's JSON parser with parse()'s bounds; a refusal is DRF's 400 {"detail": message}."""

    max_bytes = MAX_BYTES

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(self.max_bytes + 1) if stream is not None else b""
        try:
            return parse(raw, max_bytes=self.max_bytes, expect=None)
        except InvalidJSON as e:
            raise ParseError(str(e)) from None
