/**
 * `moduleCacheBytes` bounds what an engine keeps loaded. On wasmtime it is an LRU of loaded
 * components weighed by their compiled artifact (host/src/engine/wasmtime/resident.ts): past it
 * the least recently used component is unloaded, and its next call maps the artifact again from
 * disk, never compiling it again (scale to zero). Here the bound is one byte, so only the
 * component called last stays loaded and every call of a round-robin finds its own evicted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, fixture, sample, startTestHost, type TestHost } from '../helpers/host.js';

const FUNCTIONS = ['hello-rust', 'json-rust', 'respond', 'counter'] as const;

describe.each(ENGINES)('a module cache too small for every function on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine, { moduleCacheBytes: 1 });
    for (const name of FUNCTIONS) {
      await host.deploy(name, name.endsWith('-rust') ? await sample(name) : await fixture(name));
    }
  }, 300_000);
  afterAll(() => host?.destroy());

  async function answers(name: (typeof FUNCTIONS)[number]): Promise<void> {
    switch (name) {
      case 'hello-rust': {
        const res = await host.call(name, '', { method: 'POST', body: 'round' });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('Hello, round!');
        break;
      }
      case 'json-rust': {
        const res = await host.call(name, '', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(200);
        break;
      }
      case 'respond': {
        const res = await host.call(name);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('ok');
        break;
      }
      case 'counter': {
        const res = await host.call(name);
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(1);
        break;
      }
    }
  }

  it('answers every call of a round-robin over the functions, reloading from disk and never compiling again', async () => {
    // One call each first: whatever deploying loaded is now settled.
    for (const name of FUNCTIONS) await answers(name);
    const before = host.service.engine.stats();
    for (let round = 0; round < 3; round++) for (const name of FUNCTIONS) await answers(name);
    const after = host.service.engine.stats();
    expect(after.compiled).toBe(before.compiled);
    if (engine === 'wasmtime') {
      // Each call finds its component evicted by the previous call's, and maps it again.
      expect(after.evictions! - before.evictions!).toBeGreaterThanOrEqual(3 * FUNCTIONS.length - 1);
      expect(after.reloads! - before.reloads!).toBeGreaterThanOrEqual(3 * FUNCTIONS.length - 1);
      expect(after.loadedFromDisk - before.loadedFromDisk).toBeGreaterThanOrEqual(3 * FUNCTIONS.length - 1);
      expect(after.loaded).toBe(1);
    }
  });

  it('answers concurrent calls of every function at once', async () => {
    await Promise.all(Array.from({ length: 4 }, () => FUNCTIONS.map((name) => answers(name))).flat());
  });
});
