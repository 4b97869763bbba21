"""Query parameters exactly as samples/README.md defines them."""

import pytest

from wafer import Request, query_param, unescape


@pytest.mark.parametrize(
    "query, name, expected",
    [
        ("name=J%C3%BCrgen", "name", "Jürgen".encode()),
        ("", "name", None),
        ("name", "name", b""),                       # no "=": the whole part is the key
        ("name=", "name", b""),
        ("a=1&name=x&name=y", "name", b"x"),         # the first match wins
        ("names=1&nam=2", "name", None),             # keys compare whole
        ("name=a=b", "name", b"a=b"),                # value is after the first "="
        ("=v&name=w", "", b"v"),
        ("name=a+b", "name", b"a b"),
        ("name=%2B", "name", b"+"),                  # "+" first, then %XY: %2B stays "+"
        ("name=%zz%4%", "name", b"%zz%4%"),          # "%" without two hex digits stays
        ("name=%4a%4A", "name", b"JJ"),              # hex digits of either case
        ("name=%ff%00", "name", b"\xff\x00"),        # bytes, not text
        ("name=%%41", "name", b"%A"),
        ("na%6De=x", "name", None),                  # the key is not decoded
        ("a&&name=x", "name", b"x"),
        ("name=ü", "name", "ü".encode()),
    ],
)
def test_query_param(query, name, expected):
    assert query_param(query, name) == expected
    assert Request(query=query).query_param(name) == expected


def test_unescape_leaves_plain_bytes_alone():
    assert unescape(b"plain") == b"plain"


def test_unescape_at_the_end_of_the_value():
    assert unescape(b"a%4") == b"a%4"
    assert unescape(b"a%41") == b"aA"
