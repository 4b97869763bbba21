/**
 * Test helpers for cluster mode: wafer hosts as real child processes (`node bin/wafer.js serve
 * --cluster …`), each with its own data directory and loopback port, sharing one nats-server
 * (test/helpers/nats.ts). Child processes, not in-process hosts, so a test can SIGKILL one.
 * They share the tests' compiled cache (keyed by digest and engine build, safe to share) so a
 * component is compiled once per machine, unless a host is given its own (`cache: 'own'`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../host/src/paths.js';
import { WAFER } from './cli.js';
import { SHARED_CACHE } from './host.js';

export const CLUSTER_TOKEN = 'cluster-test-token';

export interface ClusterHost {
  url: string;
  dataDir: string;
  /** Everything the process wrote. */
  output(): string;
  /** Calls the management API with the token. */
  api(method: string, path: string, body?: Uint8Array | string, headers?: Record<string, string>): Promise<Response>;
  /** Uploads a component; resolves with the answer's status and body. */
  deploy(name: string, bytes: Uint8Array): Promise<{ status: number; body: Record<string, unknown> }>;
  call(name: string, rest?: string, init?: RequestInit): Promise<Response>;
  /** Sends `signal` (default SIGTERM) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the host and removes its data directory. */
  destroy(): Promise<void>;
}

export interface ClusterHostOptions {
  engine?: string;
  /** 'own': a compiled cache of its own in its data directory (it compiles what it runs); default the shared one. */
  cache?: 'shared' | 'own';
  /** Extra `wafer serve` flags. */
  args?: string[];
  /** Extra environment (the token is WAFER_TOKEN=CLUSTER_TOKEN unless `env` sets it to ''). */
  env?: NodeJS.ProcessEnv;
}

/** Starts `wafer serve --cluster natsUrl` on a free loopback port; resolves once it listens. */
export async function startClusterHost(natsUrl: string, options: ClusterHostOptions = {}): Promise<ClusterHost> {
  const dataDir = await mkdtemp(join(tmpdir(), 'wafer-cluster-'));
  const args = [WAFER, 'serve', '--cluster', natsUrl, '--port', '0', '--data-dir', dataDir, '--cache-dir', options.cache === 'own' ? join(dataDir, 'cache') : SHARED_CACHE, '--no-samples', '--engine', options.engine ?? 'wasmtime', '--log-level', 'info', ...(options.args ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, WAFER_TOKEN: CLUSTER_TOKEN, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    url = /listening on (http:\/\/[^\s]+) /.exec(log)?.[1];
    if (url) break;
    if (gone || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`wafer serve --cluster did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const token = options.env?.WAFER_TOKEN ?? CLUSTER_TOKEN;
  const host: ClusterHost = {
    url,
    dataDir,
    output: () => log,
    api: (method, path, body, headers = {}) => fetch(`${url}${path}`, { method, body, headers: { authorization: `Bearer ${token}`, ...headers } }),
    async deploy(name, bytes) {
      const res = await host.api('PUT', `/v1/functions/${name}`, bytes, { 'content-type': 'application/wasm' });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    call: (name, rest = '', init = {}) => fetch(`${url}/fn/${name}${rest}`, init),
    async stop(signal = 'SIGTERM') {
      if (!gone) child.kill(signal);
      await exited;
    },
    async destroy() {
      await host.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return host;
}

/** A built component's bytes: `test/fixtures/dist/<name>.wasm` or `samples/dist/<name>.wasm`. */
export async function component(path: 'fixture' | 'sample', name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(ROOT, path === 'fixture' ? 'test/fixtures/dist' : 'samples/dist', `${name}.wasm`)));
}

/** Polls `check` every 20 ms until it is true or `ms` have passed; resolves with the last answer. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
