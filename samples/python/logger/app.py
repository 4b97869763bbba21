"""logger — uses WASI stdout, stderr, clocks and random (samples/README.md)."""

import os
import sys
import time

from wafer import Request, Response


def handle(req: Request) -> Response:
    start = time.monotonic_ns()
    print(f"logger: {req.method} {req.path}", flush=True)
    print("logger: done", file=sys.stderr, flush=True)
    now_ms = time.time_ns() // 1_000_000
    random_hex = os.urandom(8).hex()
    elapsed_ns = time.monotonic_ns() - start
    body = '{"now_ms":%d,"elapsed_ns":%d,"random":"%s"}' % (now_ms, elapsed_ns, random_hex)
    return Response(200, [("content-type", "application/json"), ("x-wafer-sample", "logger")], body)
