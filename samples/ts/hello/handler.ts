/**
 * hello — greets (samples/README.md): the name is the body if not empty, else query parameter
 * `name` if not empty, else "world". The body is echoed as bytes, binary or not.
 */
import type { Request, Response } from '@wafer/sdk';

const encoder = new TextEncoder();
const WORLD = encoder.encode('world');
const PREFIX = encoder.encode('Hello, ');
const SUFFIX = encoder.encode('!');

export function handle(req: Request): Response {
  let name = req.body;
  if (name.length === 0) {
    const fromQuery = req.queryParam('name');
    name = fromQuery?.length ? fromQuery : WORLD;
  }
  const body = new Uint8Array(PREFIX.length + name.length + SUFFIX.length);
  body.set(PREFIX, 0);
  body.set(name, PREFIX.length);
  body.set(SUFFIX, PREFIX.length + name.length);
  return {
    status: 200,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['x-wafer-sample', 'hello'],
      ['x-wafer-method', req.method],
      ['x-wafer-path', req.path],
    ],
    body,
  };
}
