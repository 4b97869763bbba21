/**
 * @module engine/warmup
 * Warms an engine's execute path at start with a built-in tiny component, so the first real
 * call after a (re)start pays no first-time costs: on wasmtime the first artifact map, the first
 * store from the pooling allocator and the libuv threads the calls run on, which start only when
 * first used; on jco the first worker's instantiation path and the main thread's code for it.
 * (The host then warms its HTTP path with requests to itself: server/host.ts.)
 *
 * The component is `test/fixtures/echo.wat` as `scripts/build-fixtures.mjs` builds it
 * (test/engine/warmup.test.ts checks the bytes below still are), plus a custom section naming it,
 * so its digest is never that of an upload. Its artifact is compiled into the cache on the
 * first start and mapped from there on later ones; it is unloaded once warm, so it never
 * counts against `moduleCacheBytes`. A failed warm-up is logged, never fatal.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Engine, LoadInfo } from './engine.js';

/** test/fixtures/dist/echo.wasm (458 bytes): handle(request) = ok(request). */
export const WARMUP_ECHO_BASE64 =
  'AGFzbQ0AAQABpAIAYXNtAQAAAAETA2AEf39/fwF/YAF/AGACf38BfwMFBAABAgIFAwEAAQYHAX8BQYAgCwc1BAZtZW1vcnkCAAxjYWJpX3JlYWxsb2MAABBjYWJpX3Bvc3RfaGFuZGxlAAEGaGFuZGxlAAMKbAQ/AQJ/IwAgAkEBa2pBACACa3EhBCAEIANqIQUgBT8AQYCABGxLBEAgBUEQdkEBakAAQX9GBEAACwsgBSQAIAQLBwBBgCAkAAsZAEEQQQA6AABBFCAANgIAQRggATYCAEEQCwgAIAAgARACCwBLBG5hbWUAAgFtAQUBAgJvawIwAwAEAgVhbGlnbgMEc2l6ZQQBcAUDZW5kAgIAA3B0cgEDbGVuAwIAA3B0cgEDbGVuBwcBAARidW1wAgQBAAAABxcEcH1wfWoBAQFzQAEHcmVxdWVzdAAAAgY9BAAAAQAGaGFuZGxlAAIBAAZtZW1vcnkAAAEADGNhYmlfcmVhbGxvYwAAAQAQY2FiaV9wb3N0X2hhbmRsZQgMAQAAAAMDAAQBBQIDCwwBAAZoYW5kbGUBAAAAHw5jb21wb25lbnQtbmFtZQEGABEBAAFtAQYAEgEAAWk=';

/** A custom section (id 0) named `wafer-warmup`: engines ignore it, it only changes the digest. */
const NAME = Buffer.from('wafer-warmup');
const SECTION = Buffer.concat([Buffer.of(0x00, NAME.length + 1, NAME.length), NAME]);

/** The warm-up component's bytes. */
export function warmupComponent(): Uint8Array {
  return Buffer.concat([Buffer.from(WARMUP_ECHO_BASE64, 'base64'), SECTION]);
}

/** The warm-up component's digest: its artifact sits in the compiled cache beside the uploads'. */
export function warmupDigest(): string {
  return createHash('sha256').update(warmupComponent()).digest('hex');
}

/** Calls made to warm up: the first pays the first-time costs, the second runs the path as every later call does. */
const CALLS = 2;

export interface WarmUpReport {
  load: LoadInfo['source'];
  ms: number;
}

/** Loads the warm-up component, calls it, and unloads it. Resolves undefined (after logging) when something failed. */
export async function warmUp(engine: Engine, logger?: { info(o: object, m?: string): void; warn(o: object, m?: string): void }): Promise<WarmUpReport | undefined> {
  const started = performance.now();
  const bytes = warmupComponent();
  const digest = warmupDigest();
  try {
    const info = await engine.load({ digest, bytes: async () => bytes });
    const input = new Uint8Array(100).fill(0x61);
    for (let i = 0; i < CALLS; i++) {
      const report = await engine.call(digest, input, { timeoutMs: 5_000, memoryBytes: 1024 * 1024 });
      if (report.output.byteLength !== input.byteLength) throw new Error('the warm-up component did not echo its input');
    }
    engine.unload(digest);
    const ms = performance.now() - started;
    logger?.info({ engine: engine.name, load: info.source, ms: Math.round(ms * 10) / 10 }, 'engine warmed up');
    return { load: info.source, ms };
  } catch (err) {
    logger?.warn({ err, engine: engine.name }, 'engine warm-up failed; the first call will pay the cold path');
    return undefined;
  }
}
