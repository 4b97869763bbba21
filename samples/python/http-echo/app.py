"""http-echo — answers the request back (samples/README.md, "http-echo"): its method, path,
query and headers as `x-echo-*` headers, its body as the body, with the status `?status=` asks
for. A standard `wasi:http/proxy` component (componentize-py's `wit_world` bindings), no wafer SDK."""

from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    Method_Connect,
    Method_Delete,
    Method_Get,
    Method_Head,
    Method_Options,
    Method_Patch,
    Method_Post,
    Method_Put,
    Method_Trace,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)
from componentize_py_types import Ok, Err

METHODS = {
    Method_Get: "GET", Method_Head: "HEAD", Method_Post: "POST", Method_Put: "PUT",
    Method_Delete: "DELETE", Method_Connect: "CONNECT", Method_Options: "OPTIONS",
    Method_Trace: "TRACE", Method_Patch: "PATCH",
}
# Statuses that carry no body, which the echo does not answer.
NO_BODY = {204, 205, 304}


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        m = request.method()
        method = METHODS.get(type(m)) or m.value
        path, _, query = (request.path_with_query() or "/").partition("?")
        headers = [
            ("content-type", b"application/octet-stream"),
            ("x-wafer-sample", b"echo"),
            ("x-echo-method", method.encode()),
            ("x-echo-path", path.encode()),
            ("x-echo-query", query.encode()),
        ]
        # Sorted by name, the values of a repeated header joined with ", ".
        received: dict = {}
        with request.headers() as fields:
            for name, value in fields.entries():
                received.setdefault(name.lower(), []).append(value)
        for name in sorted(received):
            headers.append(("x-echo-" + name, b", ".join(received[name])))
        body = read_body(request)
        respond(response_out, status(query), headers, body)


def status(query: str) -> int:
    """Query parameter `status` if it is a decimal integer from 200 to 599 that may carry a body; else 200."""
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == "status":
            n = int(v) if len(v) == 3 and v.isascii() and v.isdigit() else 0
            return n if 200 <= n <= 599 and n not in NO_BODY else 200
    return 200


def read_body(request: IncomingRequest) -> bytes:
    """The whole request body (the host bounds its size)."""
    body = request.consume()
    chunks = []
    with body.stream() as stream:
        while True:
            try:
                chunks.append(stream.blocking_read(65536))
            except Err:
                break  # closed: the end of the body
    return b"".join(chunks)


def respond(out: ResponseOutparam, status: int, headers: list, body: bytes) -> None:
    response = OutgoingResponse(Fields.from_list(headers))
    response.set_status_code(status)
    out_body = response.body()
    ResponseOutparam.set(out, Ok(response))
    with out_body.write() as stream:
        # blocking-write-and-flush takes at most 4096 bytes a call.
        for at in range(0, len(body), 4096):
            stream.blocking_write_and_flush(body[at : at + 4096])
    OutgoingBody.finish(out_body, None)
