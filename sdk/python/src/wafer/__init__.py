"""wafer: write a WebAssembly function for the wafer host in Python.

    from wafer import Request, Response

    def handle(req: Request) -> Response:
        return Response(200, [("content-type", "text/plain")], "hi")

`sdk/python/build.sh <dir> <out.wasm>` turns a directory holding such an `app.py`
into a component of the world `wafer:function/handler@1.0.0`.
"""

from ._glue import FunctionError
from ._message import Request, Response
from ._query import query_param, unescape

__all__ = ["FunctionError", "Request", "Response", "query_param", "unescape"]
__version__ = "0.1.0"
