/**
 * @module engine/jco/transpiler
 * Runs jco's `transpile` in a one-shot child process (`transpile-child.js`) under the host's
 * compile limits. Its seconds of synchronous work never block calls, and unlike a worker thread
 * the process can be bounded: it is killed when the transpile runs past `timeoutMs` or its
 * resident memory passes `memoryBytes` (jco's own wasm memory included), and the upload is
 * refused with `invalid_component` saying which limit it hit.
 */
import { fork } from 'node:child_process';
import { ComponentError, WaferError } from '../../errors.js';
import { RSS_POLL_MS, residentBytes } from '../process-memory.js';

const CHILD_URL = new URL('./transpile-child.js', import.meta.url);
const MiB = 1024 * 1024;
/**
 * Starting node and loading jco is the host's own work, not the component's: it is bounded apart
 * from the compile timeout, generously, since a cold start on a busy machine takes seconds.
 */
const START_TIMEOUT_MS = 30_000;

/** `instantiate(getCoreModule, imports)` output, no TypeScript, every core module a separate file. */
const TRANSPILE_OPTIONS = {
  name: 'fn',
  instantiation: 'sync',
  nodejsCompat: false,
  tlaCompat: false,
  base64Cutoff: 0,
  quiet: true,
  emitTypescriptDeclarations: false, // jco-transpile's spelling; jco passes options through
};

/** What jco's `transpile` answers. */
export interface TranspileResult {
  files: Record<string, Uint8Array>;
  imports: string[];
  exports: [string, 'function' | 'instance'][];
}

/** Bounds on one transpile (the host's compileTimeoutMs and compileMemoryBytes). */
export interface TranspileLimits {
  timeoutMs: number;
  memoryBytes: number;
}

/** A transpile stopped by its time or memory limit. */
export class TranspileLimitError extends ComponentError {
  constructor(
    readonly limit: 'time' | 'memory',
    message: string,
  ) {
    super('invalid_component', message);
  }
}

type ChildMessage = { ready: true } | { started: true } | ({ ok: true } & TranspileResult) | { ok: false; message: string };

/** Transpiles `bytes` in a fresh child process; rejects with `invalid_component` when jco refuses it or a limit stops it. */
export function transpileInChild(bytes: Uint8Array, limits: TranspileLimits): Promise<TranspileResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD_URL, [], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'], // jco's console chatter is dropped
      env: { PATH: process.env.PATH ?? '' },
    });
    let settled = false;
    const settle = (err: Error | undefined, result?: TranspileResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(result!);
    };
    let timer = setTimeout(() => {
      settle(new WaferError('internal', 500, `the jco transpile process did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const poll = setInterval(() => {
      void residentBytes(child.pid).then((rss) => {
        if (settled || rss === undefined || rss <= limits.memoryBytes) return;
        settle(
          new TranspileLimitError(
            'memory',
            `transpiling the component needed more than ${Math.round(limits.memoryBytes / MiB)} MiB (the host's compile memory ceiling)`,
          ),
        );
      });
    }, RSS_POLL_MS);
    child.on('message', (msg: ChildMessage) => {
      if ('ready' in msg) {
        child.send({ bytes, options: TRANSPILE_OPTIONS });
      } else if ('started' in msg) {
        clearTimeout(timer);
        timer = setTimeout(() => {
          settle(new TranspileLimitError('time', `transpiling the component took longer than ${limits.timeoutMs} ms (the host's compile timeout)`));
        }, limits.timeoutMs);
      } else if (msg.ok) {
        settle(undefined, { files: msg.files, imports: msg.imports, exports: msg.exports });
      } else {
        settle(new ComponentError('invalid_component', `jco could not transpile the component: ${msg.message.split('\n')[0]}`));
      }
    });
    child.once('error', (err) => settle(new WaferError('internal', 500, `the jco transpile process failed: ${err.message}`, { cause: err })));
    child.once('exit', (code, signal) => {
      settle(new WaferError('internal', 500, `the jco transpile process stopped (${signal ?? `exit code ${code}`}) without an answer`));
    });
  });
}
