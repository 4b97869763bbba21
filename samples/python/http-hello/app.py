"""http-hello — the `hello` sample (samples/README.md) as a standard `wasi:http/proxy`
component, no wafer SDK: componentize-py's bindings of the world (`wit_world`), built by
sdk/python/build.sh because `wafer.world` beside this file names the world."""

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


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        method = method_name(request)
        path, _, query = (request.path_with_query() or "/").partition("?")
        name = read_body(request)
        if not name:
            name = query_param(query, "name") or b"world"
        respond(
            response_out,
            200,
            [
                ("content-type", b"text/plain; charset=utf-8"),
                ("x-wafer-sample", b"hello"),
                ("x-wafer-method", method.encode()),
                ("x-wafer-path", path.encode()),
            ],
            b"Hello, " + name + b"!",
        )


def method_name(request: IncomingRequest) -> str:
    m = request.method()
    return METHODS.get(type(m)) or m.value


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


def query_param(query: str, key: str):
    """Query parameter `key` as samples/README.md defines it: first match, `+` → space, `%XY` decoded."""
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == key:
            return decode(v.encode())
    return None


def decode(v: bytes) -> bytes:
    out = bytearray()
    i = 0
    hexdigits = b"0123456789abcdefABCDEF"
    while i < len(v):
        b = v[i]
        if b == 0x2B:
            out.append(0x20)
        elif b == 0x25 and i + 2 < len(v) and v[i + 1] in hexdigits and v[i + 2] in hexdigits:
            out.append(int(v[i + 1 : i + 3], 16))
            i += 2
        else:
            out.append(b)
        i += 1
    return bytes(out)
