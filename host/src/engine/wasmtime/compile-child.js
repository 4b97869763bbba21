/**
 * @module engine/wasmtime/compile-child
 * The compile process `compiler.ts` starts: a plain `node` child that loads the same addon,
 * makes a `NativeEngine` with the host's options (without the instance pool, which the
 * compatibility hash does not depend on) and compiles one component at a time with
 * `load(digest, bytes, cachePath, world)`: Cranelift compiles, the world is checked and the artifact is
 * written where the host then maps it from. Cranelift cannot be stopped or bounded from inside
 * the host; a separate process can be killed on a timeout or a memory ceiling. Plain JavaScript
 * so it runs under `node` from the sources and from `dist/` alike.
 */
import { createRequire } from 'node:module';

if (!process.send) throw new Error('engine/wasmtime/compile-child.js must be started with an IPC channel');
const send = process.send.bind(process);

const { addonPath, options } = JSON.parse(process.env.WAFER_COMPILE_CHILD ?? '{}');
const addon = createRequire(import.meta.url)(addonPath);
const engine = new addon.NativeEngine({ ...options, pooling: false });

process.on('message', async (/** @type {{ id: number, digest: string, bytes: Uint8Array, cachePath: string, world?: string }} */ job) => {
  let result;
  try {
    const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
    result = await engine.load(job.digest, bytes, job.cachePath, job.world);
  } catch (err) {
    result = { ok: false, errorKind: 'internal', message: String(/** @type {any} */ (err)?.message ?? err), ms: 0, pooled: false };
  }
  // The host maps the artifact from disk; nothing is kept here, so memory goes back between compiles.
  engine.unload(job.digest);
  send({ id: job.id, result });
});
// The host went away: so does its compiler.
process.on('disconnect', () => process.exit(0));
send({ ready: true, compatHash: engine.compatibilityHash() });
