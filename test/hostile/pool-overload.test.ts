/**
 * Hostile: more calls at once than the wasmtime instance pool has slots. A full pool is load,
 * not a host failure: the extra calls answer 503 `overloaded` (and the client may retry), the
 * calls that got a slot run to their end, and the host serves normally once they are done.
 *
 * The host here is composed like `startHost` does, over real HTTP, but around a WasmtimeEngine
 * built with a two-slot pool: the default pool (1000 instances) is far above the calls the host
 * admits at once (DEFAULT_MAX_CALLS), so it cannot be filled through HTTP.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmtimeEngine } from '../../host/src/engine/wasmtime/index.js';
import { Metrics } from '../../host/src/functions/metrics.js';
import { FunctionService } from '../../host/src/functions/service.js';
import { silentLogger } from '../../host/src/logger.js';
import { FsRegistry } from '../../host/src/registry/fs.js';
import { createApp } from '../../host/src/server/app.js';
import { errorOf, fixture, SHARED_CACHE } from '../helpers/host.js';

const MiB = 1024 * 1024;
const TOKEN = 'test-token';

describe('a full wasmtime instance pool', () => {
  let dataDir: string;
  let engine: WasmtimeEngine;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wafer-pool-'));
    engine = new WasmtimeEngine({ cacheDir: SHARED_CACHE, maxMemoryBytes: 64 * MiB, poolComponentInstances: 2, poolMemories: 8 });
    const metrics = new Metrics(engine);
    const service = new FunctionService({
      registry: await FsRegistry.open(dataDir),
      engine,
      logger: silentLogger,
      metrics,
      defaults: { timeoutMs: 5_000, memoryBytes: 16 * MiB },
      ceilings: { timeoutMs: 60_000, memoryBytes: 64 * MiB },
      maxUploadBytes: 64 * MiB,
      maxConcurrency: 8,
      maxQueue: 64,
    });
    await service.init();
    const app = createApp({ service, metrics, logger: silentLogger, token: TOKEN, maxUploadBytes: 64 * MiB, maxRequestBytes: 16 * MiB, waferVersion: 'test' });
    server = createServer(app.callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const deploy = async (name: string, bytes: Uint8Array, query = '') => {
      const res = await fetch(`${url}/v1/functions/${name}${query}`, {
        method: 'PUT',
        body: bytes,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/wasm' },
      });
      expect(res.status).toBe(201);
    };
    await deploy('spin', await fixture('loop'), '?timeout_ms=1500');
    await deploy('healthy', await fixture('respond'));
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await engine?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('issue 8 #13: calls beyond the pool answer 503 overloaded, not 500 internal, and the host keeps serving', async () => {
    const responses = await Promise.all(Array.from({ length: 4 }, () => fetch(`${url}/fn/spin`, { method: 'POST' })));
    const outcomes = await Promise.all(responses.map(async (r) => ({ status: r.status, code: (await errorOf(r)).code })));
    outcomes.sort((a, b) => a.status - b.status);
    // Two calls took the two slots and ran to their time limit; the other two found no slot.
    expect(outcomes).toEqual([
      { status: 503, code: 'overloaded' },
      { status: 503, code: 'overloaded' },
      { status: 504, code: 'timeout' },
      { status: 504, code: 'timeout' },
    ]);
    const healthy = await fetch(`${url}/fn/healthy`);
    expect(healthy.status).toBe(200);
    expect(await healthy.text()).toBe('ok');
  });

  it('issue 8 #13: another function is told to retry (503 overloaded) while the pool is full, and answers once it frees', async () => {
    const spinning = Promise.all([fetch(`${url}/fn/spin`, { method: 'POST' }), fetch(`${url}/fn/spin`, { method: 'POST' })]);
    await new Promise((r) => setTimeout(r, 200));
    const during = await fetch(`${url}/fn/healthy`);
    expect(during.status).toBe(503);
    expect((await errorOf(during)).code).toBe('overloaded');
    expect((await spinning).map((r) => r.status)).toEqual([504, 504]);
    const after = await fetch(`${url}/fn/healthy`);
    expect(after.status).toBe(200);
  });
});
