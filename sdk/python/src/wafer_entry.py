"""The module componentize-py wraps: it exports the world `handler` by calling `app.handle`.

build.sh puts the SDK and the function's directory on the Python path, so `app` is the
user's `app.py`. It is imported at build time (componentize-py pre-initialises the
component), so module-level work in app.py is done once, not on every call.
"""

import wit_world
from componentize_py_types import Err

import app
from wafer._glue import call as _call

_handler = getattr(app, "handle", None)
if not callable(_handler):
    raise RuntimeError("app.py must define a function handle(req: wafer.Request) -> wafer.Response")


class WitWorld(wit_world.WitWorld):
    def handle(self, request: bytes) -> bytes:
        ok, value = _call(_handler, request)
        if ok:
            return value
        raise Err(value)
