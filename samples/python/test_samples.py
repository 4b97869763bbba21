"""The Python samples against samples/README.md, run in plain CPython (no component needed).

    python3 -m pytest samples/python
"""

import importlib.util
import json
import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "sdk", "python", "src"))

from wafer import Request  # noqa: E402


def load(sample):
    spec = importlib.util.spec_from_file_location(f"sample_{sample}", os.path.join(HERE, sample, "app.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.handle


hello, json_, fib, logger = (load(s) for s in ("hello", "json", "fib", "logger"))
JSON_HEADERS = [("content-type", "application/json"), ("x-wafer-sample", "json")]
FIB_HEADERS = [("content-type", "text/plain; charset=utf-8"), ("x-wafer-sample", "fib")]


@pytest.mark.parametrize(
    "body, query, expected",
    [
        (b"Ada", "name=Bob", b"Hello, Ada!"),
        (b"", "name=J%C3%BCrgen", "Hello, Jürgen!".encode()),
        (b"", "name=", b"Hello, world!"),
        (b"", "", b"Hello, world!"),
        (b"\x00\xff", "", b"Hello, \x00\xff!"),
    ],
)
def test_hello(body, query, expected):
    res = hello(Request(method="POST", path="/a%20b", query=query, body=body))
    assert (res.status, res.body) == (200, expected)
    assert res.headers == [
        ("content-type", "text/plain; charset=utf-8"),
        ("x-wafer-sample", "hello"),
        ("x-wafer-method", "POST"),
        ("x-wafer-path", "/a%20b"),
    ]


@pytest.mark.parametrize(
    "body, expected",
    [
        ('{"name":"Ada","numbers":[1,2,39]}', '{"greeting":"Hello, Ada!","count":3,"sum":42}'),
        ("{}", '{"greeting":"Hello, world!","count":0,"sum":0}'),
        ('{"numbers":[1e3,2.0,-0,9007199254740992,-9007199254740992]}', '{"greeting":"Hello, world!","count":5,"sum":1002}'),
        ('{"numbers":[9007199254740992,9007199254740992]}', '{"greeting":"Hello, world!","count":2,"sum":18014398509481984}'),
        ('{"name":"a","name":"b"}', '{"greeting":"Hello, b!","count":0,"sum":0}'),
        (' \n{"other":[1.5]}\t', '{"greeting":"Hello, world!","count":0,"sum":0}'),
        (
            r'{"name":"\"\\\/\b\f\n\r\t\u0000\u001f\u007f<>&ü😀"}',
            '{"greeting":"Hello, \\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\x7f<>&ü😀!","count":0,"sum":0}',
        ),
    ],
)
def test_json_ok(body, expected):
    res = json_(Request(method="POST", body=body.encode()))
    assert (res.status, res.headers, res.body) == (200, JSON_HEADERS, expected)


@pytest.mark.parametrize(
    "body, error",
    [
        (b"", "body is not a JSON object"),
        (b"{not json", "body is not a JSON object"),
        (b"[1]", "body is not a JSON object"),
        (b'"x"', "body is not a JSON object"),
        (b"null", "body is not a JSON object"),
        (b'{"a":NaN}', "body is not a JSON object"),
        (b'{"a":Infinity}', "body is not a JSON object"),
        (b"\xef\xbb\xbf{}", "body is not a JSON object"),   # a BOM is not JSON whitespace
        (b'{"name":"\xff"}', "body is not a JSON object"),  # not UTF-8
        (b'{"a":"\x01"}', "body is not a JSON object"),     # raw control character
        (b"{} {}", "body is not a JSON object"),
        (b"[" * 100000 + b"]" * 100000, "body is not a JSON object"),
        (b"{\"a\":" * 600 + b"1" + b"}" * 600, "body is not a JSON object"),  # deeper than the SDK allows
        (b'{"name":5}', "name must be a string"),
        (b'{"name":null}', "name must be a string"),
        (b'{"numbers":null}', "numbers must be an array of integers"),
        (b'{"numbers":{}}', "numbers must be an array of integers"),
        (b'{"numbers":[1.5]}', "numbers must be an array of integers"),
        (b'{"numbers":[true]}', "numbers must be an array of integers"),
        (b'{"numbers":["1"]}', "numbers must be an array of integers"),
        (b'{"numbers":[[1]]}', "numbers must be an array of integers"),
        (b'{"numbers":[9007199254740993]}', "numbers must be an array of integers"),
        (b'{"numbers":[1e400]}', "numbers must be an array of integers"),
        (b'{"numbers":[1.0000000000000001]}', "numbers must be an array of integers"),
        (b'{"name":1,"numbers":[1.5]}', "name must be a string"),
    ],
)
def test_json_errors(body, error):
    res = json_(Request(method="POST", body=body))
    assert (res.status, res.headers) == (400, JSON_HEADERS)
    assert res.body == '{"error":"%s"}' % error
    json.loads(res.body)


@pytest.mark.parametrize(
    "query, expected",
    [("", "fib(20) = 6765"), ("n=0", "fib(0) = 0"), ("n=1", "fib(1) = 1"), ("n=10", "fib(10) = 55"),
     ("n=%32%30", "fib(20) = 6765"), ("n=007", "fib(7) = 13"), ("x=1&n=2", "fib(2) = 1")],
)
def test_fib(query, expected):
    res = fib(Request(query=query))
    assert (res.status, res.headers, res.body) == (200, FIB_HEADERS, expected)


@pytest.mark.parametrize("n", ["", "79", "99", "-1", "+5", " 5", "5 ", "1.0", "1e1", "x", "٣", "0x1", "1_0", "9" * 5000])
def test_fib_refuses(n):
    res = fib(Request(query="n=" + n))
    assert (res.status, res.headers, res.body) == (400, FIB_HEADERS, "n must be an integer from 0 to 78")


def test_fib_78_is_in_range():
    # fib itself would take forever at 78; only the parsing is checked here.
    assert fib.__globals__["parse_n"](b"78") == 78


def test_logger(capsys):
    res = logger(Request(method="GET", path="/x"))
    out = capsys.readouterr()
    assert (out.out, out.err) == ("logger: GET /x\n", "logger: done\n")
    assert res.status == 200
    assert res.headers == [("content-type", "application/json"), ("x-wafer-sample", "logger")]
    assert re.fullmatch(r'\{"now_ms":\d+,"elapsed_ns":\d+,"random":"[0-9a-f]{16}"\}', res.body)
