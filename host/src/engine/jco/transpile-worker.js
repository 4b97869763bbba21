/**
 * @module engine/jco/transpile-worker
 * Runs jco's `transpile` for `store.ts` in a one-shot worker thread: transpiling an 18 MB Python
 * guest takes ~3 s of synchronous work that would otherwise stall every call on the event loop,
 * and the memory jco's bindgen takes is returned when the thread exits. Plain JavaScript because
 * Node 20 cannot run TypeScript in a worker.
 */
import { parentPort, workerData } from 'node:worker_threads';

if (!parentPort) throw new Error('engine/jco/transpile-worker.js must run in a worker thread');

// Loading jco takes most of a second; the parent's compile timeout starts after it, at `started`.
const { transpile } = await import('@bytecodealliance/jco');
parentPort.postMessage({ started: true });

/** @type {{ bytes: Uint8Array, options: Record<string, unknown> }} */
const { bytes, options } = workerData;
try {
  const { files, imports, exports } = await transpile(bytes, /** @type {any} */ (options));
  parentPort.postMessage({ ok: true, files, imports, exports });
} catch (err) {
  const e = /** @type {any} */ (err);
  parentPort.postMessage({ ok: false, message: String(e?.message ?? e) });
}
