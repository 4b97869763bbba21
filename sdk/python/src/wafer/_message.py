"""`Request` and `Response`: what a wafer function receives and returns."""

from __future__ import annotations

import json as _json
import re as _re
from dataclasses import dataclass, field

from ._query import query_param as _query_param

MAX_JSON_DEPTH = 512
"""Deeper JSON is refused: CPython's parser recurses in C and, inside a component, overflows
the engine's native stack (a trap that kills the instance) at a few thousand levels."""

_JSON_STRUCTURE = _re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _json_too_deep(text: str, limit: int) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for m in _JSON_STRUCTURE.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


@dataclass
class Request:
    """One call, as the host received it on `ANY /fn/{name}[/{rest}]`."""

    method: str = "GET"
    """Upper-case HTTP method."""
    path: str = "/"
    """URL path after `/fn/{name}`, percent-encoded as received; always starts with `/`."""
    query: str = ""
    """Raw query string without the `?`; `""` when there is none."""
    headers: list[tuple[str, str]] = field(default_factory=list)
    """`(name, value)` pairs in the order received; names are lower-case."""
    body: bytes = b""
    invocation_id: str = ""
    deadline_ms: int = 0
    """Unix time in milliseconds after which the host cuts the call off."""

    def query_param(self, name: str) -> bytes | None:
        """The first query parameter called `name`, `+` and `%XY` decoded; None if absent."""
        return _query_param(self.query, name)

    def header(self, name: str) -> str | None:
        """The first header called `name` (case-insensitive), or None."""
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def text(self, errors: str = "strict") -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors)

    def json(self, **kwargs):
        """The body parsed as JSON; keyword arguments go to `json.loads`.

        Raises ValueError when the body is not UTF-8, not JSON, or nested deeper than
        MAX_JSON_DEPTH levels.
        """
        text = self.text()
        if _json_too_deep(text, MAX_JSON_DEPTH):
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            return _json.loads(text, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


@dataclass
class Response:
    """What the function answers. A `str` body is sent as UTF-8."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | str = b""
