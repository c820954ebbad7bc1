"""Tolerant readers for vendor replies: bounded JSON parsing and content-free shape logging.

A reply outside a vendor's contract becomes `UnexpectedResponse` (its shape is logged, never its
content); the typed readers below are what every vendor client uses to pick fields out of JSON.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

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
