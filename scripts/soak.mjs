#!/usr/bin/env node
// Soak: a real `wafer serve` child process, a few functions (fast, trapping, failing, looping
// into its timeout), and N calls over keep-alive connections with ~10 % traps and timeouts
// mixed in. Samples the host's RSS from /proc every few seconds and reports RSS over time, its
// drift after warm-up, answers by code, calls/s and host crashes, as JSON and a summary.
// Run `npm run build` (tsc) and `node scripts/build-fixtures.mjs` first (`npm run soak` does).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HELP = `usage: npm run soak -- [--calls N] [--engine wasmtime|jco] [--connections C] [--out file.json]

  --calls N          calls to make in all (default 1000000)
  --engine E         wasmtime (default) or jco
  --connections C    keep-alive connections, each one call at a time (default 8)
  --sample-ms MS     how often the host's RSS is sampled (default 2000)
  --out FILE         where the JSON report goes (default soak-<engine>.json in the current folder)
  --help             this text

The mix: 90 % a fast function (200), 4 % a trap (500 trap), 3 % err() (500 function_error),
3 % a loop stopped by its 20 ms time quota (504 timeout). Every other answer is counted as
unexpected. The host runs as a child process with its own temporary data directory.`;

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    engine: { type: 'string', default: 'wasmtime' },
    connections: { type: 'string', default: '8' },
    'sample-ms': { type: 'string', default: '2000' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}
const CALLS = Number(flags.calls);
const CONNECTIONS = Number(flags.connections);
const SAMPLE_MS = Number(flags['sample-ms']);
const ENGINE = flags.engine;
if (!Number.isInteger(CALLS) || CALLS < 1) throw new Error(`--calls must be a positive integer, got ${flags.calls}`);
if (!Number.isInteger(CONNECTIONS) || CONNECTIONS < 1) throw new Error(`--connections must be a positive integer`);
if (ENGINE !== 'wasmtime' && ENGINE !== 'jco') throw new Error(`--engine must be wasmtime or jco, got ${ENGINE}`);
const OUT = flags.out ?? `soak-${ENGINE}.json`;
const TOKEN = 'soak-token';

/** The functions, each with its share of calls and the one answer it may give. */
const MIX = [
  { name: 'fast', fixture: 'respond', query: '', share: 0.9, expect: '200' },
  { name: 'crash', fixture: 'trap', query: '', share: 0.04, expect: '500 trap' },
  { name: 'fails', fixture: 'err', query: '', share: 0.03, expect: '500 function_error' },
  { name: 'spin', fixture: 'loop', query: '?timeout_ms=20', share: 0.03, expect: '504 timeout' },
];

/** Picks the function for call i: a fixed interleaving, so every run mixes the same way. */
function pick(i) {
  const slot = (i * 7919) % 100;
  let acc = 0;
  for (const fn of MIX) {
    acc += fn.share * 100;
    if (slot < acc) return fn;
  }
  return MIX[0];
}

function rssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return null;
  }
}

/** Starts `wafer serve` and resolves with its URL once it prints it. */
function startHost(dataDir) {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'wafer.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--engine', ENGINE, '--no-samples', '--log-level', 'error'],
    { env: { ...process.env, WAFER_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1], stderr: () => stderr });
    });
    child.once('exit', (code, signal) => reject(new Error(`wafer serve exited (${code ?? signal}) before listening: ${stderr}`)));
  });
}

function request(agent, url, method, path, body) {
  return new Promise((resolve) => {
    const req = http.request(`${url}${path}`, { method, agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/wasm' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ status: 0, body: Buffer.from(String(err.code ?? err.message)) }));
    });
    req.on('error', (err) => resolve({ status: 0, body: Buffer.from(String(err.code ?? err.message)) }));
    req.end(body);
  });
}

/** "200", or "<status> <code>" for a wafer error body, or "<status> ?" when the body is not one. */
function answerOf({ status, body }) {
  if (status === 0) return `connection ${body.toString()}`;
  if (status === 200) return '200';
  try {
    return `${status} ${JSON.parse(body.toString()).error.code}`;
  } catch {
    return `${status} ?`;
  }
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'wafer-soak-'));
  const started = Date.now();
  let host = await startHost(dataDir);
  const crashes = [];
  let stopping = false;
  const watch = () =>
    host.child.once('exit', (code, signal) => {
      if (!stopping) crashes.push({ atMs: Date.now() - started, code, signal, stderr: host.stderr() });
    });
  watch();
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

  for (const fn of MIX) {
    const bytes = await readFile(join(ROOT, 'test', 'fixtures', 'dist', `${fn.fixture}.wasm`));
    const res = await request(agent, host.url, 'PUT', `/v1/functions/${fn.name}${fn.query}`, bytes);
    if (res.status !== 201) throw new Error(`deploying ${fn.name} answered ${res.status}: ${res.body}`);
  }

  const answers = {};
  const unexpected = {};
  const samples = [];
  let done = 0;
  let next = 0;
  const sample = () => samples.push({ s: Math.round((Date.now() - started) / 100) / 10, calls: done, rssMiB: rssMiB(host.child.pid) });
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);
  const progress = setInterval(() => {
    const last = samples.at(-1);
    process.stderr.write(`soak: ${done}/${CALLS} calls, RSS ${last?.rssMiB} MiB, ${crashes.length} crashes\n`);
  }, 30_000);

  const callStart = Date.now();
  let restarting = null;
  async function worker() {
    while (next < CALLS) {
      const i = next++;
      const fn = pick(i);
      // Crashed? Restart on the same data directory so the run goes on and the crash is counted.
      if (host.child.exitCode !== null || host.child.signalCode !== null) {
        restarting ??= startHost(dataDir).then((h) => {
          host = h;
          watch();
          restarting = null;
        });
        await restarting;
      }
      const answer = answerOf(await request(agent, host.url, 'POST', `/fn/${fn.name}`, `call ${i}`));
      answers[answer] = (answers[answer] ?? 0) + 1;
      if (answer !== fn.expect) {
        const key = `${fn.name}: ${answer}`;
        unexpected[key] = (unexpected[key] ?? 0) + 1;
      }
      done++;
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (Date.now() - callStart) / 1000;
  sample();
  clearInterval(sampler);
  clearInterval(progress);
  stopping = true;
  host.child.kill('SIGTERM');
  agent.destroy();
  await new Promise((r) => (host.child.exitCode !== null ? r() : host.child.once('exit', r)));
  await rm(dataDir, { recursive: true, force: true });

  // Warm-up: the first 10 % of the calls. Drift compares the mean of the last three samples with
  // the first sample after warm-up.
  const warm = samples.find((s) => s.calls >= CALLS * 0.1 && s.rssMiB !== null) ?? samples[0];
  const tail = samples.slice(-3).filter((s) => s.rssMiB !== null);
  const end = tail.reduce((n, s) => n + s.rssMiB, 0) / Math.max(1, tail.length);
  const peak = Math.max(...samples.map((s) => s.rssMiB ?? 0));
  const report = {
    command: `node scripts/soak.mjs --calls ${CALLS} --engine ${ENGINE} --connections ${CONNECTIONS}`,
    engine: ENGINE,
    calls: done,
    connections: CONNECTIONS,
    seconds: Math.round(seconds * 10) / 10,
    callsPerSecond: Math.round(done / seconds),
    mix: MIX.map(({ name, fixture, query, share, expect }) => ({ name, fixture, query, share, expect })),
    answers,
    unexpected,
    unexpectedCount: Object.values(unexpected).reduce((a, b) => a + b, 0),
    crashes,
    restarts: crashes.length,
    rss: {
      startMiB: samples[0]?.rssMiB,
      afterWarmupMiB: warm?.rssMiB,
      endMiB: Math.round(end * 10) / 10,
      peakMiB: peak,
      driftAfterWarmupPct: warm?.rssMiB ? Math.round(((end - warm.rssMiB) / warm.rssMiB) * 1000) / 10 : null,
    },
    samples,
  };
  await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);

  // The readable summary: headline figures, answers by code, and RSS over time in ~15 rows.
  const step = Math.max(1, Math.ceil(samples.length / 15));
  const rows = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  console.log(`soak on ${ENGINE}: ${done} calls in ${report.seconds} s (${report.callsPerSecond} calls/s) over ${CONNECTIONS} connections`);
  console.log(`host crashes/restarts: ${crashes.length}; unexpected answers: ${report.unexpectedCount}`);
  console.log(`RSS: start ${report.rss.startMiB} MiB, after warm-up ${report.rss.afterWarmupMiB} MiB, end ${report.rss.endMiB} MiB, peak ${peak} MiB, drift after warm-up ${report.rss.driftAfterWarmupPct} %`);
  console.log('\nanswers:');
  for (const [answer, n] of Object.entries(answers).sort((a, b) => b[1] - a[1])) console.log(`  ${answer.padEnd(24)} ${n}`);
  if (report.unexpectedCount) for (const [k, n] of Object.entries(unexpected)) console.log(`  UNEXPECTED ${k}: ${n}`);
  console.log('\n   time s      calls   RSS MiB');
  for (const r of rows) console.log(`${String(r.s).padStart(9)} ${String(r.calls).padStart(10)} ${String(r.rssMiB).padStart(9)}`);
  console.log(`\nJSON report: ${OUT}`);
  process.exitCode = crashes.length === 0 && report.unexpectedCount === 0 ? 0 : 1;
}

await main();
