"""The export glue: Request in, Response or err(message) out."""

import json

import pytest

from wafer import FunctionError, Request, Response
from wafer._glue import call
from wafer._proto import decode_header, encode_response, fields

from test_proto import FULL, ld


def decode_response(buf):
    status, headers, body = 0, [], b""
    for f, _, v in fields(buf):
        if f == 1:
            status = v
        elif f == 2:
            headers.append(decode_header(v))
        elif f == 3:
            body = v
    return status, headers, body


def test_passes_the_decoded_request_and_encodes_the_response():
    seen = []

    def handle(req: Request) -> Response:
        seen.append(req)
        return Response(201, [("x-m", req.method)], "é")

    ok, out = call(handle, FULL)
    assert ok
    assert decode_response(out) == (201, [("x-m", "POST")], "é".encode())
    req = seen[0]
    assert (req.path, req.body, req.header("X-DUP"), req.query_param("y")) == ("/a/b%20c", b"\x00\xffbody", "1", "ü".encode())


def test_response_defaults_to_200_with_no_headers_and_no_body():
    assert call(lambda req: Response(), b"") == (True, encode_response(200, [], b""))


def test_request_text_and_json():
    req = Request(body='{"a": "ü"}'.encode())
    assert req.text() == '{"a": "ü"}'
    assert req.json() == {"a": "ü"}
    with pytest.raises(ValueError):
        Request(body=b"\xff").json()
    with pytest.raises(json.JSONDecodeError):
        Request(body=b"{").json()


def test_an_exception_becomes_an_error_message(capsys):
    def handle(req):
        raise KeyError("boom")

    assert call(handle, b"") == (False, "KeyError: 'boom'")
    assert "Traceback" in capsys.readouterr().err


def test_function_error_carries_its_message_as_is():
    def handle(req):
        raise FunctionError("no such user")

    assert call(handle, b"") == (False, "no such user")


@pytest.mark.parametrize(
    "bad, message",
    [
        ("text", "handle must return wafer.Response, not str"),
        (Response(status=0), "status must be an int from 100 to 599"),
        (Response(status=600), "status must be an int from 100 to 599"),
        (Response(body=123), "body must be bytes or str"),
        (Response(headers=[("a", 1)]), "a header must be a (str, str) pair"),
    ],
)
def test_a_malformed_response_is_an_error(bad, message, capsys):
    ok, out = call(lambda req: bad, b"")
    assert not ok and message in out


def test_an_invalid_request_is_an_error_without_calling_the_handler():
    ok, out = call(lambda req: pytest.fail("called"), b"\x0a\x05ab")
    assert not ok and out.startswith("wafer: the request is not a valid wafer.v1.Request")


def test_bytearray_bodies_are_accepted():
    ok, out = call(lambda req: Response(body=bytearray(b"xy")), ld(1, b"GET"))
    assert ok and decode_response(out)[2] == b"xy"


def test_request_json_refuses_nesting_deeper_than_the_limit():
    from wafer._message import MAX_JSON_DEPTH

    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert Request(body=ok.encode()).json() is not None
    for deep in ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), '{"a":' * 100000):
        with pytest.raises(ValueError):
            Request(body=deep.encode()).json()


def test_request_json_ignores_brackets_inside_strings():
    body = '{"s":"' + "[{" * 5000 + '\\"]"}'
    assert Request(body=body.encode()).json() == {"s": "[{" * 5000 + '"]'}


def test_request_json_passes_options_to_json_loads():
    from decimal import Decimal

    assert Request(body=b"[1.5]").json(parse_float=Decimal) == [Decimal("1.5")]
