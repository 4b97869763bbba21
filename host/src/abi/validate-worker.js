/**
 * @module abi/validate-worker
 * Runs jco's `componentWit` for `validate.ts` in a worker thread. `componentWit` is itself a
 * wasm component inside jco: a hostile upload can make it trap (`unreachable`), and a trapped
 * component instance refuses every later call ("cannot enter component instance"). Here a trap
 * costs only this thread, which the parent then terminates and replaces. Plain JavaScript
 * because Node 20 cannot run TypeScript in a worker.
 */
import { parentPort } from 'node:worker_threads';

if (!parentPort) throw new Error('abi/validate-worker.js must run in a worker thread');
const port = parentPort;
// Loading jco and its first call (which instantiates jco's own component) take a few hundred ms:
// both happen here, so the parent's timeout, which starts at `ready`, measures only the upload.
const { componentWit } = await import('@bytecodealliance/jco');
const EMPTY_COMPONENT = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
await componentWit(EMPTY_COMPONENT);

port.on('message', async (/** @type {{ id: number, bytes: Uint8Array }} */ job) => {
  try {
    port.postMessage({ id: job.id, ok: true, wit: await componentWit(job.bytes) });
  } catch (err) {
    const e = /** @type {any} */ (err);
    // A RuntimeError is a trap inside jco's own component: this instance is now unusable.
    const trapped = e instanceof WebAssembly.RuntimeError || /cannot enter component instance/.test(String(e?.message));
    port.postMessage({ id: job.id, ok: false, message: String(e?.message ?? e), trapped });
  }
});
port.postMessage({ ready: true });
