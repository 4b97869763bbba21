/**
 * @module cli/bench
 * `wafer bench`: runs the benchmark suite (bench/src) and prints a table, or with `--json` only
 * the JSON summary. Each run writes JSON, Markdown and an SVG chart to bench/results/<date>/.
 * Progress goes to stderr. The suite is imported lazily so other commands never load it.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { EngineName } from '../engine/engine.js';
import { ROOT } from '../paths.js';
import { UsageError } from './exit.js';

interface BenchFlags {
  quick?: boolean;
  filter?: string;
  duration?: string;
  connections?: string;
  engine: string;
  functions?: string;
  json?: boolean;
  out?: string;
  write: boolean;
  cacheDir?: string;
  instance?: string;
  cluster?: boolean;
}

const SCENARIOS = 'compile, restart, instantiate, warm-call, quota, warm-http, throughput, metering, koa-baseline, deployed-rss, deployed-cold-call, peer';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure cold and warm latency, throughput and memory; print a table and write bench/results/<date>/')
    .option('--quick', 'CI-sized: few samples, 1 s throughput runs, only the fixtures and Rust (under 2 minutes)')
    .option('--filter <regex>', `run only jobs whose "scenario/language/engine" matches (scenarios: ${SCENARIOS}; e.g. "warm-http", "/rust/", "^restart/.*/wasmtime")`)
    .option('--duration <s>', 'seconds per throughput measurement (default 10; quick 1)')
    .option('--connections <list>', 'throughput connection counts, comma-separated (default 1,16,64)')
    .option('--engine <name>', 'wasmtime, jco or all', 'all')
    .option('--functions <n>', 'functions deployed for deployed-rss and deployed-cold-call (default 1000; quick 100)')
    .option('--json', 'print only the JSON summary {environment, results} on stdout')
    .option('--out <dir>', 'where run folders are written (default bench/results)')
    .option('--no-write', 'write no files')
    .option('--instance <mode>', 'fresh or reuse: how the measured functions get their instance (warm-call, warm-http, throughput; default: the host\'s default)')
    .option('--cluster', 'instead of the suite: cluster mode with 1, 2 and 3 hosts on one nats-server (started here), throughput with the connections spread over the hosts, how fast a change reaches another host, and the delivery rate and latency of a queue trigger (docs/CLUSTER.md); uses --engine (default wasmtime), --duration, the first of --connections (default 48), --json')
    .option('--cache-dir <dir>', 'persistent compiled cache for every scenario but compile (default $WAFER_CACHE_DIR/bench-compiled or ~/.cache/wafer/bench-compiled)')
    .addHelpText(
      'after',
      '\nServers under test run in their own processes; this process is the client. See bench/README.md for what each scenario measures.\n' +
        'The peer scenario races wafer against `wasmtime serve` on the wasi:http samples; `npm run bench:peers` installs the wasmtime CLI it needs.',
    )
    .action(async (flags: BenchFlags) => {
      if (flags.cluster) return benchCluster(flags);
      const { runBench, parseConnections, peerSummary, textTable } = await import('../../../bench/src/index.js');
      const engines = parseEngines(flags.engine);
      let filter: RegExp | undefined;
      try {
        filter = flags.filter === undefined ? undefined : new RegExp(flags.filter);
      } catch (err) {
        throw new UsageError(`invalid --filter: ${(err as Error).message}`);
      }
      const durationS = flags.duration === undefined ? undefined : Number(flags.duration);
      if (durationS !== undefined && !(durationS > 0 && durationS <= 3600)) throw new UsageError(`invalid --duration ${flags.duration}: expected seconds from 1 to 3600`);
      const functions = flags.functions === undefined ? undefined : Number(flags.functions);
      if (functions !== undefined && !(Number.isInteger(functions) && functions >= 1 && functions <= 100_000)) {
        throw new UsageError(`invalid --functions ${flags.functions}: expected an integer from 1 to 100000`);
      }
      let connections: number[] | undefined;
      try {
        connections = flags.connections === undefined ? undefined : parseConnections(flags.connections);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (flags.instance !== undefined && flags.instance !== 'fresh' && flags.instance !== 'reuse') throw new UsageError(`invalid --instance ${flags.instance}: expected fresh or reuse`);
      const cacheRoot = process.env.WAFER_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wafer');
      const run = await runBench({
        quick: flags.quick ?? false,
        filter,
        durationS,
        connections,
        engines,
        functions,
        instance: flags.instance as 'fresh' | 'reuse' | undefined,
        outDir: flags.write ? resolve(flags.out ?? join(ROOT, 'bench', 'results')) : null,
        cacheDir: resolve(flags.cacheDir ?? join(cacheRoot, 'bench-compiled')),
        progress: (line) => process.stderr.write(`${line}\n`),
        command: `wafer ${process.argv.slice(2).join(' ')}`,
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(run.report, null, 2)}\n`);
      } else {
        process.stdout.write(`${textTable(run.report.results)}\n`);
        const peer = peerSummary(run.report.results);
        if (peer.length > 0) process.stdout.write(`\nwafer ÷ wasmtime serve (parity is 1):\n${peer.map((l) => `  ${l}`).join('\n')}\n`);
        const env = run.report.environment;
        process.stdout.write(`\nlanguages measured: wat (fixtures)${env.languages.map((l) => `, ${l}`).join('')}; engines: ${Object.values(env.engines).join(', ')}\n`);
        for (const s of env.skipped) process.stdout.write(`skipped ${[s.scenario, s.language, s.engine].filter(Boolean).join('/')}: ${s.reason}\n`);
        if (run.dir) process.stdout.write(`\nwrote ${run.dir}/ (summary.json, report.md, chart.svg, raw/)\n`);
      }
      if (run.failures.length > 0) {
        process.stderr.write(`wafer bench: ${run.failures.length} scenario group(s) failed:\n${run.failures.map((f) => `  ${f}`).join('\n')}\n`);
        process.exitCode = 1;
      }
    });
}

/** `wafer bench --cluster`: bench/src/cluster.ts. Prints its table (or JSON); writes no files. */
async function benchCluster(flags: BenchFlags): Promise<void> {
  const { runClusterBench, clusterTable } = await import('../../../bench/src/cluster.js');
  const { parseConnections } = await import('../../../bench/src/index.js');
  const engine = flags.engine === 'all' ? 'wasmtime' : parseEngines(flags.engine)[0]!;
  const durationS = flags.duration === undefined ? (flags.quick ? 2 : 10) : Number(flags.duration);
  if (!(durationS > 0 && durationS <= 3600)) throw new UsageError(`invalid --duration ${flags.duration}: expected seconds from 1 to 3600`);
  let connections = 48;
  try {
    if (flags.connections !== undefined) connections = parseConnections(flags.connections)[0]!;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const cacheRoot = process.env.WAFER_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wafer');
  const report = await runClusterBench({
    engine,
    durationS,
    connections,
    hostCounts: [1, 2, 3],
    cacheDir: resolve(flags.cacheDir ?? join(cacheRoot, 'bench-compiled')),
    propagationSamples: flags.quick ? 10 : 50,
    triggerMessages: flags.quick ? 500 : 5000,
    triggerLatencySamples: flags.quick ? 20 : 100,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${clusterTable(report)}\n`);
}

function parseEngines(value: string): EngineName[] {
  const v = value.trim().toLowerCase();
  if (v === 'all') return ['wasmtime', 'jco'];
  const aliases: Record<string, EngineName> = { wasmtime: 'wasmtime', native: 'wasmtime', jco: 'jco', v8: 'jco' };
  const engine = aliases[v];
  if (!engine) throw new UsageError(`unknown engine ${JSON.stringify(value)}: choose wasmtime, jco or all`);
  return [engine];
}
