/**
 * @module engine/jco/worker
 * The worker thread that holds one instance of one transpiled component and runs its `handle`
 * calls one at a time. Plain JavaScript (JSDoc-typed) because Node 20 cannot run TypeScript in a
 * worker. The pool (`pool.ts`) owns the life cycle: it sends `instantiate` with the compiled,
 * memory-capped core modules, then `call`s; it terminates the thread on a timeout.
 *
 * WASI comes from preview2-shim's `WASIShim`, sandboxed (no preopens, no network, no arguments,
 * the function's own environment only), with wasi:cli's stdin, stdout, stderr, exit and terminal
 * interfaces replaced: stdout/stderr are captured per call up to a cap, stdin is empty, and
 * `exit` traps instead of ending the thread. Asked to `describe`, it answers what those imports
 * provide, for the engine's check of a component's imports at upload.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import { cli, clocks, io } from '@bytecodealliance/preview2-shim';

const { InputStream, OutputStream } = io.streams;

/** One wasm page: the least headroom under the quota that still counts as "at the quota". */
const PAGE = 65536;
/** A guest's `err(message)` is cut to this many characters (the addon cuts at 64 KiB too). */
const ERROR_MESSAGE_CAP = 64 * 1024;

if (!parentPort) throw new Error('engine/jco/worker.js must run in a worker thread');
const port = parentPort;

/** A per-call capture buffer for one of stdout/stderr; bytes past the cap are dropped. */
class Sink {
  /** @param {number} cap */
  constructor(cap) {
    this.cap = cap;
    /** @type {Uint8Array[]} */
    this.chunks = [];
    this.size = 0;
  }

  /** @param {Uint8Array} bytes */
  append(bytes) {
    const room = this.cap - this.size;
    if (room <= 0 || bytes.length === 0) return;
    const part = bytes.length <= room ? bytes.slice() : bytes.slice(0, room);
    this.chunks.push(part);
    this.size += part.length;
  }

  /** Returns what was captured since the last take, and empties the sink. */
  take() {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [];
    this.size = 0;
    return out;
  }
}

/** An immediately ready pollable, for guests that poll stdio before writing or reading. */
const readyPollable = () => clocks.monotonicClock.subscribeDuration(0n);

/** wasi:io output-stream writing into a Sink. Subclassed so jco's `instanceof` checks pass. */
class CaptureStream extends OutputStream {
  /** @param {Sink} sink */
  constructor(sink) {
    super();
    this.sink = sink;
  }
  checkWrite() {
    return 1048576n;
  }
  /** @param {Uint8Array} buf */
  write(buf) {
    this.sink.append(buf);
  }
  /** @param {Uint8Array} buf */
  blockingWriteAndFlush(buf) {
    this.sink.append(buf);
  }
  flush() {}
  blockingFlush() {}
  /** @param {bigint} len */
  writeZeroes(len) {
    this.sink.append(new Uint8Array(Math.min(Number(len), this.sink.cap)));
  }
  /** @param {bigint} len */
  blockingWriteZeroesAndFlush(len) {
    this.writeZeroes(len);
  }
  splice() {
    throw { tag: 'closed' };
  }
  blockingSplice() {
    throw { tag: 'closed' };
  }
  subscribe() {
    return readyPollable();
  }
  [Symbol.dispose]() {}
}

/** wasi:io input-stream that is always at end of stream: the guest has no stdin. */
class EmptyInput extends InputStream {
  read() {
    throw { tag: 'closed' };
  }
  blockingRead() {
    throw { tag: 'closed' };
  }
  skip() {
    throw { tag: 'closed' };
  }
  blockingSkip() {
    throw { tag: 'closed' };
  }
  subscribe() {
    return readyPollable();
  }
  [Symbol.dispose]() {}
}

/** Thrown through the guest when it calls wasi:cli/exit; reported as a trap. */
class GuestExit extends Error {}

/** Thrown at instantiation when the core instances' memories could grow past the quota together. */
class QuotaExceeded extends Error {}

/** @type {Sink} */
let stdout = new Sink(65536);
/** @type {Sink} */
let stderr = new Sink(65536);

/**
 * The environment of this worker's instance (wasi:cli/environment), set by `instantiate`: a pool
 * serves one environment, so it is the function's own. Handed out as a copy, so a guest cannot change it.
 * @type {[string, string][]}
 */
let environment = [];

const sandboxedCli = {
  ...cli,
  environment: { getEnvironment: () => environment.map(([k, v]) => [k, v]), getArguments: () => [], initialCwd: () => undefined },
  exit: {
    /** @param {{tag: string}} status */
    exit(status) {
      throw new GuestExit(`the guest called exit (${status?.tag === 'err' ? 'error' : 'success'})`);
    },
    /** @param {number} code */
    exitWithCode(code) {
      throw new GuestExit(`the guest called exit(${code})`);
    },
  },
  stdin: { getStdin: () => new EmptyInput() },
  stdout: { getStdout: () => new CaptureStream(stdout) },
  stderr: { getStderr: () => new CaptureStream(stderr) },
  terminalStdin: { getTerminalStdin: () => undefined },
  terminalStdout: { getTerminalStdout: () => undefined },
  terminalStderr: { getTerminalStderr: () => undefined },
};

/** The WASI imports a component gets: preview2-shim's, sandboxed, with wasi:cli replaced. */
function importObject() {
  const wasi = new WASIShim({
    cli: sandboxedCli,
    // No `env` here: the shim would answer it instead of `sandboxedCli.environment`, this instance's own.
    sandbox: { preopens: {}, args: [], enableNetwork: false },
  });
  return /** @type {Record<string, Record<string, unknown>>} */ (wasi.getImportObject());
}

/**
 * What `importObject()` provides, for the engine's upload check (`import-check.ts`): per
 * interface, each function, and each resource class with its method and static names.
 * @returns {Record<string, Record<string, { methods?: string[], statics?: string[] }>>}
 */
function describeImports() {
  /** @type {Record<string, Record<string, { methods?: string[], statics?: string[] }>>} */
  const shape = {};
  for (const [iface, members] of Object.entries(importObject())) {
    /** @type {Record<string, { methods?: string[], statics?: string[] }>} */
    const names = {};
    for (const [name, value] of Object.entries(members ?? {})) {
      if (typeof value !== 'function') continue;
      if (!/^[A-Z]/.test(name) || !value.prototype) {
        names[name] = {};
        continue;
      }
      /** @type {Set<string>} */
      const methods = new Set();
      for (let proto = value.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
        for (const key of Object.getOwnPropertyNames(proto)) {
          if (key !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, key)?.value === 'function') methods.add(key);
        }
      }
      /** @type {Set<string>} */
      const statics = new Set();
      for (let cls = value; cls && cls !== Function.prototype; cls = Object.getPrototypeOf(cls)) {
        for (const key of Object.getOwnPropertyNames(cls)) {
          if (typeof Object.getOwnPropertyDescriptor(cls, key)?.value === 'function') statics.add(key);
        }
      }
      names[name] = { methods: [...methods], statics: [...statics] };
    }
    shape[iface] = names;
  }
  return shape;
}

/**
 * The live instance, or null when there is none (before `instantiate`, after a trap).
 * @type {{ handle: (input: Uint8Array) => Uint8Array, memories: WebAssembly.Memory[], capBytes: number } | null}
 */
let instance = null;

/** Byte size of each memory right after instantiation: one that grew since can tell it hit its cap. */
const startBytes = new WeakMap();

/** @param {WebAssembly.Memory[]} memories */
function memoryBytes(memories) {
  let total = 0;
  for (const m of memories) total += m.buffer.byteLength;
  return total;
}

/**
 * @param {{ jsUrl: string, modules: Record<string, WebAssembly.Module>, memoryBudget: Record<string, number>, capBytes: number, maxLogBytes: number, env?: [string, string][] }} msg
 */
async function instantiate(msg) {
  instance = null;
  environment = Array.isArray(msg.env) ? msg.env : [];
  stdout = new Sink(msg.maxLogBytes);
  stderr = new Sink(msg.maxLogBytes);
  const started = performance.now();
  /** @type {WebAssembly.Memory[]} */
  const memories = [];
  try {
    const { instantiate: instantiateComponent } = await import(msg.jsUrl);
    /** @type {Map<WebAssembly.Module, string>} */
    const names = new Map();
    let budget = 0;
    /** @param {WebAssembly.Module} module @param {WebAssembly.Imports} [imports] */
    const instantiateCore = (module, imports) => {
      // The quota was split among the memories assuming one instance per core module; a module
      // instantiated again brings more memories, which must still fit the quota together.
      budget += msg.memoryBudget[names.get(module) ?? ''] ?? 0;
      if (budget > msg.capBytes) {
        throw new QuotaExceeded(`the component's memories could grow to ${budget} bytes together, over its quota of ${msg.capBytes} bytes`);
      }
      const core = new WebAssembly.Instance(module, imports);
      for (const value of Object.values(core.exports)) {
        if (value instanceof WebAssembly.Memory && !memories.includes(value)) memories.push(value);
      }
      return core;
    };
    /** @param {string} name */
    const getCoreModule = (name) => {
      const module = msg.modules[name];
      if (!module) throw new Error(`the transpiled component asks for an unknown core module ${name}`);
      names.set(module, name);
      return module;
    };
    const exports = await instantiateComponent(getCoreModule, importObject(), instantiateCore);
    if (typeof exports?.handle !== 'function') throw new Error('the component does not export handle');
    instance = { handle: exports.handle, memories, capBytes: msg.capBytes };
    for (const m of memories) startBytes.set(m, m.buffer.byteLength);
    port.postMessage({
      type: 'ready',
      memoryBytes: memoryBytes(memories),
      ms: performance.now() - started,
      stdout: stdout.take(),
      stderr: stderr.take(),
    });
  } catch (err) {
    const failure = classify(err, memories, msg.capBytes);
    port.postMessage({ type: 'failed', ...failure, stdout: stdout.take(), stderr: stderr.take() });
  }
}

/** @param {{ id: number, input: Uint8Array, maxOutputBytes: number }} msg */
function call(msg) {
  const live = instance;
  if (!live) {
    const empty = new Uint8Array(0);
    port.postMessage({ type: 'result', id: msg.id, ok: false, code: 'trap', message: 'no instance (internal error)', stdout: empty, stderr: empty });
    return;
  }
  const started = performance.now();
  try {
    const result = live.handle(msg.input);
    const durationUs = Math.round((performance.now() - started) * 1000);
    if (!(result instanceof Uint8Array)) throw new TypeError('handle returned something other than list<u8>');
    if (msg.maxOutputBytes >= 0 && result.byteLength > msg.maxOutputBytes) {
      // Refused before it crosses to the main thread; the instance itself is healthy.
      const message = `the guest's output is ${result.byteLength} bytes, over the limit of ${msg.maxOutputBytes} bytes`;
      port.postMessage({ type: 'result', id: msg.id, ok: false, code: 'bad_response', message, durationUs, memoryBytes: memoryBytes(live.memories), stdout: stdout.take(), stderr: stderr.take() });
      return;
    }
    // jco copies the result out of linear memory; copy again only if it ever returns a view.
    const output = result.byteOffset === 0 && result.byteLength === result.buffer.byteLength ? result : result.slice();
    const reply = {
      type: 'result',
      id: msg.id,
      ok: true,
      output,
      durationUs,
      memoryBytes: memoryBytes(live.memories),
      stdout: stdout.take(),
      stderr: stderr.take(),
    };
    port.postMessage(reply, [output.buffer, reply.stdout.buffer, reply.stderr.buffer]);
  } catch (err) {
    const durationUs = Math.round((performance.now() - started) * 1000);
    const failure = classify(err, live.memories, live.capBytes);
    // A trapped instance is never reused; a guest's `err(...)` leaves it healthy.
    if (failure.code !== 'function_error') instance = null;
    port.postMessage({
      type: 'result',
      id: msg.id,
      ok: false,
      ...failure,
      durationUs,
      memoryBytes: memoryBytes(live.memories),
      stdout: stdout.take(),
      stderr: stderr.take(),
    });
  }
}

/**
 * Sorts a failure into the host's codes. jco throws its `ComponentError` (with `payload`) for a
 * guest's `err(message)`; anything else thrown through the guest is a trap. A trap while memory
 * sits at the quota is reported as `memory_limit`: V8 gives no other signal that a `memory.grow`
 * failed, and allocators trap right after one does. "At the quota" is either all memories together
 * within 1/8 of it (at least one page), or one memory that grew since instantiation and cannot
 * grow by another page (it is at the share of the quota it was capped to). The probe grows the
 * memory, which is harmless: a trapped instance is never used again.
 * @param {unknown} err @param {WebAssembly.Memory[]} memories @param {number} capBytes
 * @returns {{ code: 'function_error' | 'trap' | 'memory_limit', message: string }}
 */
function classify(err, memories, capBytes) {
  const e = /** @type {any} */ (err);
  if (e && e.constructor?.name === 'ComponentError' && 'payload' in e && !(e instanceof WebAssembly.RuntimeError)) {
    const payload = typeof e.payload === 'string' ? e.payload : String(e.payload);
    // Cut like the wasmtime addon does (ERROR_MESSAGE_CAP): a guest's message is not a channel for megabytes.
    const message = payload.length > ERROR_MESSAGE_CAP ? `${payload.slice(0, ERROR_MESSAGE_CAP)}… (${payload.length - ERROR_MESSAGE_CAP} characters cut)` : payload;
    return { code: 'function_error', message };
  }
  if (e instanceof QuotaExceeded) return { code: 'memory_limit', message: e.message };
  const message = e instanceof GuestExit ? e.message : `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`;
  const slack = Math.max(PAGE, Math.floor(capBytes / 8));
  const total = memoryBytes(memories);
  const atCap = (/** @type {WebAssembly.Memory} */ m) => {
    if (!(m.buffer.byteLength > (startBytes.get(m) ?? Infinity))) return false;
    try {
      m.grow(1);
      return false;
    } catch {
      return true;
    }
  };
  if (!(e instanceof GuestExit) && total > 0 && (total > capBytes - slack || memories.some(atCap))) {
    const mib = (/** @type {number} */ n) => (n / 1048576).toFixed(1);
    return {
      code: 'memory_limit',
      message: `the guest ran out of memory: its linear memories are at ${mib(total)} MiB of its ${mib(capBytes)} MiB quota (${message})`,
    };
  }
  return { code: 'trap', message };
}

port.on('message', (msg) => {
  if (msg.type === 'call') call(msg);
  else if (msg.type === 'instantiate') void instantiate(msg);
  else if (msg.type === 'describe') port.postMessage({ type: 'described', shape: describeImports() });
});
