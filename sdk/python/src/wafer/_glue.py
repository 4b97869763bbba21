"""Turns the ABI call `handle(request: bytes) -> bytes` into `handle(Request) -> Response`."""

from __future__ import annotations

import sys
import traceback

from . import _proto
from ._message import Request, Response


class FunctionError(Exception):
    """Raise it from a handler to make the call answer `err(message)` (host: 500 function_error)."""


def _flush() -> None:
    # The host captures stdout/stderr per call: nothing may stay buffered past it.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def encode(resp: Response) -> bytes:
    """Encodes a Response, checking the types a user is most likely to get wrong."""
    if not isinstance(resp, Response):
        raise TypeError(f"handle must return wafer.Response, not {type(resp).__name__}")
    status = resp.status
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"status must be an int from 100 to 599, not {status!r}")
    body = resp.body
    if isinstance(body, str):
        body = _proto.utf8(body)
    elif isinstance(body, (bytearray, memoryview)):
        body = bytes(body)
    elif not isinstance(body, bytes):
        raise TypeError(f"body must be bytes or str, not {type(body).__name__}")
    headers = []
    for h in resp.headers:
        name, value = h
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"a header must be a (str, str) pair, not {h!r}")
        headers.append((name, value))
    return _proto.encode_response(status, headers, body)


def call(handler, request: bytes) -> tuple[bool, bytes | str]:
    """Runs `handler` on the encoded request: `(True, response bytes)` or `(False, message)`."""
    try:
        try:
            fields = _proto.decode_request(request)
        except _proto.DecodeError as e:
            return False, f"wafer: the request is not a valid wafer.v1.Request: {e}"
        try:
            return True, encode(handler(Request(**fields)))
        except FunctionError as e:
            return False, str(e)
        except Exception as e:
            traceback.print_exc()
            return False, f"{type(e).__name__}: {e}"
    finally:
        _flush()
