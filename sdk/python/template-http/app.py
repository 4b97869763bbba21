"""{{name}} — a standard wasi:http/proxy function: the host hands every HTTP request to
/fn/{{name}}[/<rest>] to `IncomingHandler.handle`. No wafer SDK: componentize-py's bindings of
the world (`wit_world`), so the same component runs on any wasi:http host. `wafer.world` tells
`npx wafer build .` to target that world; see docs/python.md.

Bindings for an editor: `componentize-py -d <wafer>/sdk/wasi-http/wit -w proxy bindings .`
"""

from urllib.parse import parse_qs

from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.types import Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        query = (request.path_with_query() or "/").partition("?")[2]
        name = parse_qs(query).get("name", ["world"])[0]

        response = OutgoingResponse(Fields.from_list([("content-type", b"text/plain; charset=utf-8")]))
        body = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        data = f"Hello, {name}!\n".encode()
        with body.write() as stream:
            # blocking-write-and-flush takes at most 4096 bytes a call.
            for at in range(0, len(data), 4096):
                stream.blocking_write_and_flush(data[at : at + 4096])
        OutgoingBody.finish(body, None)
