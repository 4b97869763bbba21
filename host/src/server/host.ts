/**
 * @module server/host
 * Starts a whole host from a validated `Config`: registry, engine, service, samples, and the
 * Koa server on its port. Used by `wafer serve`, the tests and the bench alike.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { createEngine } from '../engine/index.js';
import { FunctionService } from '../functions/service.js';
import { Metrics } from '../functions/metrics.js';
import type { Logger } from '../logger.js';
import { FsRegistry, writeFileAtomic } from '../registry/fs.js';
import { WAFER_VERSION } from '../version.js';
import { createApp } from './app.js';
import { createEdgeServer } from './edge.js';
import { decodeResponse, encodeRequest, encodeResponse } from '../abi/envelope.js';
import { loadOrCreateToken, newManagementToken } from './auth.js';
import type { Registry } from '../registry/registry.js';
import { NatsRegistry } from '../cluster/nats-registry.js';
import { TriggerRunner } from '../triggers/runner.js';
import { NatsTriggerBus } from '../triggers/nats.js';
import { hostname } from 'node:os';

export interface RunningHost {
  url: string;
  token: string;
  /** True when this start generated the token (it is printed once). */
  tokenCreated: boolean;
  service: FunctionService;
  server: Server;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Called for each sample deployed at start, for progress output. */
  onSample?: (name: string, outcome: 'deploying' | 'deployed' | 'unchanged' | 'failed', detail?: string) => void;
}

export async function startHost(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningHost> {
  // Cluster mode: the registry and the management token are shared through NATS (docs/CLUSTER.md).
  const cluster = config.cluster ? await NatsRegistry.open({ servers: config.cluster, dataDir: config.dataDir, logger }) : undefined;
  const registry: Registry = cluster ?? (await FsRegistry.open(config.dataDir));
  const { token, created } = config.token
    ? { token: config.token, created: false }
    : cluster
      ? await clusterToken(cluster, config.dataDir)
      : await loadOrCreateToken(config.dataDir);
  const metrics = new Metrics();
  const engine = await createEngine(config.engine, {
    cacheDir: config.cacheDir,
    maxMemoryBytes: config.maxMemoryBytes,
    moduleCacheBytes: config.moduleCacheBytes,
    inlineBudgetMs: config.inlineBudgetMs,
    executorThreads: config.executorThreads,
    compileTimeoutMs: config.compileTimeoutMs,
    compileConcurrency: config.compileConcurrency,
    compileMemoryBytes: config.compileMemoryBytes,
    tieredStartBytes: config.tieredStartBytes,
    logger,
    onCompile: (compiler, seconds) => metrics.compiled(compiler, seconds),
  });
  metrics.watchEngine(engine);
  const service = new FunctionService({
    registry,
    engine,
    logger,
    metrics,
    defaults: { timeoutMs: config.timeoutMs, memoryBytes: config.memoryBytes },
    ceilings: { timeoutMs: config.maxTimeoutMs, memoryBytes: config.maxMemoryBytes },
    maxUploadBytes: config.maxUploadBytes,
    maxConcurrency: config.maxConcurrency,
    maxQueue: config.maxQueue,
    maxCalls: config.maxCalls,
    maxQueuedCalls: config.maxQueuedCalls,
    callShare: config.callShare,
    maxResponseBytes: config.maxResponseBytes,
    keepVersions: config.keepVersions,
    warmConcurrency: config.warmConcurrency,
    dataDir: config.dataDir,
    functionLogBytes: config.functionLogBytes,
    usageFlushMs: config.usageFlushMs,
    metering: config.metering,
  });
  await service.init();
  if (config.samplesDir) await deploySamples(service, config.samplesDir, options.onSample);
  // Cron runs on any host; queue triggers and publish need the cluster's NATS (triggers/nats.ts).
  const bus = cluster ? await NatsTriggerBus.open(cluster.connection, logger, `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`) : undefined;
  const triggers = new TriggerRunner({ service, logger, bus });
  await triggers.start();

  const app = createApp({
    service,
    metrics,
    logger,
    token,
    metricsToken: config.metricsToken,
    maxUploadBytes: config.maxUploadBytes,
    maxRequestBytes: config.maxRequestBytes,
    linger: { ms: config.lingerMs, bytes: config.lingerBytes },
    waferVersion: WAFER_VERSION,
    benchResultsDir: config.benchResultsDir,
    triggers,
  });
  const server = createEdgeServer(app.callback(), config);
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  await warmUp(url);
  return {
    url,
    token,
    tokenCreated: created,
    service,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await triggers.close();
      await service.close();
      await engine.close();
      await registry.close?.();
    },
  };
}

/**
 * The cluster's shared management token (NATS KV), also written to `<data>/token` (0600) so the
 * CLI on this machine finds it there, as it does on a single host.
 */
async function clusterToken(cluster: NatsRegistry, dataDir: string): Promise<{ token: string; created: boolean }> {
  const shared = await cluster.sharedToken(newManagementToken);
  const path = join(dataDir, 'token');
  const onDisk = await readFile(path, 'utf8').then((t) => t.trim(), () => undefined);
  if (onDisk !== shared.token) await writeFileAtomic(path, `${shared.token}\n`, 0o600);
  return shared;
}

/**
 * Sends the host a few requests of its own before it reports itself ready, so the first
 * client does not pay for Node compiling the HTTP, Koa and envelope paths on first use.
 */
async function warmUp(url: string): Promise<void> {
  const local = url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
  for (let i = 0; i < 3; i++) {
    await fetch(`${local}/healthz`).then((r) => r.arrayBuffer(), () => undefined);
    await fetch(`${local}/fn/-warm-up`, { method: 'POST', body: 'x' }).then((r) => r.arrayBuffer(), () => undefined);
  }
  decodeResponse(encodeResponse({ status: 200, headers: [{ name: 'a', value: 'b' }], body: new Uint8Array(1) }));
  encodeRequest({ method: 'GET', path: '/', query: '', headers: [], body: new Uint8Array(0), invocationId: '', deadlineMs: 0 });
}

/** Deploys every `samples/dist/<sample>-<lang>.wasm` whose bytes differ from what is serving. */
async function deploySamples(service: FunctionService, dir: string, report: StartOptions['onSample']): Promise<void> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.wasm')).sort();
  } catch {
    return;
  }
  for (const file of files) {
    const name = file.slice(0, -'.wasm'.length);
    const path = join(dir, file);
    const digest = createHash('sha256').update(await readFile(path)).digest('hex');
    const current = service.list().find((fn) => fn.name === name);
    if (current?.digest === digest) {
      report?.(name, 'unchanged');
      continue;
    }
    report?.(name, 'deploying');
    const started = Date.now();
    try {
      await service.deploy(name, createReadStream(path));
      report?.(name, 'deployed', `${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      report?.(name, 'failed', (err as Error).message);
    }
  }
}
