"""fib — CPU-bound on purpose, for the quota tests (samples/README.md)."""

from wafer import Request, Response

HEADERS = [("content-type", "text/plain; charset=utf-8"), ("x-wafer-sample", "fib")]


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def parse_n(raw: bytes | None) -> int | None:
    """n from the query: default 20; ASCII decimal digits only, 0 to 78; else None."""
    if raw is None:
        return 20
    if not raw or not raw.isdigit():  # bytes.isdigit is ASCII-only: no sign, space or "_"
        return None
    digits = raw.lstrip(b"0") or b"0"
    if len(digits) > 2:
        return None
    n = int(digits)
    return n if n <= 78 else None


def handle(req: Request) -> Response:
    n = parse_n(req.query_param("n"))
    if n is None:
        return Response(400, list(HEADERS), "n must be an integer from 0 to 78")
    return Response(200, list(HEADERS), f"fib({n}) = {fib(n)}")
