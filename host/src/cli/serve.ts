/**
 * @module cli/serve
 * `wafer serve`: validates the configuration, starts the host, deploys the built samples,
 * and runs until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { loadConfig, type ConfigInput } from '../config.js';
import { createLogger } from '../logger.js';
import { startHost } from '../server/host.js';
import { SAMPLES_DIST } from '../paths.js';
import { WAFER_VERSION } from '../version.js';

interface ServeFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  cacheDir?: string;
  engine?: string;
  config?: string;
  timeoutMs?: string;
  memoryMb?: string;
  maxUploadMb?: string;
  maxConcurrency?: string;
  maxQueue?: string;
  maxCalls?: string;
  maxQueuedCalls?: string;
  callShare?: string;
  samples: boolean;
  samplesDir?: string;
  logLevel?: string;
  inlineBudgetMs?: string;
  executorThreads?: string;
  warmConcurrency?: string;
  maxRequestMb?: string;
  maxResponseMb?: string;
  headersTimeoutMs?: string;
  requestTimeoutMs?: string;
  maxConnections?: string;
  keepVersions?: string;
  compileTimeoutMs?: string;
  compileConcurrency?: string;
  compileMemoryMb?: string;
  tieredStartMb?: string;
  functionLogKb?: string;
  usageFlushMs?: string;
  benchResults?: string;
  metricsToken?: string;
  metering?: string;
  cluster?: string;
}

const mib = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value) * 1024 * 1024);

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the host: HTTP API, invoke path, and the built samples deployed as <sample>-<lang>')
    .option('-p, --port <port>', 'port to listen on (default 8080; 0 picks a free one)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--data-dir <dir>', 'data directory: functions, blobs, token (default $WAFER_DATA_DIR or ~/.local/share/wafer)')
    .option('--cache-dir <dir>', 'compiled-artifact cache (default <data-dir>/cache)')
    .option('--engine <engine>', 'wasmtime (default) or jco')
    .option('--config <file>', 'JSON config file (flags and WAFER_* variables override it)')
    .option('--timeout-ms <ms>', 'default time quota per call (default 5000)')
    .option('--memory-mb <mb>', 'default memory quota per instance (default 256)')
    .option('--max-upload-mb <mb>', 'largest accepted upload (default 64)')
    .option('--max-request-mb <mb>', 'largest request body a function is called with (default 16)')
    .option('--max-response-mb <mb>', 'largest response a function may answer; more is `bad_response` (default 16)')
    .option('--headers-timeout-ms <ms>', 'request headers must arrive within this (default 10000)')
    .option('--request-timeout-ms <ms>', 'a whole request, body included, must arrive within this (default 120000)')
    .option('--max-connections <n>', 'client connections held at once (default 1024)')
    .option('--keep-versions <n>', 'versions kept per function; older ones are garbage-collected (default 10)')
    .option('--compile-timeout-ms <ms>', 'time budget of one compile or transpile (default 120000)')
    .option('--compile-concurrency <n>', 'compiles running at once, host-wide (default 1)')
    .option('--compile-memory-mb <mb>', 'memory one compile may use (default 2048)')
    .option('--tiered-start-mb <mb>', 'wasmtime: uploads this large or larger answer once Winch has compiled them and move to Cranelift when its background compile ends (default 1; 0: off)')
    .option('--function-log-kb <kb>', 'guest output kept on disk per function, all its log segments together; the oldest go first (default 4096)')
    .option('--usage-flush-ms <ms>', 'usage counters are written to the data directory this often; a crash loses at most this much metering (default 10000)')
    .option('--metrics-token <token>', 'GET /metrics then needs Authorization: Bearer <token> (the management token works too); default: /metrics is open ($WAFER_METRICS_TOKEN)')
    .option('--metering <on|off>', 'usage metering and per-function logs; off only to measure what they cost per call (usage and logs then stay empty; default on, $WAFER_METERING)')
    .option('--max-concurrency <n>', 'calls running at once per function (default 8)')
    .option('--max-queue <n>', 'calls waiting per function before `overloaded` (default 64)')
    .option('--max-calls <n>', 'calls running at once, host-wide (default 16)')
    .option('--max-queued-calls <n>', 'calls waiting host-wide before `overloaded` (default 256)')
    .option('--call-share <fraction>', 'the part of the host-wide running and queued calls one function may hold (default 0.5)')
    .option('--bench-results <dir>', 'wafer bench run folders the dashboard shows the newest of (default bench/results)')
    .option('--cluster <url>', 'cluster mode: share the registry with other hosts through NATS JetStream at nats://HOST:PORT (docs/CLUSTER.md; $WAFER_CLUSTER; default: the data directory alone)')
    .option('--no-samples', 'do not deploy the built samples at start')
    .option('--samples-dir <dir>', 'folder of <name>.wasm files to deploy at start (default samples/dist)')
    .option('--inline-budget-ms <ms>', 'wasmtime: start each call on the JS thread and keep it there this long before it moves to the executor (default 1; 0: never)')
    .option('--executor-threads <n>', 'wasmtime: threads of each of the two call runtimes, fresh calls and long calls (default 0: one per core)')
    .option('--warm-concurrency <n>', 'deployed functions loaded at once in the background at start (default 2)')
    .option('--log-level <level>', 'fatal, error, warn, info (default), debug, trace or silent')
    .action(async (flags: ServeFlags) => {
      const input: ConfigInput & { config?: string } = {
        port: flags.port,
        host: flags.host,
        dataDir: flags.dataDir,
        cacheDir: flags.cacheDir,
        engine: flags.engine,
        config: flags.config,
        timeoutMs: flags.timeoutMs,
        memoryBytes: flags.memoryMb,
        maxUploadBytes: mib(flags.maxUploadMb),
        maxRequestBytes: mib(flags.maxRequestMb),
        maxResponseBytes: mib(flags.maxResponseMb),
        headersTimeoutMs: flags.headersTimeoutMs,
        requestTimeoutMs: flags.requestTimeoutMs,
        maxConnections: flags.maxConnections,
        keepVersions: flags.keepVersions,
        compileTimeoutMs: flags.compileTimeoutMs,
        compileConcurrency: flags.compileConcurrency,
        compileMemoryBytes: flags.compileMemoryMb,
        tieredStartBytes: flags.tieredStartMb,
        functionLogBytes: flags.functionLogKb,
        usageFlushMs: flags.usageFlushMs,
        benchResultsDir: flags.benchResults,
        metricsToken: flags.metricsToken,
        metering: flags.metering,
        cluster: flags.cluster,
        maxConcurrency: flags.maxConcurrency,
        maxQueue: flags.maxQueue,
        maxCalls: flags.maxCalls,
        maxQueuedCalls: flags.maxQueuedCalls,
        callShare: flags.callShare,
        samplesDir: flags.samples ? (flags.samplesDir ?? SAMPLES_DIST) : null,
        logLevel: flags.logLevel,
        inlineBudgetMs: flags.inlineBudgetMs,
        executorThreads: flags.executorThreads,
        warmConcurrency: flags.warmConcurrency,
      };
      const config = loadConfig(input, process.env);
      const logger = createLogger(config.logLevel);
      const say = (line: string) => process.stdout.write(`${line}\n`);
      say(`wafer ${WAFER_VERSION}: engine ${config.engine}, data dir ${config.dataDir}${config.cluster ? `, cluster ${config.cluster}` : ''}`);
      const host = await startHost(config, logger, {
        onSample: (name, outcome, detail) =>
          say(
            outcome === 'deploying'
              ? `  sample ${name}: compiling (the first start compiles each sample once; later starts load the cache)`
              : `  sample ${name}: ${outcome}${detail ? ` (${detail})` : ''}`,
          ),
      });
      if (host.tokenCreated) {
        const where = config.cluster ? "the cluster's NATS, KV bucket wafer_cluster" : `${config.dataDir}/token`;
        say(`management token (saved to ${where}, shown once): ${host.token}`);
      }
      say(`listening on ${host.url} with ${host.service.list().length} functions; invoke with ${host.url}/fn/<name>`);
      const stop = async () => {
        say('shutting down');
        await host.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
