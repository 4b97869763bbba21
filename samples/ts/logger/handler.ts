/**
 * logger — uses WASI stdout, stderr, clocks and random (samples/README.md). Built with WASI
 * enabled (build.mjs sees `console`, `Date`, `performance` and `crypto` and links them).
 */
import type { Request, Response } from '@wafer/sdk';

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function handle(req: Request): Response {
  const started = performance.now(); // monotonic clock, milliseconds as a fraction
  console.log(`logger: ${req.method} ${req.path}`);
  const nowMs = Date.now(); // wall clock
  const random = crypto.getRandomValues(new Uint8Array(8));
  const elapsedNs = Math.round((performance.now() - started) * 1e6);
  console.error('logger: done');
  return {
    status: 200,
    headers: [
      ['content-type', 'application/json'],
      ['x-wafer-sample', 'logger'],
    ],
    body: `{"now_ms":${nowMs},"elapsed_ns":${elapsedNs},"random":"${hex(random)}"}`,
  };
}
