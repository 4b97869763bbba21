"""The hand-written envelope codec: decodes Request (skipping unknown fields), encodes Response."""

import pytest

from wafer import _proto
from wafer._proto import DecodeError, decode_request, encode_response


def varint(n: int) -> bytes:
    out = bytearray()
    _proto._put_varint(out, n)
    return bytes(out)


def tag(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def ld(field: int, data: bytes) -> bytes:
    return tag(field, 2) + varint(len(data)) + data


def header(name: str, value: str) -> bytes:
    return ld(1, name.encode()) + ld(2, value.encode())


FULL = (
    ld(1, b"POST")
    + ld(2, b"/a/b%20c")
    + ld(3, b"x=1&y=%C3%BC")
    + ld(4, header("content-type", "text/plain"))
    + ld(4, header("x-dup", "1"))
    + ld(4, header("x-dup", "2"))
    + ld(5, b"\x00\xffbody")
    + ld(6, "inv-ü".encode())
    + tag(7, 0) + varint(1_790_000_000_123)
)


def test_decodes_every_request_field():
    assert decode_request(FULL) == {
        "method": "POST",
        "path": "/a/b%20c",
        "query": "x=1&y=%C3%BC",
        "headers": [("content-type", "text/plain"), ("x-dup", "1"), ("x-dup", "2")],
        "body": b"\x00\xffbody",
        "invocation_id": "inv-ü",
        "deadline_ms": 1_790_000_000_123,
    }


def test_empty_message_gives_zero_values():
    assert decode_request(b"") == {
        "method": "", "path": "", "query": "", "headers": [], "body": b"",
        "invocation_id": "", "deadline_ms": 0,
    }


def test_accepts_bytearray_and_memoryview():
    assert decode_request(bytearray(FULL)) == decode_request(FULL)
    assert decode_request(memoryview(FULL)) == decode_request(FULL)


def test_decodes_the_largest_uint64_deadline():
    assert decode_request(tag(7, 0) + varint(2**64 - 1))["deadline_ms"] == 2**64 - 1


UNKNOWN_OF_EVERY_WIRE_TYPE = (
    tag(99, 0) + varint(2**63)                      # varint
    + tag(100, 1) + b"\x01" * 8                     # fixed64
    + ld(101, b"\x08\x01unknown message")           # length-delimited
    + tag(102, 3) + tag(1, 0) + varint(5)           # group with a varint,
    + tag(103, 3) + ld(2, b"xyz") + tag(103, 4)     #   a nested group
    + tag(102, 4)                                   #   end of the outer group
    + tag(104, 5) + b"\x02" * 4                     # fixed32
)


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_skips_unknown_fields_of_every_wire_type(where):
    if where == "start":
        buf = UNKNOWN_OF_EVERY_WIRE_TYPE + FULL
    elif where == "middle":
        cut = len(ld(1, b"POST") + ld(2, b"/a/b%20c"))  # between two fields
        buf = FULL[:cut] + UNKNOWN_OF_EVERY_WIRE_TYPE + FULL[cut:]
    else:
        buf = FULL + UNKNOWN_OF_EVERY_WIRE_TYPE
    assert decode_request(buf) == decode_request(FULL)


def test_skips_unknown_fields_inside_a_header():
    h = tag(9, 0) + varint(1) + header("a", "b") + tag(10, 1) + b"\x00" * 8
    assert decode_request(ld(4, h))["headers"] == [("a", "b")]


def test_skips_a_known_field_number_with_an_unexpected_wire_type():
    buf = tag(1, 0) + varint(7) + tag(7, 2) + varint(1) + b"x" + ld(2, b"/p")
    out = decode_request(buf)
    assert (out["method"], out["deadline_ms"], out["path"]) == ("", 0, "/p")


def test_last_value_of_a_scalar_field_wins():
    assert decode_request(ld(1, b"GET") + ld(1, b"PUT"))["method"] == "PUT"


def test_invalid_utf8_in_a_string_is_replaced_not_fatal():
    assert decode_request(ld(2, b"/\xff"))["path"] == "/\ufffd"


@pytest.mark.parametrize(
    "buf",
    [
        b"\x0a",                          # tag without a length
        ld(1, b"GET")[:-1],               # truncated string
        b"\x0a\x05ab",                    # length past the end
        tag(7, 0) + b"\xff",              # truncated varint
        tag(7, 0) + b"\xff" * 11 + b"\x01",  # varint longer than 10 bytes
        tag(9, 1) + b"\x00" * 7,          # truncated fixed64
        tag(9, 5) + b"\x00" * 3,          # truncated fixed32
        tag(9, 3) + varint(1),            # unterminated group
        tag(9, 3) + tag(8, 4),            # group closed by another field number
        tag(9, 4),                        # stray end-group
        tag(9, 6) + b"\x00",              # wire type 6
        tag(9, 7),                        # wire type 7
        b"\x00\x00",                      # field number 0
    ],
)
def test_malformed_input_raises_decode_error(buf):
    with pytest.raises(DecodeError):
        decode_request(buf)


def test_deeply_nested_groups_are_refused_not_a_crash():
    depth = 1000
    buf = tag(9, 3) * depth + tag(9, 4) * depth
    with pytest.raises(DecodeError):
        decode_request(buf)


def test_encodes_a_response_like_protobuf():
    out = encode_response(404, [("content-type", "text/plain"), ("x-e", "")], b"nope")
    assert out == (
        tag(1, 0) + varint(404)
        + ld(2, ld(1, b"content-type") + ld(2, b"text/plain"))
        + ld(2, ld(1, b"x-e"))
        + ld(3, b"nope")
    )


def test_zero_values_are_omitted():
    assert encode_response(0, [], b"") == b""
    assert encode_response(200, [("", "")], b"") == tag(1, 0) + varint(200) + ld(2, b"")


def test_long_fields_use_multi_byte_lengths():
    body = b"x" * 300
    assert encode_response(200, [], body) == tag(1, 0) + varint(200) + tag(3, 2) + b"\xac\x02" + body


def test_lone_surrogates_are_encoded_as_replacement_characters():
    assert _proto.utf8("a\ud800b") == "a\ufffdb".encode()
    assert _proto.utf8("😀") == "😀".encode()


def test_a_response_decodes_with_the_generic_field_reader():
    out = encode_response(201, [("a", "1"), ("b", "2")], b"body")
    fields = list(_proto.fields(out))
    assert fields[0] == (1, 0, 201)
    assert [_proto.decode_header(v) for f, w, v in fields if f == 2] == [("a", "1"), ("b", "2")]
    assert fields[-1] == (3, 2, b"body")
