/**
 * Issue 9 #6, tiered start, over HTTP with a real 12 MB component: the upload of hello-ts answers
 * once Winch has compiled it (Cranelift takes 6-10 s for it), calls are served at once, and they
 * keep answering, the same, while and after the host moves the function to its Cranelift build.
 * wasmtime only: jco has one tier (its transpile, then V8's own tiers).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { WasmtimeEngine } from '../../host/src/engine/wasmtime/index.js';
import { sample, startTestHost, type TestHost } from '../helpers/host.js';

describe('tiered start on wasmtime', () => {
  let host: TestHost;
  let cacheDir: string;
  beforeAll(async () => {
    // A compiled cache of its own: the upload must really be compiled.
    cacheDir = await mkdtemp(join(tmpdir(), 'wafer-tiered-cache-'));
    host = await startTestHost('wasmtime', { cacheDir });
  });
  afterAll(async () => {
    await host?.destroy();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('answers the upload from the fast tier, and every call before, during and after the move to Cranelift', async () => {
    const engine = host.service.engine as WasmtimeEngine;
    const record = await host.deploy('hello', await sample('hello-ts'));
    const digest = String(record.digest).replace(/^sha256:/, '');
    expect(engine.tierOf(digest)).toBe('fast');

    const ask = async () => {
      const res = await host.call('hello', '/', { method: 'POST', body: 'tiers' });
      return { status: res.status, body: await res.text() };
    };
    const first = await ask();
    expect(first.status).toBe(200);
    const moved = engine.tierUpDone(digest);
    let done = false;
    void moved.then(() => (done = true));
    let during = 0;
    while (!done) {
      expect(await ask()).toEqual(first);
      during++;
    }
    await moved;
    expect(engine.tierOf(digest)).toBe('full');
    expect(await ask()).toEqual(first);
    expect(during).toBeGreaterThan(0);
    expect(engine.stats()).toMatchObject({ fastCompiles: 1, tierUps: 1, tierUpFailures: 0 });
    // Only the Cranelift artifact is left.
    const left = (await readdir(join(cacheDir, 'wasmtime'))).filter((n) => n.startsWith(`${digest}-`) && n.endsWith('.cwasm'));
    expect(left).toEqual([engine.artifactPath(digest).split('/').pop()]);
  });
});
