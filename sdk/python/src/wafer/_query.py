"""Query-string decoding exactly as samples/README.md defines a *query parameter*."""

from __future__ import annotations

_HEX = b"0123456789abcdefABCDEF"


def unescape(raw: bytes) -> bytes:
    """`+` becomes a space, then each `%XY` (two hex digits) becomes the byte 0xXY.

    A `%` not followed by two hex digits stays as it is.
    """
    raw = raw.replace(b"+", b" ")
    if b"%" not in raw:
        return raw
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == 0x25 and i + 2 < n and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return bytes(out)


def query_param(query: str | bytes, name: str | bytes) -> bytes | None:
    """The decoded value of the first `&`-separated part whose key equals `name`, else None.

    The key is the text before the first `=` (or the whole part) and is compared as is,
    undecoded; the value is the text after the first `=` (`b""` if none), decoded by
    `unescape`.
    """
    q = query.encode("utf-8") if isinstance(query, str) else bytes(query)
    key = name.encode("utf-8") if isinstance(name, str) else bytes(name)
    for part in q.split(b"&"):
        k, eq, v = part.partition(b"=")
        if k == key:
            return unescape(v) if eq else b""
    return None
