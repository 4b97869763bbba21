"""The protobuf wire codec for wafer's envelope (abi/proto/wafer/v1/envelope.proto).

Hand-written so a guest carries no protobuf library: it decodes `wafer.v1.Request`,
skipping unknown fields of every wire type (ABI.md rule 2), and encodes
`wafer.v1.Response`. Only the few field types the envelope uses are supported.
"""

from __future__ import annotations

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5

_MAX_GROUP_DEPTH = 64


class DecodeError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise DecodeError("varint longer than 10 bytes")


def _field_end(buf: bytes, pos: int, field: int, wire: int, depth: int = 0) -> int:
    """Returns the position just after the value of a field whose tag ends at `pos`."""
    end = len(buf)
    if wire == VARINT:
        return _varint(buf, pos)[1]
    if wire == I64:
        pos += 8
    elif wire == I32:
        pos += 4
    elif wire == LEN:
        n, pos = _varint(buf, pos)
        pos += n
    elif wire == SGROUP:
        if depth >= _MAX_GROUP_DEPTH:
            raise DecodeError("groups nested too deeply")
        while True:
            tag, pos = _varint(buf, pos)
            inner_field, inner_wire = tag >> 3, tag & 7
            if inner_wire == EGROUP:
                if inner_field != field:
                    raise DecodeError("mismatched end group")
                return pos
            pos = _field_end(buf, pos, inner_field, inner_wire, depth + 1)
    else:
        raise DecodeError(f"invalid wire type {wire}")
    if pos > end:
        raise DecodeError("truncated field")
    return pos


def fields(buf: bytes):
    """Yields `(field_number, wire_type, value)` for each field of a message.

    `value` is an int for VARINT, the raw bytes for LEN, I32 and I64, and None for
    groups (which the envelope never uses and are only skipped).
    """
    pos = 0
    end = len(buf)
    while pos < end:
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise DecodeError("field number 0")
        if wire == VARINT:
            value, pos = _varint(buf, pos)
        elif wire == LEN:
            n, start = _varint(buf, pos)
            pos = start + n
            if pos > end:
                raise DecodeError("truncated length-delimited field")
            value = buf[start:pos]
        elif wire in (I32, I64):
            start = pos
            pos = _field_end(buf, pos, field, wire)
            value = buf[start:pos]
        elif wire == SGROUP:
            pos = _field_end(buf, pos, field, wire)
            value = None
        else:
            # A stray end-group or wire type 6/7 cannot start a field.
            raise DecodeError(f"invalid wire type {wire}")
        yield field, wire, value


def _str(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def decode_header(buf: bytes) -> tuple[str, str]:
    name = value = ""
    for field, wire, raw in fields(buf):
        if wire != LEN:
            continue
        if field == 1:
            name = _str(raw)
        elif field == 2:
            value = _str(raw)
    return name, value


def decode_request(buf: bytes) -> dict:
    """Decodes a `wafer.v1.Request` into a dict of its fields (zero values when absent)."""
    out = {
        "method": "",
        "path": "",
        "query": "",
        "headers": [],
        "body": b"",
        "invocation_id": "",
        "deadline_ms": 0,
    }
    for field, wire, raw in fields(bytes(buf)):
        if wire == LEN:
            if field == 1:
                out["method"] = _str(raw)
            elif field == 2:
                out["path"] = _str(raw)
            elif field == 3:
                out["query"] = _str(raw)
            elif field == 4:
                out["headers"].append(decode_header(raw))
            elif field == 5:
                out["body"] = bytes(raw)
            elif field == 6:
                out["invocation_id"] = _str(raw)
        elif wire == VARINT and field == 7:
            out["deadline_ms"] = raw
        # Anything else is a field this SDK does not know (or a wire-type mismatch): skipped.
    return out


def _put_varint(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _put_bytes(out: bytearray, field: int, data: bytes) -> None:
    _put_varint(out, (field << 3) | LEN)
    _put_varint(out, len(data))
    out += data


def utf8(s: str) -> bytes:
    """UTF-8 bytes of `s`, with any lone surrogate replaced by U+FFFD (as JavaScript does)."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def encode_response(status: int, headers, body: bytes) -> bytes:
    """Encodes a `wafer.v1.Response`; zero-valued fields are omitted, as proto3 does."""
    out = bytearray()
    if status:
        _put_varint(out, (1 << 3) | VARINT)
        _put_varint(out, status)
    for name, value in headers:
        h = bytearray()
        n, v = utf8(name), utf8(value)
        if n:
            _put_bytes(h, 1, n)
        if v:
            _put_bytes(h, 2, v)
        _put_bytes(out, 2, bytes(h))
    if body:
        _put_bytes(out, 3, body)
    return bytes(out)
