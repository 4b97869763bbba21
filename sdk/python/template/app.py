"""A wafer function. Build it with `npx wafer build .`, deploy it with
`npx wafer deploy <name> <file.wasm>`, call it with `npx wafer invoke <name>`."""

from wafer import Request, Response


def handle(req: Request) -> Response:
    name = req.query_param("name") or b"world"
    return Response(
        200,
        [("content-type", "text/plain; charset=utf-8")],
        b"Hello, " + name + b"!\n",
    )
