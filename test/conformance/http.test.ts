/**
 * wasi:http conformance: every case of http-cases.ts against every wasi:http sample (http-hello
 * and http-echo in Rust, TypeScript and Python) and against a component built by another
 * project's toolchain (the wstd crate's http_server example, test/fixtures/wstd-http-server/),
 * on the wasmtime engine; then the failure modes, on the http-probe fixture and the wstd
 * example's failing routes. jco does not run the world: every one of them is refused at upload
 * with abi_mismatch saying which engine does.
 *
 * The Python samples (componentize-py) import wasi:sockets, as CPython's runtime does: they
 * need the host to accept those imports (host/src/executors/wasi-http.ts and the addon's
 * ALLOWED_IMPORTS in host/native/src/http.rs; the store allows no network either way).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { ask, CASES, expected, FAILURES, relevant, type Ask, type Kind } from './http-cases.js';

const WORLD = 'wasi:http/proxy@0.2.x';
const LANGS = ['rust', 'ts', 'python'] as const;

interface Subject {
  fn: string;
  kind: Kind;
  bytes: () => Promise<Buffer>;
}

const SUBJECTS: Subject[] = [
  ...LANGS.flatMap((lang): Subject[] => [
    { fn: `http-hello-${lang}`, kind: 'hello', bytes: () => sample(`http-hello-${lang}`) },
    { fn: `http-echo-${lang}`, kind: 'echo', bytes: () => sample(`http-echo-${lang}`) },
  ]),
  { fn: 'wstd', kind: 'wstd', bytes: () => fixture('wstd-http-server') },
];

interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** One raw HTTP exchange (response headers in the order sent); rejects when the connection is cut. */
function exchange(url: string, a: Ask): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Array<[string, string]> = [...a.headers];
    if (a.chunks) headers.push(['transfer-encoding', 'chunked']);
    else if (a.body) headers.push(['content-length', String(a.body.length)]);
    // A repeated name is sent as one line per value, in order (names in the order they first come).
    const grouped: Record<string, string[]> = {};
    for (const [name, value] of headers) (grouped[name] ??= []).push(value);
    const req = request(url, { method: a.method, headers: grouped }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () => {
        if (!res.complete) return reject(new Error('response cut short'));
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    if (a.chunks) {
      for (const chunk of a.chunks) req.write(chunk);
      req.end();
    } else req.end(a.body);
  });
}

describe('wasi:http conformance on wasmtime', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost('wasmtime');
    await host.deploy('wstd-short', await fixture('wstd-http-server'), '?timeout_ms=300');
    const probe = await fixture('http-probe');
    await host.deploy('probe', probe);
    await host.deploy('probe-short', probe, '?timeout_ms=300');
    await host.deploy('probe-small', probe, '?memory_mb=8');
  }, 240_000);
  afterAll(() => host?.destroy());

  describe.each(SUBJECTS.map((s) => [s.fn, s] as const))('%s', (fn, s) => {
    // Each subject is deployed by its own group, so one that is refused fails only its cases.
    beforeAll(async () => {
      await host.deploy(fn, await s.bytes());
    }, 120_000);
    const applicable = CASES.filter((c) => ask(s.kind, c) !== undefined);
    it.each(applicable.map((c) => [c.name, c] as const))('%s', async (_, c) => {
      const want = expected(s.kind, c);
      const got = await exchange(`${host.url}/fn/${fn}${ask(s.kind, c)!.target}`, ask(s.kind, c)!);
      expect(got.status).toBe(want.status);
      if (want.headers) expect(got.headers.filter(([name]) => relevant(s.kind, name))).toEqual(want.headers);
      if (want.body instanceof RegExp) expect(got.body.toString('latin1')).toMatch(want.body);
      else expect(got.body.equals(want.body), `body differs: got ${got.body.length} bytes: ${got.body.subarray(0, 80).toString('latin1')}`).toBe(true);
    });
  });

  describe('failure modes', () => {
    beforeAll(async () => {
      if (!(await host.api('GET', '/v1/functions/wstd')).ok) await host.deploy('wstd', await fixture('wstd-http-server'));
    }, 120_000);
    const rows = FAILURES.flatMap((f) => [
      ...(f.probe ? [[`${f.name} (http-probe)`, f, f.probe] as const] : []),
      ...(f.wstd ? [[`${f.name} (wstd)`, f, f.wstd] as const] : []),
    ]);
    it.each(rows)('%s', async (_, f, where) => {
      const got = await exchange(`${host.url}/fn/${where.fn}${where.target}`, { method: 'GET', target: where.target, headers: [] }).catch(
        (err: Error) => err,
      );
      if (got instanceof Error) {
        // Only a failure after the headers may end the connection instead of answering.
        expect(f.cut, `the connection was cut: ${got.message}`).toBe(true);
        return;
      }
      expect(got.status).toBe(f.status);
      expect(JSON.parse(got.body.toString()).error.code).toBe(f.code);
    });

    it('leaves the misbehaving components answering afterwards', async () => {
      for (const fn of ['probe', 'probe-short', 'probe-small']) {
        expect((await exchange(`${host.url}/fn/${fn}/echo`, { method: 'POST', target: '/echo', headers: [], body: Buffer.from('still') })).body.toString()).toBe('still');
      }
      for (const fn of ['wstd', 'wstd-short']) {
        expect((await exchange(`${host.url}/fn/${fn}/echo`, { method: 'POST', target: '/echo', headers: [], body: Buffer.from('still') })).body.toString()).toBe('still');
      }
    });
  });
});

describe('wasi:http conformance on jco', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost('jco');
  });
  afterAll(() => host?.destroy());

  it.each(SUBJECTS.map((s) => [s.fn, s] as const))('refuses %s at upload with abi_mismatch naming the engine that runs it', async (_, s) => {
    const res = await host.api('PUT', `/v1/functions/${s.fn}`, await s.bytes());
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('abi_mismatch');
    expect(error.message).toContain(WORLD);
    expect(error.message).toContain('--engine wasmtime');
  });
});
