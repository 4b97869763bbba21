/**
 * Shared builders for the hostile corpus: guests written inline in the component text format
 * (built with jco's `parse`, like scripts/build-fixtures.mjs), a healthy-function check every
 * case runs while and after it misbehaves, and a raw-socket client for requests whose framing
 * a normal HTTP client would refuse to send.
 */
import { connect } from 'node:net';
import { parse } from '@bytecodealliance/jco';
import { expect } from 'vitest';
import { ALLOC, LIFT_HANDLE } from '../fixtures/kit.mjs';
import { errorOf, fixture, type TestHost } from '../helpers/host.js';

/** The ABI's type of `handle`, for components that lift it themselves. */
export const HANDLE_TYPE = '(param "request" (list u8)) (result (result (list u8) (error string)))';

/** A valid `wafer.v1.Response` (status 200, body "ok") as a WAT data string, and its length. */
export const OK_RESPONSE = { data: '\\08\\c8\\01\\1a\\02ok', length: 7 };

/**
 * The end of a core `handle` that answers OK_RESPONSE (placed at 64 by the guest's data): writes
 * `ok(list)` into the return area at 16 and returns it.
 */
export const RETURN_OK = `(i32.store8 (i32.const 16) (i32.const 0))
      (i32.store (i32.const 20) (i32.const 64))
      (i32.store (i32.const 24) (i32.const ${OK_RESPONSE.length}))
      (i32.const 16)`;

/** Lifts core instance `$i`'s `handle` as wafer's handle, with `$mem` (the fixtures' ALLOC module) as memory and allocator. */
export const LIFT_HANDLE_MEM = `(func (export "handle") ${HANDLE_TYPE}
    (canon lift (core func $i "handle") (memory (core memory $mem "memory"))
      (realloc (core func $mem "cabi_realloc")) (post-return (core func $mem "cabi_post_handle"))))`;

export interface GuestOptions {
  /** Extra fields of the core module (data, tables, globals, helper functions, a start function). */
  fields?: string;
  /** Replaces the standard memory + bump allocator + `$ok` helper (ALLOC). */
  alloc?: string;
  /** Replaces the whole `canon lift` of `handle` (to change realloc or post-return). */
  lift?: string;
}

/**
 * Component text whose core `handle(ptr, len) -> i32` runs `body`. `body` may call `$ok(ptr, len)`
 * (writes ok(list) at the return area 16 and returns 16) and use the memory and `cabi_realloc`.
 */
export function guest(body: string, options: GuestOptions = {}): string {
  return `(component
  (core module $m
    ${options.alloc ?? ALLOC}
    ${options.fields ?? ''}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      ${body}))
  (core instance $i (instantiate $m))
  ${options.lift ?? LIFT_HANDLE})`;
}

/** A guest that answers the fixed valid Response (200 "ok") when `before` returns normally. */
export function answering(before: string, options: GuestOptions = {}): string {
  return guest(`${before}\n      (call $ok (i32.const 64) (i32.const ${OK_RESPONSE.length}))`, {
    ...options,
    fields: `(data (i32.const 64) "${OK_RESPONSE.data}")\n    ${options.fields ?? ''}`,
  });
}

/** A guest whose `handle` returns `retptr` after writing `stores` (raw canonical-ABI results). */
export function returning(stores: string, retptr: string, fields = ''): string {
  return guest(`${stores}\n      ${retptr}`, { fields });
}

/**
 * A guest importing wasi:cli stdout and stderr that writes `chunk` bytes of `x` to `stream`
 * `times` times, then answers 200 "ok". `chunk` is at most 4096, the most one blocking-write-and-flush
 * may take.
 */
export function chatty(stream: 'stdout' | 'stderr', chunk: number, times: number): string {
  return `(component
  (import "wasi:io/error@0.2.0" (instance $error (export "error" (type (sub resource)))))
  (alias export $error "error" (type $err))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "error" (type $e (eq $err)))
    (export "output-stream" (type $os (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $e)) (case "closed")))
    (export "stream-error" (type $se2 (eq $se)))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $se2)))))))
  (alias export $streams "output-stream" (type $os))
  (import "wasi:cli/${stream}@0.2.0" (instance $out
    (export "output-stream" (type $o (eq $os)))
    (export "get-${stream}" (func (result (own $o))))))
  (core module $memmod ${ALLOC})
  (core instance $mem (instantiate $memmod))
  (core func $get (canon lower (func $out "get-${stream}")))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory (core memory $mem "memory"))))
  (core func $drop (canon resource.drop $os))
  (core module $main
    (import "env" "memory" (memory 1))
    (import "env" "get" (func $get (result i32)))
    (import "env" "write" (func $write (param i32 i32 i32 i32)))
    (import "env" "drop" (func $drop (param i32)))
    (data (i32.const 64) "${OK_RESPONSE.data}")
    (func (export "handle") (param $p i32) (param $l i32) (result i32) (local $h i32) (local $n i32)
      ;; a line of x's ending in a newline, ${chunk} bytes at 8192
      (memory.fill (i32.const 8192) (i32.const 120) (i32.const ${chunk}))
      (i32.store8 (i32.const ${8192 + chunk - 1}) (i32.const 10))
      (local.set $h (call $get))
      (loop $more
        (call $write (local.get $h) (i32.const 8192) (i32.const ${chunk}) (i32.const 32))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $n) (i32.const ${times}))))
      (call $drop (local.get $h))
      ${RETURN_OK}))
  (core instance $i (instantiate $main (with "env" (instance
    (export "memory" (memory $mem "memory"))
    (export "get" (func $get))
    (export "write" (func $write))
    (export "drop" (func $drop))))))
  ${LIFT_HANDLE_MEM})`;
}

/** Builds component text into a binary. */
export async function build(text: string): Promise<Uint8Array> {
  return parse(text);
}

/** Deploys the healthy function every case checks, under the name `ok`. */
export async function deployHealthy(host: TestHost): Promise<void> {
  await host.deploy('ok', await fixture('respond'));
}

/** The healthy function answers 200 "ok". */
export async function expectHealthy(host: TestHost): Promise<void> {
  const res = await host.call('ok');
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('ok');
}

/**
 * Runs a hostile `act` while the healthy function is called alongside it, then checks the host
 * still answers /healthz and the healthy function. Returns what `act` returned.
 */
export async function whileHealthy<T>(host: TestHost, act: () => Promise<T>): Promise<T> {
  const [result] = await Promise.all([act(), expectHealthy(host)]);
  expect((await fetch(`${host.url}/healthz`)).status).toBe(200);
  await expectHealthy(host);
  return result;
}

/** Calls `name` and checks the answer is exactly `status` with error `code`; returns the message. */
export async function expectCallError(host: TestHost, name: string, status: number, code: string, init?: RequestInit): Promise<string> {
  const res = await host.call(name, '', init);
  const text = await res.text();
  let error: { code?: string; message?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
  } catch {
    // Not a wafer error body: compare what arrived so the failure says so.
  }
  const got = { status: res.status, code: error?.code ?? `(not an error body: ${text.length} bytes, ${JSON.stringify(text.slice(0, 40))})` };
  expect(got).toEqual({ status, code });
  return error?.message ?? '';
}

/** Uploads `bytes` as `name` and returns the status and error code (or `ok` for 201). */
export async function upload(host: TestHost, name: string, bytes: Uint8Array, query = ''): Promise<{ status: number; code: string; ms: number }> {
  const started = Date.now();
  const res = await host.api('PUT', `/v1/functions/${name}${query}`, bytes, { 'content-type': 'application/wasm' });
  const ms = Date.now() - started;
  if (res.status === 201) {
    await res.arrayBuffer();
    return { status: 201, code: 'ok', ms };
  }
  return { status: res.status, code: (await errorOf(res)).code, ms };
}

/** One raw exchange over a socket: what the server wrote back and whether it closed the connection. */
export interface RawExchange {
  text: string;
  /** Status codes of every HTTP response found in `text`, in order. */
  statuses: number[];
  closedByServer: boolean;
}

/**
 * Writes `chunks` (strings or bytes) to the host over a raw TCP connection, optionally ends the
 * client's side, and collects everything the server answers until it closes the connection or
 * `waitMs` passes with the connection still open.
 */
export function raw(host: TestHost, chunks: (string | Uint8Array)[], options: { end?: boolean; waitMs?: number } = {}): Promise<RawExchange> {
  const { port, hostname } = new URL(host.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let timedOut = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ text, statuses, closedByServer: !timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
      finish();
    }, options.waitMs ?? 3_000);
    socket.on('data', (data) => received.push(data));
    socket.on('close', finish);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
      reject(err);
    });
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      if (options.end) socket.end();
    });
  });
}

/** Component text with `count` extra core functions that `handle` never calls. */
export function manyFunctions(count: number): string {
  const fields = Array.from({ length: count }, (_, i) => `(func $f${i} (param i32) (result i32) (i32.add (local.get 0) (i32.const ${i})))`).join('\n    ');
  return answering('', { fields });
}

/** Component text exporting `count` functions beside `handle`. */
export function manyExports(count: number): string {
  const core = Array.from({ length: count }, (_, i) => `(func (export "e${i}") (result i32) (i32.const ${i}))`).join('\n    ');
  const lifts = Array.from({ length: count }, (_, i) => `(func (export "e${i}") (result u32) (canon lift (core func $i "e${i}")))`).join('\n  ');
  return answering('', { fields: core }).replace(/\)\s*$/, `\n  ${lifts})`);
}

/** Component text importing one WASI interface instance with `count` functions it never calls. */
export function manyImports(count: number): string {
  const funcs = Array.from({ length: count }, (_, i) => `(export "f${i}" (func))`).join(' ');
  return answering('').replace('(component', `(component\n  (import "wasi:cli/environment@0.2.0" (instance ${funcs}))`);
}

/** Component text importing `count` distinct (made-up) WASI interfaces. */
export function manyInterfaces(count: number): string {
  const imports = Array.from({ length: count }, (_, i) => `(import "wasi:hostile${i}/api@0.2.0" (instance (export "f" (func))))`).join('\n  ');
  return answering('').replace('(component', `(component\n  ${imports}`);
}

/** Component text defining `count` component-level types that nothing uses. */
export function manyTypes(count: number): string {
  const types = Array.from({ length: count }, (_, i) => `(type $t${i} (record (field "a${i}" u32) (field "b" (list string))))`).join('\n  ');
  return answering('').replace('(component', `(component\n  ${types}`);
}

/** Component text nesting `depth` empty components inside one another beside a good `handle`. */
export function nested(depth: number): string {
  const inner = '(component '.repeat(depth) + ')'.repeat(depth);
  return answering('').replace('(component', `(component\n  ${inner}`);
}

/** Component text whose `handle` runs inside `depth` nested blocks. */
export function deepBlocks(depth: number): string {
  return answering(`${'(block '.repeat(depth)}${')'.repeat(depth)}`);
}

/** Component text with a function declaring `count` locals. */
export function manyLocals(count: number): string {
  return answering('(drop (call $wide))', { fields: `(func $wide (result i32) (local ${'i64 '.repeat(count)}) (i32.const 0))` });
}
