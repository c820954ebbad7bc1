"""Tolerant readers for vendor replies: bounded JSON parsing and content-free shape logging.

A reply outside a vendor's contract becomes `UnexpectedResponse` (its shape is logged, never its
content); the typed readers below are what every vendor client uses to pick fields out of JSON.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from app.errors import UnexpectedResponse
from app.http.client import MAX_JSON_DEPTH, request_id_of

log = logging.getLogger("facedesk.http")


class JSONTooDeep(ValueError):
    """A JSON document nests deeper than `MAX_JSON_DEPTH` (a ValueError, like any bad JSON)."""


def parse_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses documents nested deeper than `max_depth` with a ValueError.

    The nesting is measured before parsing (iteratively, skipping strings), so a body
    nested 100,000 deep costs one linear scan and never reaches the recursive parser.
    """
    text = data.decode("utf-8-sig") if isinstance(data, bytes | bytearray) else data
    if _nesting_depth(text) > max_depth:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(text)
    except RecursionError as exc:  # pragma: no cover - the depth scan comes first
        raise JSONTooDeep("JSON nested too deep") from exc


_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    if "[" not in text and "{" not in text:
        return 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def json_body(response: httpx.Response, *, provider: str, operation: str) -> Any:
    """Parse a JSON body, or raise `UnexpectedResponse` (logging its shape, never its content)."""
    try:
        return parse_json(response.content)
    except ValueError as exc:
        log.warning(
            "%s %s: non-JSON or too deeply nested body (content-type=%s, %d bytes)",
            provider,
            operation,
            response.headers.get("content-type", "-"),
            len(response.content),
        )
        raise UnexpectedResponse(
            f"{provider} sent a reply FaceDesk cannot read (not JSON, or nested too deeply). "
            "Try again; if it persists, copy the details for support.",
            provider=provider,
            operation=operation,
            request_id=request_id_of(response),
            http_status=response.status_code,
        ) from exc


def describe_shape(value: object, depth: int = 0) -> str:
    """A content-free description of a JSON value, safe to log."""
    if depth > 2:
        return "…"
    if isinstance(value, dict):
        inner = ", ".join(
            f"{k}: {describe_shape(v, depth + 1)}" for k, v in list(value.items())[:12]
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return f"[{describe_shape(value[0], depth + 1) if value else ''}]×{len(value)}"
    return type(value).__name__


def first_present(mapping: dict[str, Any], names: Iterable[str]) -> Any:
    for name in names:
        if name in mapping and mapping[name] is not None:
            return mapping[name]
    return None


# --- tolerant typed readers ---------------------------------------------------------------------
# One set for every vendor. `as_*` read one JSON value and answer None when it is not of the kind
# asked for (a bool is never a number); `optional_*` read a key of an object the same way;
# `required_*` raise the named `UnexpectedResponse` (logging the body's shape, not its content).


def as_str(value: object, *, numbers: bool = False) -> str | None:
    """A non-empty string; with `numbers`, an int id is accepted as its text too."""
    if isinstance(value, str):
        return value or None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: object, *, from_text: bool = False) -> int | None:
    """An int, or a float without a fraction; with `from_text`, a string of digits too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if from_text and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_float(value: object, *, from_text: bool = False) -> float | None:
    """An int or float (never a bool); with `from_text`, a number written as a string too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if from_text and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_bool(value: object, *, from_text: bool = False) -> bool | None:
    """A JSON bool; with `from_text`, the strings "true" / "false" (any case) too."""
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_dict(value: object) -> dict[str, Any]:
    """An object, or {} for anything else."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """A list, or [] for anything else."""
    return value if isinstance(value, list) else []


def as_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp ("Z" accepted) as an aware datetime; a naive one is taken as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def optional_str(body: Mapping[str, Any], key: str, *, numbers: bool = False) -> str | None:
    return as_str(body.get(key), numbers=numbers)


def optional_int(body: Mapping[str, Any], key: str, *, from_text: bool = True) -> int | None:
    return as_int(body.get(key), from_text=from_text)


def optional_float(body: Mapping[str, Any], key: str, *, from_text: bool = False) -> float | None:
    return as_float(body.get(key), from_text=from_text)


def optional_list(body: Mapping[str, Any], key: str) -> list[Any]:
    return as_list(body.get(key))


_Value = TypeVar("_Value")


def _required(
    value: _Value | None,
    body: Mapping[str, Any],
    key: str,
    provider: str,
    operation: str,
    response: httpx.Response | None,
) -> _Value:
    if value is None:
        from app.http.errors import unexpected_response  # errors builds on this module

        raise unexpected_response(
            provider, operation, body=body, response=response, detail=f"no {key}"
        )
    return value


def required_str(
    body: Mapping[str, Any],
    key: str,
    *,
    provider: str,
    operation: str,
    response: httpx.Response | None = None,
    numbers: bool = False,
) -> str:
    """`optional_str`, or the named `UnexpectedResponse` ("no <key>") when it is missing."""
    value = as_str(body.get(key), numbers=numbers)
    return _required(value, body, key, provider, operation, response)


def required_int(
    body: Mapping[str, Any],
    key: str,
    *,
    provider: str,
    operation: str,
    response: httpx.Response | None = None,
    from_text: bool = True,
) -> int:
    """`optional_int`, or the named `UnexpectedResponse` when it is missing."""
    value = as_int(body.get(key), from_text=from_text)
    return _required(value, body, key, provider, operation, response)


def required_float(
    body: Mapping[str, Any],
    key: str,
    *,
    provider: str,
    operation: str,
    response: httpx.Response | None = None,
    from_text: bool = False,
) -> float:
    """`optional_float`, or the named `UnexpectedResponse` when it is missing."""
    value = as_float(body.get(key), from_text=from_text)
    return _required(value, body, key, provider, operation, response)


def required_list(
    body: Mapping[str, Any],
    key: str,
    *,
    provider: str,
    operation: str,
    response: httpx.Response | None = None,
) -> list[Any]:
    """The list at `key`, or the named `UnexpectedResponse` when it is not a list."""
    value = body.get(key)
    return _required(
        value if isinstance(value, list) else None, body, key, provider, operation, response
    )
