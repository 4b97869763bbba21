/**
 * @module engine/wasmtime/compiler
 * Compiles components in a separate `node` process (`compile-child.js`), never in the host.
 * Inside the addon a Cranelift compile runs on libuv's pool where nothing can stop it or bound
 * its memory: a hostile or merely huge component could hold a thread and gigabytes for as long as
 * it likes. A child process can be killed. Each compile is given `timeoutMs` and a ceiling on the
 * child's resident memory (`memoryBytes`, polled from `/proc/<pid>/status`); past either the child
 * is killed, the upload is refused with `invalid_component` saying which limit it hit, and a
 * fresh child serves the next compile. The child writes the artifact to the cache path; the host
 * then maps it from disk like any cached artifact. Children are kept between compiles (starting
 * one costs ~0.1 s), one per compile running at once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { ComponentError, WaferError } from '../../errors.js';
import { RSS_POLL_MS, residentBytes } from '../process-memory.js';
import type { NativeEngineOptions, NativeLoadResult } from './native.js';

const CHILD_URL = new URL('./compile-child.js', import.meta.url);
const MiB = 1024 * 1024;
/**
 * Starting a compile process (node and the addon) is the host's own work, not the component's:
 * it is bounded apart from the compile timeout, generously, since a busy machine takes seconds.
 */
const START_TIMEOUT_MS = 30_000;

/** Structured logger (pino-compatible). */
interface CompilerLogger {
  warn(obj: object, msg?: string): void;
}

export interface CompilerOptions {
  addonPath: string;
  /** The host engine's options; the child uses them without the pool. */
  nativeOptions: NativeEngineOptions;
  /** The host engine's compatibility hash: the child's must match, or its artifacts would be refused. */
  compatHash: string;
  timeoutMs: number;
  memoryBytes: number;
  /**
   * Nice value of the compile processes (0: the host's own priority). Background compiles (a
   * tiered start's Cranelift build) run at 10, so an upload's own compile and the calls go first.
   */
  nice?: number;
  logger?: CompilerLogger | undefined;
}

/** Why compiles stopped, for `stats()`. */
export interface CompilerStats {
  compileTimeouts: number;
  compileMemoryKills: number;
  compileCrashes: number;
  compileProcessesStarted: number;
}

type ChildMessage = { ready: true; compatHash: string } | { id: number; result: NativeLoadResult };

export class Compiler {
  private readonly idle: ChildProcess[] = [];
  private readonly all = new Set<ChildProcess>();
  private nextId = 1;
  private closed = false;
  private readonly counters: CompilerStats = { compileTimeouts: 0, compileMemoryKills: 0, compileCrashes: 0, compileProcessesStarted: 0 };

  constructor(private readonly options: CompilerOptions) {}

  /**
   * Compiles `bytes`, checks its world and writes the artifact to `cachePath`, in a child.
   * Resolves with the child's load result (its `errorKind` for components it refuses); rejects
   * with `invalid_component` on the time or memory limit and `internal` when the child dies.
   */
  async compile(digest: string, bytes: Uint8Array, cachePath: string, world?: string): Promise<NativeLoadResult> {
    if (this.closed) throw new WaferError('internal', 500, 'the compiler is closed', { expose: false });
    const { timeoutMs, memoryBytes } = this.options;
    const child = this.idle.pop() ?? (await this.spawn());
    const id = this.nextId++;
    hold(child, true);
    return new Promise<NativeLoadResult>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, result?: NativeLoadResult, keepChild = false) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (keepChild && !this.closed) {
          hold(child, false);
          this.idle.push(child);
        } else {
          this.kill(child);
        }
        if (err) reject(err);
        else resolve(result!);
      };
      const onMessage = (msg: ChildMessage) => {
        if ('id' in msg && msg.id === id) finish(undefined, msg.result, true);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.closed) return finish(new WaferError('internal', 500, 'the engine closed during the compile', { expose: false }));
        this.counters.compileCrashes++;
        this.options.logger?.warn({ digest, code, signal }, 'the compile process died');
        finish(new WaferError('internal', 500, `the compile process stopped (${signal ?? `exit code ${code}`}) while compiling the component`));
      };
      const timer = setTimeout(() => {
        this.counters.compileTimeouts++;
        finish(new ComponentError('invalid_component', `compiling the component took longer than ${timeoutMs} ms (the host's compile timeout)`));
      }, timeoutMs);
      const poll = setInterval(() => {
        void residentBytes(child.pid).then((rss) => {
          if (done || rss === undefined || rss <= memoryBytes) return;
          this.counters.compileMemoryKills++;
          finish(
            new ComponentError(
              'invalid_component',
              `compiling the component needed more than ${Math.round(memoryBytes / MiB)} MiB (the host's compile memory ceiling)`,
            ),
          );
        });
      }, RSS_POLL_MS);
      child.on('message', onMessage);
      child.once('exit', onExit);
      // A send on a channel that just closed throws; its 'exit' may not have been seen yet.
      try {
        child.send({ id, digest, bytes, cachePath, world });
      } catch (err) {
        finish(new WaferError('internal', 500, `cannot reach the compile process: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  stats(): CompilerStats {
    return { ...this.counters };
  }

  /** Kills every compile process; compiles in flight reject. */
  close(): void {
    this.closed = true;
    for (const child of [...this.all]) this.kill(child);
    this.idle.length = 0;
  }

  /** Starts a compile process and waits until its engine is made. */
  private spawn(): Promise<ChildProcess> {
    const child = fork(CHILD_URL, [], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '',
        WAFER_COMPILE_CHILD: JSON.stringify({ addonPath: this.options.addonPath, options: this.options.nativeOptions }),
      },
    });
    this.counters.compileProcessesStarted++;
    this.all.add(child);
    if (this.options.nice && child.pid !== undefined) {
      try {
        setPriority(child.pid, this.options.nice);
      } catch (err) {
        this.options.logger?.warn({ err: (err as Error).message }, 'cannot lower the priority of a background compile process');
      }
    }
    child.once('exit', () => {
      this.all.delete(child);
      const at = this.idle.indexOf(child);
      if (at >= 0) this.idle.splice(at, 1);
    });
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.kill(child);
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(new WaferError('internal', 500, `the compile process did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.once('error', (err) => fail(new WaferError('internal', 500, `cannot start the compile process: ${err.message}`, { cause: err })));
      child.once('exit', (code, signal) => fail(new WaferError('internal', 500, `the compile process stopped at start (${signal ?? `exit code ${code}`})`)));
      child.once('message', (msg: ChildMessage) => {
        if (!('ready' in msg)) return;
        if (msg.compatHash !== this.options.compatHash) {
          fail(new WaferError('internal', 500, `the compile process's engine is incompatible (${msg.compatHash}, host ${this.options.compatHash})`));
          return;
        }
        clearTimeout(timer);
        hold(child, false);
        child.removeAllListeners('error');
        child.on('error', () => undefined); // a failed send surfaces as 'exit'
        resolve(child);
      });
    });
  }

  private kill(child: ChildProcess): void {
    const at = this.idle.indexOf(child);
    if (at >= 0) this.idle.splice(at, 1);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** An idle compile process must not keep the host's event loop (and so the process) alive. */
function hold(child: ChildProcess, busy: boolean): void {
  if (busy) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}
