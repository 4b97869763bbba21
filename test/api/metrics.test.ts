/**
 * Metrics (issue 10, item 4): GET /metrics in Prometheus text, every series prefixed `wafer_`:
 * invocations by function, status and code, durations, cold and warm starts, cache hits, misses
 * and evictions, live instances, calls running and queued, compile times and upload sizes; labels
 * bounded to deployed functions; and `--metrics-token`, which makes scraping need a token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../host/src/config.js';
import { ENGINES, errorOf, fixture, startTestHost, type TestHost } from '../helpers/host.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format's samples (comments skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The samples of one scrape, and the sum of those of `name` whose labels include `labels`. */
class Scrape {
  constructor(readonly samples: Sample[]) {}
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((n, s) => n + s.value, 0);
  }
  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }
  /** Every sample that names function `fn`. */
  of(fn: string): Sample[] {
    return this.samples.filter((s) => s.labels.function === fn);
  }
}

async function scrape(host: TestHost, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(`${host.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(parse(await res.text()));
}

/** Scrapes until `ready` holds (a call reaching a state the test waits for), at most ~10 s. */
async function scrapeUntil(host: TestHost, ready: (s: Scrape) => boolean): Promise<Scrape> {
  for (let i = 0; i < 200; i++) {
    const s = await scrape(host);
    if (ready(s)) return s;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the state waited for never showed in /metrics');
}

/** GET of `path` exactly as written (fetch would resolve `/./metrics` to `/metrics` before sending). */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The compilers each engine's deploy of a small component runs. */
const COMPILERS = { wasmtime: ['cranelift'], jco: ['jco', 'v8'] } as const;

describe.each(ENGINES)('GET /metrics on %s', (engine) => {
  let host: TestHost;
  let cacheDir: string;
  beforeAll(async () => {
    // A cache of its own, so this host's deploys compile (the shared test cache would serve them).
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-metrics-cache-'));
    host = await startTestHost(engine, { cacheDir, maxConcurrency: 1 });
  });
  afterAll(async () => {
    await host?.destroy();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('prefixes every series with wafer_, the process metrics too', async () => {
    const s = await scrape(host);
    expect(s.samples.length).toBeGreaterThan(0);
    expect(s.samples.filter((x) => !x.name.startsWith('wafer_')).map((x) => x.name)).toEqual([]);
    expect(s.has('wafer_process_cpu_seconds_total')).toBe(true);
    expect(s.has('wafer_nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('observes the upload size and the compile time of a deploy', async () => {
    const before = await scrape(host);
    const bytes = await fixture('respond');
    await host.deploy('counted', bytes);
    const after = await scrape(host);
    expect(after.sum('wafer_upload_size_bytes_count') - before.sum('wafer_upload_size_bytes_count')).toBe(1);
    expect(after.sum('wafer_upload_size_bytes_sum') - before.sum('wafer_upload_size_bytes_sum')).toBe(bytes.length);
    expect(after.sum('wafer_uploads_total', { outcome: 'ok' }) - before.sum('wafer_uploads_total', { outcome: 'ok' })).toBe(1);
    for (const compiler of COMPILERS[engine]) {
      const labels = { engine, compiler };
      expect(after.sum('wafer_compile_duration_seconds_count', labels) - before.sum('wafer_compile_duration_seconds_count', labels)).toBe(1);
      expect(after.sum('wafer_compile_duration_seconds_sum', labels)).toBeGreaterThan(before.sum('wafer_compile_duration_seconds_sum', labels));
    }
    expect(after.sum('wafer_cache_requests_total', { engine, cache: 'disk', result: 'miss' })).toBeGreaterThan(0);
  });

  it('counts an invocation by function, status and code, with its start and its durations', async () => {
    for (let i = 0; i < 2; i++) expect((await host.call('counted')).status).toBe(200);
    const s = await scrape(host);
    expect(s.sum('wafer_invocations_total', { function: 'counted', status: '200', code: 'ok' })).toBe(2);
    expect(s.sum('wafer_starts_total', { function: 'counted', start: 'cold' })).toBe(1);
    expect(s.sum('wafer_starts_total', { function: 'counted', start: 'warm' })).toBe(1);
    expect(s.sum('wafer_invocation_duration_seconds_count', { function: 'counted' })).toBe(2);
    expect(s.sum('wafer_invocation_duration_seconds_sum', { function: 'counted' })).toBeGreaterThan(0);
    expect(s.sum('wafer_call_duration_seconds_count', { function: 'counted' })).toBe(2);
    // The series wafer had before keeps its name and labels.
    expect(s.sum('wafer_calls_total', { function: 'counted', outcome: 'ok' })).toBe(2);

    await host.deploy('broken', await fixture('trap'));
    expect((await host.call('broken')).status).toBe(500);
    const t = await scrape(host);
    expect(t.sum('wafer_invocations_total', { function: 'broken', status: '500', code: 'trap' })).toBe(1);
    expect(t.sum('wafer_calls_total', { function: 'broken', outcome: 'trap' })).toBe(1);
  });

  it('counts hits of the in-memory cache when a loaded component is deployed again', async () => {
    const before = await scrape(host);
    await host.deploy('again', await fixture('respond'));
    const after = await scrape(host);
    const hits = (s: Scrape) => s.sum('wafer_cache_requests_total', { engine, cache: 'memory', result: 'hit' });
    expect(hits(after) - hits(before)).toBe(1);
    expect(after.sum('wafer_cache_requests_total', { engine, cache: 'memory', result: 'miss' })).toBeGreaterThan(0);
    if (engine === 'jco') {
      const moduleHits = (s: Scrape) => s.sum('wafer_cache_requests_total', { engine, cache: 'module', result: 'hit' });
      expect(moduleHits(after)).toBeGreaterThan(moduleHits(before));
    }
  });

  it('shows instances kept alive between calls', async () => {
    await host.deploy('warm', await fixture('respond'), '?instance=reuse');
    expect((await host.call('warm')).status).toBe(200);
    const s = await scrape(host);
    expect(s.sum('wafer_instances_live', { engine })).toBeGreaterThanOrEqual(1);
  });

  it('shows calls running and queued, host-wide and per deployed function', async () => {
    await host.deploy('spin', await fixture('loop'), '?timeout_ms=1500');
    const idle = await scrape(host);
    expect(idle.has('wafer_function_calls_in_flight', { function: 'spin', state: 'running' })).toBe(true);
    expect(idle.sum('wafer_function_calls_in_flight', { function: 'spin' })).toBe(0);
    const first = host.call('spin');
    await scrapeUntil(host, (s) => s.sum('wafer_function_calls_in_flight', { function: 'spin', state: 'running' }) === 1);
    // --max-concurrency 1: the second call waits for the first.
    const second = host.call('spin');
    const busy = await scrapeUntil(host, (s) => s.sum('wafer_function_calls_in_flight', { function: 'spin', state: 'queued' }) === 1);
    expect(busy.sum('wafer_calls_in_flight', { state: 'running' })).toBeGreaterThanOrEqual(1);
    expect(busy.sum('wafer_calls_in_flight', { state: 'queued' })).toBeGreaterThanOrEqual(1);
    expect((await first).status).toBe(504);
    expect((await second).status).toBe(504);
    const done = await scrape(host);
    expect(done.sum('wafer_function_calls_in_flight', { function: 'spin' })).toBe(0);
    expect(done.sum('wafer_invocations_total', { function: 'spin', status: '504', code: 'timeout' })).toBe(2);
  });

  it('removes every series of a deleted function', async () => {
    expect((await scrape(host)).of('counted').length).toBeGreaterThan(0);
    expect((await host.api('DELETE', '/v1/functions/counted')).status).toBe(204);
    expect((await host.call('counted')).status).toBe(404);
    expect((await scrape(host)).of('counted')).toEqual([]);
  });

  it('never labels a name that is not deployed', async () => {
    expect((await host.call('never-deployed')).status).toBe(404);
    expect((await scrape(host)).of('never-deployed')).toEqual([]);
  });

  it('counts evictions of the in-memory cache', async () => {
    // A cache of one byte holds one component: loading a second evicts the first.
    const small = await startTestHost(engine, { cacheDir, moduleCacheBytes: 1 });
    try {
      await small.deploy('one', await fixture('respond'));
      await small.deploy('two', await fixture('echo'));
      for (const name of ['one', 'two', 'one']) await (await small.call(name)).arrayBuffer();
      const cache = engine === 'wasmtime' ? 'memory' : 'module';
      expect((await scrape(small)).sum('wafer_cache_evictions_total', { engine, cache })).toBeGreaterThan(0);
    } finally {
      await small.destroy();
    }
  });

  it('counts hits of the on-disk cache after a restart', async () => {
    host = await host.restart();
    await host.service.warming;
    expect((await host.call('again')).status).toBe(200);
    expect((await scrape(host)).sum('wafer_cache_requests_total', { engine, cache: 'disk', result: 'hit' })).toBeGreaterThan(0);
  });
});

describe('--metrics-token', () => {
  const engine = ENGINES[0]!;
  let open: TestHost;
  let guarded: TestHost;
  beforeAll(async () => {
    open = await startTestHost(engine);
    guarded = await startTestHost(engine, { metricsToken: 'scrape-me' });
  });
  afterAll(async () => {
    await open?.destroy();
    await guarded?.destroy();
  });

  it('leaves /metrics open when it is not set', async () => {
    expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
  });

  it('refuses a scrape without the token, or with a wrong one, with unauthorized', async () => {
    for (const authorization of [undefined, 'Bearer wrong', 'bearer scrape-me', 'Bearer  scrape-me', 'scrape-me', 'Bearer scrape-mf']) {
      const res = await fetch(`${guarded.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect((await errorOf(res)).code).toBe('unauthorized');
    }
  });

  it('serves the metrics with the metrics token or the management token', async () => {
    for (const token of ['scrape-me', guarded.token]) {
      const res = await fetch(`${guarded.url}/metrics?name=x`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^# HELP wafer_/m);
    }
  });

  it('serves the metrics at /metrics only: other spellings answer 404, with or without the token', async () => {
    for (const path of ['/METRICS', '/Metrics', '/metrics/', '//metrics', '/%6Detrics', '/metrics%2F', '/./metrics', '/x/../metrics']) {
      for (const headers of [{}, { authorization: 'Bearer scrape-me' }]) {
        const res = await rawGet(guarded.url, path, headers);
        expect(res.status, path).toBe(404);
        expect(res.body).not.toMatch(/wafer_process/);
      }
    }
    const head = await fetch(`${guarded.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });

  it('is read from WAFER_METRICS_TOKEN, and a flag overrides it', () => {
    expect(loadConfig({}, { WAFER_METRICS_TOKEN: 'from-env' }).metricsToken).toBe('from-env');
    expect(loadConfig({ metricsToken: 'from-flag' }, { WAFER_METRICS_TOKEN: 'from-env' }).metricsToken).toBe('from-flag');
    expect(loadConfig({}, {}).metricsToken).toBeUndefined();
  });
});
