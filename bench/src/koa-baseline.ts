/**
 * @module bench/koa-baseline
 * The baseline the host is measured against: a bare Koa server answering what `hello-<lang>`
 * answers (`Hello, <body>!` with the same headers and an invocation id), in JavaScript, with no
 * router, no envelope and no WebAssembly. It runs in its own process like the host, and the
 * same client code measures both.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';

/** Bodies larger than this are refused; the bench sends 100 bytes. */
const MAX_BODY = 1024 * 1024;

export function createKoaBaseline(): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) ctx.throw(413);
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const name = body.length > 0 ? body : Buffer.from('world');
    ctx.status = 200;
    ctx.set('content-type', 'text/plain; charset=utf-8');
    ctx.set('x-wafer-sample', 'hello');
    ctx.set('x-wafer-method', ctx.method);
    ctx.set('x-wafer-path', '/');
    ctx.set('x-wafer-invocation-id', randomUUID());
    ctx.body = Buffer.concat([Buffer.from('Hello, '), name, Buffer.from('!')]);
  });
  return app;
}

/** Starts the baseline on `port` (0 picks one) with the host's keep-alive settings. */
export async function startKoaBaseline(port = 0, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
  const server = createServer(createKoaBaseline().callback());
  server.keepAliveTimeout = 65_000;
  server.listen(port, host);
  await once(server, 'listening');
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, server };
}
