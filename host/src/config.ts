/**
 * @module config
 * The host's configuration, read once at start-up in this order: a JSON file (`--config`),
 * then `WAFER_*` environment variables, then command-line flags. It is validated before the
 * server listens and passed down; nothing else reads `process.env`.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import * as L from './limits.js';
import type { EngineName } from './engine/engine.js';
import { dropUndefined } from './util.js';
import { BENCH_RESULTS } from './paths.js';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Compiled artifacts; defaults to `<dataDir>/cache`. Safe to share between hosts of one build. */
  cacheDir: string;
  engine: EngineName;
  /** Bearer token for management routes; when unset, read or generated in the data directory. */
  token: string | undefined;
  /** Bearer token GET /metrics needs (the management token is accepted too); unset, /metrics is open. */
  metricsToken: string | undefined;
  /** Usage metering and per-function logs; off only to measure what they cost (`WAFER_METERING=off`). */
  metering: boolean;
  maxUploadBytes: number;
  maxRequestBytes: number;
  timeoutMs: number;
  memoryBytes: number;
  maxTimeoutMs: number;
  maxMemoryBytes: number;
  maxConcurrency: number;
  maxQueue: number;
  /** Calls running at once, host-wide. */
  maxCalls: number;
  /** Calls waiting for a slot, host-wide. */
  maxQueuedCalls: number;
  /** The fraction (0 < share ≤ 1) of the host-wide running and queued calls one function may hold. */
  callShare: number;
  moduleCacheBytes: number;
  /**
   * wasmtime only: every call starts on the JS thread and runs there for about this many ms (one
   * epoch tick by default); a call that ends by then answers with no thread hop, one still
   * running continues on the addon's executor (never re-run). 0 sends every call straight to
   * the executor.
   */
  inlineBudgetMs: number;
  /** wasmtime: worker threads of each of the addon's two executor runtimes; 0 = one per core. */
  executorThreads: number;
  /** Deployed functions loaded at once in the background at start. */
  warmConcurrency: number;
  /** Largest `ok` output a guest may return; more answers `bad_response`. */
  maxResponseBytes: number;
  /** Request headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** A whole request, body included, must arrive within this. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
  /** Client connections held at once. */
  maxConnections: number;
  /** After an answer sent before the body was read: how long to drain the rest before closing. */
  lingerMs: number;
  /** ... and how many bytes at most. */
  lingerBytes: number;
  /** Versions kept per function; older blobs and artifacts are collected. */
  keepVersions: number;
  /** Time budget of one compile or transpile. */
  compileTimeoutMs: number;
  /** Compiles and transpiles running at once, host-wide. */
  compileConcurrency: number;
  /** Memory one compile or transpile may use. */
  compileMemoryBytes: number;
  /** wasmtime: uploads at least this large start on Winch while Cranelift compiles behind; 0 = off. */
  tieredStartBytes: number;
  /** Guest output kept on disk per function (its log), in bytes. */
  functionLogBytes: number;
  /** How often usage counters are written to the data directory (the most a crash loses). */
  usageFlushMs: number;
  /** `wafer bench` run folders; `GET /v1/bench/latest` answers the newest one's summary. */
  benchResultsDir: string;
  /** Folder of built sample components to deploy at start, or null for none. */
  samplesDir: string | null;
  /**
   * Cluster mode: the NATS server(s) whose JetStream holds the shared registry (docs/CLUSTER.md),
   * as `nats://host:port[,nats://…]`; undefined: the embedded registry in the data directory.
   */
  cluster: string | undefined;
  logLevel: string;
}

/** Everything a flag, variable or file may set; strings are parsed and checked. */
export type ConfigInput = Partial<Record<keyof Config, string | number | null | undefined>>;

const ENGINES: readonly EngineName[] = ['wasmtime', 'jco'];
const ENGINE_ALIASES: Record<string, EngineName> = { wasmtime: 'wasmtime', native: 'wasmtime', jco: 'jco', v8: 'jco' };

/** The data directory used when none is given: $WAFER_DATA_DIR, else ~/.local/share/wafer. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return env.WAFER_DATA_DIR || join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'wafer');
}

const ENV_KEYS: Record<string, keyof Config> = {
  WAFER_HOST: 'host',
  WAFER_PORT: 'port',
  WAFER_DATA_DIR: 'dataDir',
  WAFER_CACHE_DIR_COMPILED: 'cacheDir',
  WAFER_ENGINE: 'engine',
  WAFER_TOKEN: 'token',
  WAFER_METRICS_TOKEN: 'metricsToken',
  WAFER_METERING: 'metering',
  WAFER_MAX_UPLOAD_BYTES: 'maxUploadBytes',
  WAFER_TIMEOUT_MS: 'timeoutMs',
  WAFER_MEMORY_MB: 'memoryBytes',
  WAFER_MAX_CONCURRENCY: 'maxConcurrency',
  WAFER_MAX_QUEUE: 'maxQueue',
  WAFER_MAX_CALLS: 'maxCalls',
  WAFER_MAX_QUEUED_CALLS: 'maxQueuedCalls',
  WAFER_CALL_SHARE: 'callShare',
  WAFER_LOG_LEVEL: 'logLevel',
  WAFER_INLINE_BUDGET_MS: 'inlineBudgetMs',
  WAFER_EXECUTOR_THREADS: 'executorThreads',
  WAFER_WARM_CONCURRENCY: 'warmConcurrency',
  WAFER_MAX_REQUEST_BYTES: 'maxRequestBytes',
  WAFER_MAX_RESPONSE_BYTES: 'maxResponseBytes',
  WAFER_HEADERS_TIMEOUT_MS: 'headersTimeoutMs',
  WAFER_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  WAFER_KEEP_ALIVE_TIMEOUT_MS: 'keepAliveTimeoutMs',
  WAFER_MAX_CONNECTIONS: 'maxConnections',
  WAFER_LINGER_MS: 'lingerMs',
  WAFER_LINGER_BYTES: 'lingerBytes',
  WAFER_KEEP_VERSIONS: 'keepVersions',
  WAFER_COMPILE_TIMEOUT_MS: 'compileTimeoutMs',
  WAFER_COMPILE_CONCURRENCY: 'compileConcurrency',
  WAFER_COMPILE_MEMORY_MB: 'compileMemoryBytes',
  WAFER_TIERED_START_MB: 'tieredStartBytes',
  WAFER_FUNCTION_LOG_KB: 'functionLogBytes',
  WAFER_USAGE_FLUSH_MS: 'usageFlushMs',
  WAFER_BENCH_RESULTS_DIR: 'benchResultsDir',
  WAFER_CLUSTER: 'cluster',
};

export class ConfigError extends Error {}

/** Builds the configuration from a file, the environment and flags (later wins), and validates it. */
export function loadConfig(flags: ConfigInput & { config?: string }, env: NodeJS.ProcessEnv): Config {
  const fromFile: ConfigInput = flags.config ? readConfigFile(flags.config) : {};
  const fromEnv: ConfigInput = {};
  for (const [key, field] of Object.entries(ENV_KEYS)) if (env[key] !== undefined && env[key] !== '') fromEnv[field] = env[key];
  const merged: ConfigInput = { ...fromFile, ...fromEnv, ...dropUndefined(flags) };

  const dataDir = resolve(String(merged.dataDir ?? defaultDataDir(env)));
  const engineRaw = String(merged.engine ?? 'wasmtime').toLowerCase();
  const engine = ENGINE_ALIASES[engineRaw];
  if (!engine) throw new ConfigError(`unknown engine ${JSON.stringify(engineRaw)}: choose one of ${ENGINES.join(', ')}`);
  const MiB = 1024 * 1024;
  const config: Config = {
    host: String(merged.host ?? L.DEFAULT_HOST),
    port: int('port', merged.port, L.DEFAULT_PORT, 0, 65535),
    dataDir,
    cacheDir: resolve(String(merged.cacheDir ?? join(dataDir, 'cache'))),
    engine,
    token: merged.token ? String(merged.token) : undefined,
    metricsToken: merged.metricsToken ? String(merged.metricsToken) : undefined,
    metering: onOff('metering', merged.metering, true),
    maxUploadBytes: int('max upload bytes', merged.maxUploadBytes, L.DEFAULT_MAX_UPLOAD_BYTES, 1, 2 ** 31),
    maxRequestBytes: int('max request bytes', merged.maxRequestBytes, L.DEFAULT_MAX_REQUEST_BYTES, 1, 2 ** 31),
    timeoutMs: int('timeout ms', merged.timeoutMs, L.DEFAULT_TIMEOUT_MS, 1, L.MAX_TIMEOUT_MS),
    memoryBytes: int('memory mb', merged.memoryBytes, L.DEFAULT_MEMORY_BYTES / MiB, 1, L.MAX_MEMORY_BYTES / MiB) * MiB,
    maxTimeoutMs: L.MAX_TIMEOUT_MS,
    maxMemoryBytes: L.MAX_MEMORY_BYTES,
    maxConcurrency: int('max concurrency', merged.maxConcurrency, L.DEFAULT_MAX_CONCURRENCY, 1, 1024),
    maxQueue: int('max queue', merged.maxQueue, L.DEFAULT_MAX_QUEUE, 0, 100_000),
    maxCalls: int('max calls', merged.maxCalls, L.DEFAULT_MAX_CALLS, 1, 100_000),
    maxQueuedCalls: int('max queued calls', merged.maxQueuedCalls, L.DEFAULT_MAX_QUEUED_CALLS, 0, 1_000_000),
    callShare: fraction('call share', merged.callShare, L.DEFAULT_CALL_SHARE),
    moduleCacheBytes: int('module cache bytes', merged.moduleCacheBytes, L.DEFAULT_MODULE_CACHE_BYTES, 1, 2 ** 40),
    inlineBudgetMs: int('inline budget ms', merged.inlineBudgetMs, 1, 0, 10),
    executorThreads: int('executor threads', merged.executorThreads, 0, 0, 256),
    warmConcurrency: int('warm concurrency', merged.warmConcurrency, L.DEFAULT_WARM_CONCURRENCY, 1, 64),
    maxResponseBytes: int('max response bytes', merged.maxResponseBytes, L.DEFAULT_MAX_RESPONSE_BYTES, 1, 2 ** 31),
    headersTimeoutMs: int('headers timeout ms', merged.headersTimeoutMs, L.DEFAULT_HEADERS_TIMEOUT_MS, 100, 3_600_000),
    requestTimeoutMs: int('request timeout ms', merged.requestTimeoutMs, L.DEFAULT_REQUEST_TIMEOUT_MS, 100, 3_600_000),
    keepAliveTimeoutMs: int('keep-alive timeout ms', merged.keepAliveTimeoutMs, L.DEFAULT_KEEP_ALIVE_TIMEOUT_MS, 100, 3_600_000),
    maxConnections: int('max connections', merged.maxConnections, L.DEFAULT_MAX_CONNECTIONS, 1, 1_000_000),
    lingerMs: int('linger ms', merged.lingerMs, L.DEFAULT_LINGER_MS, 0, 600_000),
    lingerBytes: int('linger bytes', merged.lingerBytes, L.DEFAULT_LINGER_BYTES, 0, 2 ** 40),
    keepVersions: int('keep versions', merged.keepVersions, L.DEFAULT_KEEP_VERSIONS, 1, 100_000),
    compileTimeoutMs: int('compile timeout ms', merged.compileTimeoutMs, L.DEFAULT_COMPILE_TIMEOUT_MS, 100, 3_600_000),
    compileConcurrency: int('compile concurrency', merged.compileConcurrency, L.DEFAULT_COMPILE_CONCURRENCY, 1, 64),
    compileMemoryBytes: int('compile memory mb', merged.compileMemoryBytes, L.DEFAULT_COMPILE_MEMORY_BYTES / MiB, 64, 1 << 20) * MiB,
    tieredStartBytes: int('tiered start mb', merged.tieredStartBytes, L.DEFAULT_TIERED_START_BYTES / MiB, 0, 1 << 20) * MiB,
    functionLogBytes: int('function log kb', merged.functionLogBytes, L.DEFAULT_FUNCTION_LOG_BYTES / 1024, 16, 1 << 30) * 1024,
    usageFlushMs: int('usage flush ms', merged.usageFlushMs, L.DEFAULT_USAGE_FLUSH_MS, 100, 3_600_000),
    benchResultsDir: resolve(String(merged.benchResultsDir ?? BENCH_RESULTS)),
    samplesDir: merged.samplesDir === null ? null : merged.samplesDir ? resolve(String(merged.samplesDir)) : null,
    logLevel: String(merged.logLevel ?? 'info'),
    cluster: clusterUrls(merged.cluster),
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(`headers timeout ms (${config.headersTimeoutMs}) must not exceed request timeout ms (${config.requestTimeoutMs})`);
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    throw new ConfigError(`unknown log level ${JSON.stringify(config.logLevel)}`);
  }
  return config;
}

function int(what: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`invalid ${what} ${JSON.stringify(value)}: expected an integer from ${min} to ${max}`);
  }
  return n;
}

/** `nats://host:port` (or `tls://`), comma-separated; the NATS client resolves the rest. */
function clusterUrls(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const urls = String(value).split(',').map((u) => u.trim());
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['nats:', 'tls:'].includes(parsed.protocol) || !parsed.hostname) {
      throw new ConfigError(`invalid cluster ${JSON.stringify(url).slice(0, 200)}: expected nats://HOST:PORT (or tls://), comma-separated`);
    }
  }
  return urls.join(',');
}

function onOff(what: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === false) return value;
  const v = String(value).trim().toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new ConfigError(`invalid ${what} ${JSON.stringify(value)}: expected on or off`);
}

function fraction(what: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new ConfigError(`invalid ${what} ${JSON.stringify(value)}: expected a number above 0 and at most 1`);
  return n;
}

function readConfigFile(path: string): ConfigInput {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ConfigInput;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
}
