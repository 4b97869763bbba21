"""hello — greets (samples/README.md)."""

from wafer import Request, Response


def handle(req: Request) -> Response:
    name = req.body or req.query_param("name") or b"world"
    return Response(
        200,
        [
            ("content-type", "text/plain; charset=utf-8"),
            ("x-wafer-sample", "hello"),
            ("x-wafer-method", req.method),
            ("x-wafer-path", req.path),
        ],
        b"Hello, " + name + b"!",
    )
