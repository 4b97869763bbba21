/**
 * Usage metering (issue 10, item 3): every call's cost in its response headers, and per-function
 * totals (invocations, errors by code, cold starts, GB-seconds, fuel, peak memory) in minute and
 * hour buckets, kept across restarts and served at GET /v1/functions/{name}/usage?from=&to=.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../host/src/config.js';
import type { UsageCounters } from '../../host/src/functions/usage.js';
import { ENGINES, errorOf, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';

type Counters = UsageCounters;

interface Usage {
  name: string;
  granularity: 'minute' | 'hour';
  from: string;
  to: string;
  totals: Counters;
  lifetime: Counters;
  buckets: Array<{ start: string } & Counters>;
}

async function usage(host: TestHost, name: string, query = ''): Promise<Usage> {
  const res = await host.api('GET', `/v1/functions/${name}/usage${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Usage;
}

describe.each(ENGINES)('usage metering on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
  });
  afterAll(() => host?.destroy());

  it('answers every call with its invocation id, duration in µs, and whether it started cold', async () => {
    await host.deploy('hello', await sample('hello-rust'));
    const first = await host.call('hello');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-wafer-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.headers.get('x-wafer-duration-us')).toMatch(/^\d+$/);
    expect(first.headers.get('x-wafer-start')).toBe('cold');
    const second = await host.call('hello');
    expect(second.headers.get('x-wafer-start')).toBe('warm');
    expect(Number(second.headers.get('x-wafer-duration-us'))).toBeGreaterThan(0);
  });

  it('puts the same headers on the error answer of a call that failed', async () => {
    await host.deploy('boom', await fixture('err'));
    const res = await host.call('boom');
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe('function_error');
    expect(res.headers.get('x-wafer-invocation-id')).toBeTruthy();
    expect(res.headers.get('x-wafer-duration-us')).toMatch(/^\d+$/);
    expect(res.headers.get('x-wafer-start')).toBe('cold');
    expect(res.headers.get('x-wafer-version')).toBe('1');
  });

  it('totals invocations, errors by code, cold starts, GB-seconds and peak memory per function', async () => {
    await host.deploy('mixed', await fixture('respond'));
    for (let i = 0; i < 3; i++) await (await host.call('mixed')).arrayBuffer();
    await host.deploy('mixed', await fixture('trap'));
    for (let i = 0; i < 2; i++) await (await host.call('mixed')).arrayBuffer();
    const { totals, lifetime, buckets, granularity } = await usage(host, 'mixed');
    expect(granularity).toBe('minute');
    expect(totals).toEqual(lifetime);
    expect(totals).toMatchObject({ invocations: 5, errors: { trap: 2 }, cold_starts: 2, fuel: 0 });
    expect(totals.gb_seconds).toBeGreaterThan(0);
    expect(totals.peak_memory_bytes).toBeGreaterThan(0);
    expect(totals.duration_us).toBeGreaterThan(0);
    expect(totals.wall_us).toBeGreaterThanOrEqual(totals.duration_us - 5 * 1000);
    expect(buckets.reduce((n, b) => n + b.invocations, 0)).toBe(5);
    const hourly = await usage(host, 'mixed', '?granularity=hour');
    expect(hourly.buckets.length).toBeGreaterThanOrEqual(1);
    expect(hourly.totals.invocations).toBe(5);
  });

  it('answers a window with the buckets in it, rounded out to whole buckets', async () => {
    const past = await usage(host, 'mixed', '?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z');
    expect(past).toMatchObject({ granularity: 'hour', from: '2020-01-01T00:00:00.000Z', to: '2020-01-02T00:00:00.000Z', buckets: [] });
    expect(past.totals.invocations).toBe(0);
    expect(past.lifetime.invocations).toBe(5);
    const now = Date.now();
    const recent = await usage(host, 'mixed', `?from=${now - 120_000}&to=${now + 1}`);
    expect(recent.totals.invocations).toBe(5);
    expect(Date.parse(recent.from) % 60_000).toBe(0);
  });

  it('refuses a bad from, to or granularity with 400 invalid_request, an unknown function with 404, and no token with 401', async () => {
    for (const query of ['?from=soon', '?to=2026-02-30Tnoon', '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', '?granularity=day', '?from=1e9']) {
      const res = await host.api('GET', `/v1/functions/mixed/usage${query}`);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).code).toBe('invalid_request');
    }
    const missing = await host.api('GET', '/v1/functions/nobody/usage');
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
    expect((await fetch(`${host.url}/v1/functions/mixed/usage`)).status).toBe(401);
    expect((await fetch(`${host.url}/V1/Functions/mixed/usage/`)).status).toBe(401);
  });

  it('keeps usage across a restart', async () => {
    // A component no other function here has loaded, so its first call is cold.
    await host.deploy('kept', await fixture('counter'));
    for (let i = 0; i < 4; i++) await (await host.call('kept')).arrayBuffer();
    host = await host.restart();
    const after = await usage(host, 'kept');
    expect(after.lifetime).toMatchObject({ invocations: 4, cold_starts: 1 });
    // Loaded in the background at start: the first call after the restart is warm.
    await host.service.warming;
    const res = await host.call('kept');
    expect(res.headers.get('x-wafer-start')).toBe('warm');
    expect((await usage(host, 'kept')).lifetime.invocations).toBe(5);
  });

  it('writes usage to the data directory periodically, not only at close (a crash loses at most one interval)', async () => {
    const quick = await startTestHost(engine, { usageFlushMs: 200 });
    try {
      await quick.deploy('ticker', await fixture('respond'));
      for (let i = 0; i < 3; i++) await (await quick.call('ticker')).arrayBuffer();
      const file = join(quick.dataDir, 'usage', 'ticker.json');
      let kept: { lifetime?: { invocations?: number } } = {};
      for (let tries = 0; tries < 100 && kept.lifetime?.invocations !== 3; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        kept = JSON.parse(await readFile(file, 'utf8').catch(() => '{}'));
      }
      expect(kept.lifetime?.invocations).toBe(3);
    } finally {
      await quick.destroy();
    }
  });

  it('removes usage with the function; a new function of that name starts from zero', async () => {
    await host.deploy('gone', await fixture('respond'));
    await (await host.call('gone')).arrayBuffer();
    await host.restart().then((h) => (host = h)); // written to disk at close
    expect(await readdir(join(host.dataDir, 'usage'))).toContain('gone.json');
    expect((await host.api('DELETE', '/v1/functions/gone')).status).toBe(204);
    expect(await readdir(join(host.dataDir, 'usage'))).not.toContain('gone.json');
    expect((await host.api('GET', '/v1/functions/gone/usage')).status).toBe(404);
    await host.deploy('gone', await fixture('respond'));
    expect((await usage(host, 'gone')).lifetime.invocations).toBe(0);
  });
});

describe.each(ENGINES)('--metering off on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine, { metering: 'off' });
  });
  afterAll(() => host?.destroy());

  it('meters and logs nothing (for measuring what metering costs), while calls and /metrics go on', async () => {
    await host.deploy('quiet', await fixture('err'));
    const res = await host.call('quiet');
    expect(res.status).toBe(500);
    expect(res.headers.get('x-wafer-duration-us')).toMatch(/^\d+$/);
    expect((await usage(host, 'quiet')).lifetime.invocations).toBe(0);
    const logs = (await (await host.api('GET', '/v1/functions/quiet/logs')).json()) as { entries: unknown[] };
    expect(logs.entries).toEqual([]);
    expect(await readdir(host.dataDir)).not.toContain('usage');
    expect(await (await fetch(`${host.url}/metrics`)).text()).toMatch(/wafer_invocations_total\{function="quiet",status="500",code="function_error"\} 1/);
  });

  it('is read from WAFER_METERING (on or off), and refuses anything else', () => {
    expect(loadConfig({}, { WAFER_METERING: 'off' }).metering).toBe(false);
    expect(loadConfig({}, {}).metering).toBe(true);
    expect(() => loadConfig({}, { WAFER_METERING: 'no' })).toThrow(/expected on or off/);
  });
});
