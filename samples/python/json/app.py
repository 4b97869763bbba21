"""json — parses, transforms, answers JSON (samples/README.md)."""

from decimal import Decimal

from wafer import Request, Response

HEADERS = [("content-type", "application/json"), ("x-wafer-sample", "json")]
MAX_SAFE = 2**53

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote(s: str) -> str:
    """A JSON string as the spec escapes it: only `"`, `\\` and U+0000–U+001F."""
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _reject_constant(name):
    # Python accepts NaN and Infinity; JSON does not.
    raise ValueError(f"not JSON: {name}")


def _whole(x) -> int | None:
    """`x` as an int if it is an integral JSON number of magnitude at most 2^53, else None.

    Numbers are parsed exactly (ints as int, the rest as Decimal), so `1e3` and `2.0`
    count and `1.5` or `9007199254740993` do not.
    """
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x if abs(x) <= MAX_SAFE else None
    if isinstance(x, Decimal):
        if abs(x) > MAX_SAFE or x != x.to_integral_value():
            return None
        return int(x)
    return None


def _error(message: str) -> Response:
    return Response(400, list(HEADERS), '{"error":' + _quote(message) + "}")


def handle(req: Request) -> Response:
    try:
        # Strict UTF-8, exact numbers, no NaN/Infinity; too deep a nesting is a ValueError too.
        doc = req.json(parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return _error("body is not a JSON object")

    name = doc.get("name", "world")
    if not isinstance(name, str):
        return _error("name must be a string")

    numbers = doc.get("numbers", [])
    ints = [_whole(x) for x in numbers] if isinstance(numbers, list) else [None]
    if None in ints:
        return _error("numbers must be an array of integers")

    body = '{"greeting":%s,"count":%d,"sum":%d}' % (_quote(f"Hello, {name}!"), len(ints), sum(ints))
    return Response(200, list(HEADERS), body)
