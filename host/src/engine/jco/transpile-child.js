/**
 * @module engine/jco/transpile-child
 * Runs jco's `transpile` for `transpiler.ts` in a one-shot child process: transpiling an 18 MB
 * Python guest takes seconds of synchronous work and hundreds of MiB inside jco's own wasm
 * component, none of which a worker thread could bound. A process can be killed on the compile
 * timeout or when its resident memory passes the ceiling, and gives all its memory back when it
 * exits. Plain JavaScript so it runs under `node` from the sources and from `dist/` alike.
 */
if (!process.send) throw new Error('engine/jco/transpile-child.js must be started with an IPC channel');
const send = process.send.bind(process);

// Loading jco takes most of a second; the parent's compile timeout starts after it, at `started`.
const { transpile } = await import('@bytecodealliance/jco');

process.once('message', async (/** @type {{ bytes: Uint8Array, options: Record<string, unknown> }} */ job) => {
  send({ started: true });
  try {
    const { files, imports, exports } = await transpile(job.bytes, /** @type {any} */ (job.options));
    send({ ok: true, files, imports, exports }, () => process.exit(0));
  } catch (err) {
    const e = /** @type {any} */ (err);
    send({ ok: false, message: String(e?.message ?? e) }, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
send({ ready: true });
