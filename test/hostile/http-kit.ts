/**
 * Pieces shared by the HTTP-edge hostile tests (test/hostile/http-*.test.ts): raw-socket
 * requests, where fetch would normalise a path or hide how a connection ended, and small
 * hand-written components built inline with jco's `parse`.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { parse } from '@bytecodealliance/jco';
import { encodeResponse, type GuestResponse } from '../../host/src/abi/envelope.js';
import { ALLOC, LIFT } from '../fixtures/kit.mjs';

/** What a raw exchange saw: the bytes answered, whether the server closed, and how long it took. */
export interface RawExchange {
  text: string;
  status: number | undefined;
  /** The server ended the connection (FIN) or reset it. */
  closed: boolean;
  reset: boolean;
  ms: number;
}

/** Opens a raw TCP connection to the host at `url`. */
export async function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/**
 * Collects what the server sends on `socket` until it closes the connection or `waitMs` passes,
 * then destroys the socket.
 */
export function collect(socket: Socket, waitMs: number): Promise<RawExchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let reset = false;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: match ? Number(match[1]) : undefined, closed, reset, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
    });
    socket.on('close', () => done(true));
  });
}

/** Sends `head` (a request line and headers, CRLF-separated) and collects the answer. */
export async function rawRequest(url: string, head: string, waitMs = 5_000): Promise<RawExchange> {
  const socket = await openSocket(url);
  socket.write(head.replace(/\n/g, '\r\n'));
  return collect(socket, waitMs);
}

/** The JSON error body of a raw answer, if it has one. */
export function rawErrorCode(exchange: RawExchange): string | undefined {
  const body = exchange.text.slice(exchange.text.indexOf('\r\n\r\n') + 4);
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** An answer read whole by `send`. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Header names and values exactly as sent, in order. */
  rawHeaders: string[];
  body: Buffer;
  /** The JSON error code, when the body is a wafer error. */
  code: string | undefined;
}

/**
 * One request with `node:http`, the path sent exactly as given (fetch would normalise it), on a
 * connection of its own.
 */
export function send(url: string, method: string, path: string, options: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), method, path, agent: false, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let code: string | undefined;
        try {
          code = (JSON.parse(body.toString('utf8')) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body, code });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Bytes as a WAT data string. */
function watString(bytes: Uint8Array): string {
  return [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
}

/**
 * A component whose `handle` answers `response` as its ok bytes, whatever the request: the way
 * to make a guest say exactly what a hostile guest would.
 */
export async function respondingComponent(response: Partial<GuestResponse>): Promise<Uint8Array> {
  const bytes = encodeResponse(response);
  return parse(`(component
  (core module $m
    ${ALLOC}
    (data (i32.const 64) "${watString(bytes)}")
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (call $ok (i32.const 64) (i32.const ${bytes.length}))))
  ${LIFT})`);
}

/**
 * A component that answers a valid `Response` whose body is `size` bytes (zeros and whatever
 * the request left in memory): valid output that is only too large.
 */
export async function largeResponseComponent(size: number): Promise<Uint8Array> {
  const varint: number[] = [];
  for (let n = size; ; n = Math.floor(n / 128)) {
    if (n < 128) { varint.push(n); break; }
    varint.push((n % 128) | 128);
  }
  const head = Uint8Array.from([0x1a, ...varint]); // field 3 (body), length-delimited
  const pages = Math.ceil((64 + head.length + size) / 65536) + 1;
  return parse(`(component
  (core module $m
    ${ALLOC}
    (data (i32.const 64) "${watString(head)}")
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (if (i32.lt_u (memory.size) (i32.const ${pages}))
        (then (drop (memory.grow (i32.sub (i32.const ${pages}) (memory.size))))))
      (call $ok (i32.const 64) (i32.const ${head.length + size}))))
  ${LIFT})`);
}

/** What a fetch made by another process saw: the status and error code, or the failure. */
export interface ChildFetch {
  status?: number;
  code?: string;
  /** Set when fetch failed: the cause's code (EPIPE, ECONNRESET, …) or message. */
  failure?: string;
}

/**
 * Sends `count` requests with a plain `fetch` from another Node process, each with a body of
 * `bytes` bytes, declared (`Content-Length`) or streamed chunked. Another process, because a
 * client sharing the host's event loop never races the host's socket close the way a real one does.
 */
export async function fetchFromChild(
  url: string,
  init: { method: string; headers?: Record<string, string>; bytes: number; chunked: boolean },
  count: number,
): Promise<ChildFetch[]> {
  const script = `
    const [url, init, count] = JSON.parse(process.argv[1]);
    const body = () => init.chunked
      ? new ReadableStream({ sent: 0, pull(c) { if (this.sent >= init.bytes) return c.close(); const n = Math.min(65536, init.bytes - this.sent); this.sent += n; c.enqueue(new Uint8Array(n).fill(97)); } })
      : new Uint8Array(init.bytes).fill(97);
    const results = [];
    for (let i = 0; i < count; i++) {
      try {
        const res = await fetch(url, { method: init.method, headers: init.headers, body: body(), duplex: 'half' });
        const text = await res.text();
        let code;
        try { code = JSON.parse(text).error?.code; } catch {}
        results.push({ status: res.status, code });
      } catch (err) {
        results.push({ failure: String(err.cause?.code ?? err.cause?.message ?? err.message) });
      }
    }
    process.stdout.write(JSON.stringify(results));`;
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([url, init, count])], { maxBuffer: 1 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout) as ChildFetch[]),
    );
  });
}
