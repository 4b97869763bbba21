/**
 * Restart warm-up (issue 9, item 7): an engine made by `createEngine` has run its execute path
 * once, on a built-in tiny component, before it is handed over; the component is gone from
 * memory afterwards, compiled once per cache, and never shares a digest with an upload.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineName } from '../../host/src/engine/engine.js';
import { createEngine } from '../../host/src/engine/index.js';
import { WARMUP_ECHO_BASE64, warmupComponent } from '../../host/src/engine/warmup.js';
import type { Logger } from '../../host/src/logger.js';
import { ENGINES, fixture } from '../helpers/host.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

it('carries the echo fixture exactly as scripts/build-fixtures.mjs builds it', async () => {
  const built = await fixture('echo');
  // On a mismatch, paste the output of:
  //   node -e "process.stdout.write(require('fs').readFileSync('test/fixtures/dist/echo.wasm').toString('base64'))"
  // into WARMUP_ECHO_BASE64 (host/src/engine/warmup.ts).
  expect(WARMUP_ECHO_BASE64).toBe(built.toString('base64'));
  expect(sha256(warmupComponent())).not.toBe(sha256(built));
});

describe.each(ENGINES)('warm-up at start on %s', (name: EngineName) => {
  let cacheDir: string;
  const lines: string[] = [];
  const logger = { info: (_: object, msg?: string) => lines.push(`info ${msg}`), warn: (_: object, msg?: string) => lines.push(`warn ${msg}`), error() {}, debug() {} } as unknown as Logger;
  const make = () => createEngine(name, { cacheDir, maxMemoryBytes: 64 * MiB, moduleCacheBytes: 64 * MiB, logger });

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), `wafer-warmup-${name}-`));
  });
  afterAll(() => rm(cacheDir, { recursive: true, force: true }));

  it('has called the built-in component before the engine is handed over, and left nothing loaded', async () => {
    const engine = await make();
    try {
      expect(lines).toContain('info engine warmed up');
      const stats = engine.stats();
      expect(stats.compiled).toBe(1);
      expect(stats.instancesCreated).toBeGreaterThanOrEqual(1);
      expect(stats.loaded).toBe(0);
      // A real call works as ever.
      const echo = await fixture('echo');
      const digest = sha256(echo);
      await engine.load({ digest, bytes: async () => echo });
      expect(Buffer.from((await engine.call(digest, Buffer.from('after'), { timeoutMs: 5_000, memoryBytes: 16 * MiB })).output).toString()).toBe('after');
    } finally {
      await engine.close();
    }
  });

  it('maps the warm-up component from the cache on the next start, never compiling it again', async () => {
    const engine = await make();
    try {
      expect(engine.stats()).toMatchObject({ compiled: 0, loadedFromDisk: 1, loaded: 0 });
    } finally {
      await engine.close();
    }
  });
});
