/**
 * @module bench/servers
 * Starts, queries and stops the server processes (child.ts): a wafer host on a given data and
 * cache directory, or the Koa baseline. `listeningAt` is taken the moment the child reports it
 * is serving, which is where `restart` starts its clock.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../host/src/config.js';
import type { ChildMessage, ChildSpec, ParentMessage } from './child.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));
/** A host start loads the engine and the registry; anything slower than this is stuck. */
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
/** The token every bench host uses. */
export const BENCH_TOKEN = 'wafer-bench-token';

export interface ServerProcess {
  url: string;
  pid: number;
  /** `process.hrtime.bigint()` when the bench learnt the server was listening. */
  listeningAt: bigint;
  /** Milliseconds from spawning the process to it listening, as seen by the bench. */
  startMs: number;
  /** The server process's resident set size, in bytes. */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

export interface HostSpec {
  engine: string;
  dataDir: string;
  cacheDir: string;
  /** Extra config (quotas, …). */
  config?: ConfigInput;
}

/** Starts a wafer host in its own process, with no samples and a silent log. */
export function startHostProcess(spec: HostSpec): Promise<ServerProcess> {
  return startChild({
    kind: 'host',
    config: {
      port: 0,
      host: '127.0.0.1',
      engine: spec.engine,
      dataDir: spec.dataDir,
      cacheDir: spec.cacheDir,
      token: BENCH_TOKEN,
      samplesDir: null,
      logLevel: 'silent',
      ...spec.config,
    },
  });
}

export function startKoaProcess(): Promise<ServerProcess> {
  return startChild({ kind: 'koa' });
}

function startChild(spec: ChildSpec): Promise<ServerProcess> {
  const spawnedAt = process.hrtime.bigint();
  // The wasmtime engine runs calls on libuv's pool, sized before it starts (see bin/wafer.js).
  const env = { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? String(Math.max(4, availableParallelism() * 2)) };
  const child = fork(CHILD, [JSON.stringify(spec)], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${spec.kind} process did not start within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`the ${spec.kind} process exited (${code}) before listening${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    child.once('exit', onExit);
    child.on('message', function onMessage(message: ChildMessage) {
      if (message.type === 'error') {
        stderr += message.message;
        return;
      }
      if (message.type !== 'listening') return;
      const listeningAt = process.hrtime.bigint();
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(handle(child, message.url, listeningAt, Number(listeningAt - spawnedAt) / 1e6));
    });
  });
}

function handle(child: ChildProcess, url: string, listeningAt: bigint, startMs: number): ServerProcess {
  let nextId = 1;
  return {
    url,
    pid: child.pid!,
    listeningAt,
    startMs,
    rss() {
      const id = nextId++;
      return new Promise<number>((resolve, reject) => {
        const onMessage = (message: ChildMessage) => {
          if (message.type === 'rss' && message.id === id) {
            child.off('message', onMessage);
            resolve(message.rss);
          }
        };
        child.on('message', onMessage);
        if (!child.send({ type: 'rss', id } satisfies ParentMessage)) reject(new Error('the server process is gone'));
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'close' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
