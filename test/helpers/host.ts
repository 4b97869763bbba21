/**
 * Test helpers: a real host on an ephemeral port with its own data directory, and the
 * fixtures. The compiled-artifact cache is shared between tests (it is keyed by digest and
 * engine build), so a component is compiled once per machine, not once per test.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigInput } from '../../host/src/config.js';
import type { EngineName } from '../../host/src/engine/engine.js';
import type { Logger } from '../../host/src/logger.js';
import { startHost, type RunningHost } from '../../host/src/server/host.js';
import { ROOT } from '../../host/src/paths.js';

export const ENGINES: EngineName[] = ['wasmtime', 'jco'];

export const SHARED_CACHE = join(process.env.WAFER_CACHE_DIR ?? join(homedir(), '.cache', 'wafer'), 'test-compiled');

/** A log line the host wrote: its fields and message. */
export interface LogLine {
  fields: Record<string, unknown>;
  msg: string;
}

/** A logger that keeps what it is given, so tests can check guest output reaches the log. */
function capturingLogger(lines: LogLine[]): Logger {
  const keep = (fields: unknown, msg?: unknown) => {
    lines.push({ fields: (typeof fields === 'object' && fields) as Record<string, unknown>, msg: String(msg ?? '') });
  };
  return { info: keep, warn: keep, error: keep, debug: keep } as unknown as Logger;
}

export interface TestHost extends RunningHost {
  dataDir: string;
  /** Everything the host logged. */
  logs: LogLine[];
  /** Calls the management API with the token. */
  api(method: string, path: string, body?: Uint8Array | string, headers?: Record<string, string>): Promise<Response>;
  /** Calls a function: ANY /fn/{name}{rest}. */
  call(name: string, rest?: string, init?: RequestInit): Promise<Response>;
  /** Uploads a component and fails the test unless it is accepted. */
  deploy(name: string, bytes: Uint8Array, query?: string): Promise<Record<string, unknown>>;
  /** Stops the host and starts another on the same data directory. */
  restart(): Promise<TestHost>;
  /** Stops the host and removes its data directory. */
  destroy(): Promise<void>;
}

export async function startTestHost(engine: EngineName, overrides: ConfigInput = {}, dataDir?: string): Promise<TestHost> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'wafer-test-')));
  const config = loadConfig(
    { port: 0, dataDir: dir, cacheDir: SHARED_CACHE, engine, samplesDir: null, token: 'test-token', logLevel: 'silent', ...overrides },
    {},
  );
  const logs: LogLine[] = [];
  const host = await startHost(config, capturingLogger(logs));
  const auth = { authorization: `Bearer ${host.token}` };
  const testHost: TestHost = {
    ...host,
    dataDir: dir,
    logs,
    api: (method, path, body, headers = {}) => fetch(`${host.url}${path}`, { method, body, headers: { ...auth, ...headers } }),
    call: (name, rest = '', init = {}) => fetch(`${host.url}/fn/${name}${rest}`, init),
    async deploy(name, bytes, query = '') {
      const res = await testHost.api('PUT', `/v1/functions/${name}${query}`, bytes, { 'content-type': 'application/wasm' });
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status !== 201) throw new Error(`deploy ${name} answered ${res.status}: ${JSON.stringify(body)}`);
      return body;
    },
    async restart() {
      await host.close();
      return startTestHost(engine, overrides, dir);
    },
    async destroy() {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return testHost;
}

/** The bytes of a built fixture, test/fixtures/dist/<name>.wasm. */
export function fixture(name: string): Promise<Buffer> {
  return readFile(join(ROOT, 'test', 'fixtures', 'dist', `${name}.wasm`));
}

/** The bytes of a built sample, samples/dist/<name>.wasm. */
export function sample(name: string): Promise<Buffer> {
  return readFile(join(ROOT, 'samples', 'dist', `${name}.wasm`));
}

/** The JSON error body's code and message, checking its shape. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
  if (typeof body.error?.code !== 'string' || typeof body.error?.message !== 'string') {
    throw new Error(`not a wafer error body: ${JSON.stringify(body)}`);
  }
  return body.error as { code: string; message: string };
}
