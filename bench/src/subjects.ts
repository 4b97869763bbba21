/**
 * @module bench/subjects
 * The components measured: the hand-written fixtures (`wat`: `echo.wasm` in process, where the
 * bytes need not be an envelope; `respond.wasm` over HTTP) and the `hello-<lang>` samples that
 * are built, plus the 100-byte inputs and a salt that makes a copy compile afresh.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRequest } from '../../host/src/abi/envelope.js';
import { ROOT, SAMPLES_DIST } from '../../host/src/paths.js';

export const FIXTURES_DIST = join(ROOT, 'test', 'fixtures', 'dist');

/** One component to measure. */
export interface Subject {
  language: string;
  /** Display name: `echo.wasm`, `hello-rust`, … */
  function: string;
  /** Name it is deployed under on a host. */
  deployName: string;
  path: string;
  size: number;
  /** True for the envelope-speaking samples; false for the fixtures (echo answers its input as is). */
  envelope: boolean;
}

/** Above this size a component takes seconds to compile with Cranelift, so fewer compile samples. */
export const LARGE_COMPONENT_BYTES = 1_000_000;

function subject(language: string, fn: string, deployName: string, path: string, envelope: boolean): Subject | undefined {
  if (!existsSync(path)) return undefined;
  return { language, function: fn, deployName, path, size: statSync(path).size, envelope };
}

/** The in-process subjects: `echo.wasm`, then `hello-<lang>` for each built language asked for. */
export function inProcessSubjects(languages: readonly string[]): Subject[] {
  return [subject('wat', 'echo.wasm', 'echo', join(FIXTURES_DIST, 'echo.wasm'), false), ...samples(languages)].filter(isSubject);
}

/** The HTTP subjects: `respond.wasm` (a fixed Response), then `hello-<lang>`. */
export function httpSubjects(languages: readonly string[]): Subject[] {
  return [subject('wat', 'respond.wasm', 'respond', join(FIXTURES_DIST, 'respond.wasm'), true), ...samples(languages)].filter(isSubject);
}

function samples(languages: readonly string[]): (Subject | undefined)[] {
  return languages.map((lang) => subject(lang, `hello-${lang}`, `hello-${lang}`, join(SAMPLES_DIST, `hello-${lang}.wasm`), true));
}

function isSubject(s: Subject | undefined): s is Subject {
  return s !== undefined;
}

/** The languages among `languages` whose hello sample is not built. */
export function missingLanguages(languages: readonly string[]): string[] {
  return languages.filter((lang) => !existsSync(join(SAMPLES_DIST, `hello-${lang}.wasm`)));
}

export function readSubject(s: Subject): Uint8Array {
  return readFileSync(s.path);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A copy of `bytes` with a custom section appended (`wafer-bench-salt`, 16 random bytes). Engines
 * ignore custom sections, so it compiles to the same code, but its digest is new: every cache
 * misses and the upload is compiled from scratch.
 */
export function salted(bytes: Uint8Array): Uint8Array {
  const name = Buffer.from('wafer-bench-salt');
  const payload = Buffer.concat([uleb(name.length), name, randomBytes(16)]);
  return Buffer.concat([bytes, Buffer.from([0x00]), uleb(payload.length), payload]);
}

function uleb(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return Buffer.from(out);
}

/** Exactly 100 bytes of input for `s`: raw bytes for a fixture, an encoded `Request` for a sample. */
export function input100(s: Subject): Uint8Array {
  if (!s.envelope) return new Uint8Array(100).fill(0x61);
  const encode = (bodyLength: number) =>
    encodeRequest({
      method: 'POST',
      path: '/',
      query: '',
      headers: [{ name: 'content-type', value: 'text/plain' }],
      body: new Uint8Array(bodyLength).fill(0x61),
      invocationId: '00000000-0000-4000-8000-000000000000',
      deadlineMs: 0,
    });
  // The body's length prefix may change width as it grows, so search rather than subtract.
  for (let body = 0; body < 100; body++) {
    const bytes = encode(body);
    if (bytes.length === 100) return bytes;
    if (bytes.length > 100) break;
  }
  throw new Error('cannot build a 100-byte request envelope');
}

/** The HTTP request every HTTP scenario sends (the Koa baseline included): a 100-byte POST body. */
export const HTTP_BODY = Buffer.alloc(100, 0x61);
export const HTTP_HEADERS = { 'content-type': 'text/plain' } as const;
