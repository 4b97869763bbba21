/**
 * @module abi/validate-worker
 * Runs the addon's `inspectComponent` for `inspect-worker.ts` in a worker thread, so an upload
 * that brings the inspector down costs only this thread, which the parent then terminates and
 * replaces. The answer is plain data (`ComponentTypes`, executors/types.ts) or the validator's
 * message. Plain JavaScript because Node 20 cannot run TypeScript in a worker.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

if (!parentPort) throw new Error('abi/validate-worker.js must run in a worker thread');
const port = parentPort;
/** @type {{ inspectComponent(bytes: Buffer): string }} */
const addon = createRequire(import.meta.url)(workerData.addon);
// The first call pays for the inspector's own start-up here, so the parent's timeout, which
// starts at `ready`, measures only the upload.
addon.inspectComponent(Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]));

port.on('message', (/** @type {{ id: number, bytes: Uint8Array }} */ job) => {
  const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  const answer = JSON.parse(addon.inspectComponent(bytes));
  if (typeof answer.error === 'string') port.postMessage({ id: job.id, ok: false, message: answer.error, trapped: false });
  else port.postMessage({ id: job.id, ok: true, types: answer });
});
port.postMessage({ ready: true });
