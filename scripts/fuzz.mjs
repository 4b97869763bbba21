#!/usr/bin/env node
/**
 * `npm run fuzz`: a mutation fuzzer against a real host (`node bin/wafer.js serve` in its own
 * process, so a crash is seen as the process dying). Each iteration PUTs one mutated component
 * (from valid samples and fixtures) to /v1/functions, then a valid component, which must still be
 * accepted (the poisoning check, issue 8 #2), then sends one mutated raw HTTP request over
 * `node:net` to the upload or invoke routes; the host must answer or close. After every batch,
 * /healthz and a healthy function must answer. Reports iterations, crashes, poisonings and the
 * codes seen as JSON, then a one-line summary. Exits 1 on any crash or poisoning.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baseRequests, mutateComponent, mutateRequest, prng } from '../test/fuzz/mutate.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'fuzz-token';
/** Mutation sources: small valid components, so most mutations reach the decoder and compiler quickly. */
const SOURCES = ['samples/dist/hello-rust.wasm', 'samples/dist/json-rust.wasm', 'samples/dist/fib-rust.wasm', 'test/fixtures/dist/respond.wasm', 'test/fixtures/dist/echo.wasm', 'test/fixtures/dist/counter.wasm'];
/** Uploaded after each mutated one; must answer 201. */
const VALID = ['samples/dist/hello-rust.wasm', 'test/fixtures/dist/respond.wasm'];
const BATCH = 25;
const RAW_TIMEOUT_MS = 1000;

const HELP = `usage: npm run fuzz -- [options]

  --iterations N    mutated uploads (each followed by a valid one and a mutated raw request); default 1000
  --seed S          PRNG seed; the same seed replays the same inputs; default 1
  --duration-s D    stop after D seconds even if iterations remain
  --engine E        wasmtime (default) or jco
  --out FILE        also write the JSON report to FILE
  --keep DIR        save every input that crashed or poisoned the host under DIR (default fuzz-findings/)
  -h, --help        this text

Needs the built host (npm run build; npm run fuzz builds it first).`;

/** Starts `wafer serve` on a free port with a fresh data directory; resolves once it listens. */
async function startHost(engine, dataDir, cacheDir) {
  const entry = join(ROOT, 'dist', 'host', 'src', 'cli', 'main.js');
  if (!existsSync(entry)) throw new Error('the host is not built: run `npm run build` first');
  const args = ['bin/wafer.js', 'serve', '--port', '0', '--data-dir', dataDir, '--cache-dir', cacheDir, '--engine', engine, '--no-samples', '--log-level', 'error', '--compile-timeout-ms', '30000'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, WAFER_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the host did not start: ${out}`)), 60_000);
    const onData = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+?) with/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`the host exited at start (${signal ?? code}): ${out}`)));
  });
  // Keep the tail of what the host wrote: a crash's stack trace is the first thing to read.
  const host = { child, url, port: Number(new URL(url).port), tail: '' };
  const keepTail = (d) => (host.tail = (host.tail + d).slice(-8192));
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);
  return host;
}

/** Sends raw bytes; resolves with the status the host answered, or how the connection ended. */
function rawRequest(port, bytes) {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const finish = (outcome) => {
      clearTimeout(timer);
      socket.destroy();
      done(outcome);
    };
    const timer = setTimeout(() => finish('no-answer'), RAW_TIMEOUT_MS);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (m) finish(m[1]);
    });
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish(data ? 'garbled' : 'closed'));
    socket.write(bytes, () => undefined);
  });
}

async function upload(url, name, bytes) {
  try {
    const res = await fetch(`${url}/v1/functions/${name}`, {
      method: 'PUT',
      body: bytes,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/wasm' },
      signal: AbortSignal.timeout(90_000),
    });
    const body = await res.json().catch(() => ({}));
    return { status: res.status, code: body?.error?.code ?? (res.status === 201 ? 'created' : `http_${res.status}`) };
  } catch (err) {
    return { status: 0, code: `fetch_failed:${err?.cause?.code ?? err?.name ?? 'error'}` };
  }
}

async function healthy(url) {
  try {
    const [health, call] = await Promise.all([fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }), fetch(`${url}/fn/healthy`, { signal: AbortSignal.timeout(10_000) })]);
    const text = await call.text();
    await health.arrayBuffer();
    return health.status === 200 && call.status === 200 && text === 'ok';
  } catch {
    return false;
  }
}

const bump = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);

/** Runs the fuzzer; resolves with the report. */
export async function runFuzz({ iterations = 1000, seed = 1, durationS = Infinity, engine = 'wasmtime', keepDir = join(ROOT, 'fuzz-findings'), log = () => {} } = {}) {
  const rand = prng(seed);
  const sources = await Promise.all(SOURCES.map((p) => readFile(join(ROOT, p))));
  const valid = await Promise.all(VALID.map((p) => readFile(join(ROOT, p))));
  const respond = await readFile(join(ROOT, 'test/fixtures/dist/respond.wasm'));
  const requests = baseRequests(TOKEN, respond);
  const dataDir = await mkdtemp(join(tmpdir(), 'wafer-fuzz-'));
  const cacheDir = join(dataDir, 'cache');
  const report = {
    engine,
    seed,
    iterations: 0,
    uploads: 0,
    rawRequests: 0,
    crashes: 0,
    poisonings: 0,
    unhealthyBatches: 0,
    hostStarts: 0,
    uploadCodes: {},
    uploadMutations: {},
    rawOutcomes: {},
    findings: [],
    seconds: 0,
  };
  const started = Date.now();
  let host = await startHost(engine, dataDir, cacheDir);
  report.hostStarts++;
  // Stopped from outside (Ctrl-C): the host must not outlive its fuzzer.
  const stop = (signal) => {
    host.child.kill('SIGTERM');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  const deployHealthy = () => upload(host.url, 'healthy', respond);
  await deployHealthy();
  const keep = async (kind, i, bytes, detail) => {
    await mkdir(keepDir, { recursive: true });
    const file = join(keepDir, `${kind}-seed${seed}-${i}.bin`);
    await writeFile(file, bytes);
    report.findings.push({ kind, iteration: i, file, ...detail });
  };
  try {
    for (let i = 0; i < iterations && (Date.now() - started) / 1000 < durationS; i++) {
      const mutated = mutateComponent(rand, rand.pick(sources));
      const raw = mutateRequest(rand, rand.pick(requests));
      // The raw request runs alongside the uploads: a request the host holds open (a lying
      // Content-Length) then costs no extra wall time, and uploads meet concurrent hostile traffic.
      const [outcome] = await Promise.all([
        rawRequest(host.port, raw.bytes),
        (async () => {
          const first = await upload(host.url, 'fz', mutated.bytes);
          bump(report.uploadCodes, first.code);
          bump(report.uploadMutations, mutated.name);
          const check = await upload(host.url, 'fz-valid', valid[i % valid.length]);
          report.uploads += 2;
          // A refused connection means the host died: that is a crash, counted below, not a poisoning.
          if (check.status !== 201 && !check.code.startsWith('fetch_failed')) {
            report.poisonings++;
            await keep('poison', i, mutated.bytes, { mutation: mutated.name, answered: check });
          }
        })(),
      ]);
      report.rawRequests++;
      bump(report.rawOutcomes, outcome);
      report.iterations++;

      const crashed = host.child.exitCode !== null || host.child.signalCode !== null;
      if (crashed || (i + 1) % BATCH === 0) {
        if (crashed || !(await healthy(host.url))) {
          if (crashed || host.child.exitCode !== null) {
            report.crashes++;
            await new Promise((r) => setTimeout(r, 200)); // let the last of its output arrive
            await keep('crash', i, mutated.bytes, { mutation: mutated.name, raw: raw.name, exit: host.child.exitCode ?? host.child.signalCode, output: host.tail });
            await writeFile(join(keepDir, `crash-seed${seed}-${i}.raw.http`), raw.bytes);
            host = await startHost(engine, dataDir, cacheDir);
            report.hostStarts++;
            await deployHealthy();
          } else {
            report.unhealthyBatches++;
            await deployHealthy();
          }
        }
        log(`${i + 1} iterations, ${report.crashes} crashes, ${report.poisonings} poisonings`);
      }
    }
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    host.child.kill('SIGTERM');
    await new Promise((r) => (host.child.exitCode !== null ? r() : host.child.once('exit', r)));
    await rm(dataDir, { recursive: true, force: true });
  }
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  return report;
}

/** The one-line summary printed after the JSON. */
export function summary(r) {
  const codes = Object.entries(r.uploadCodes).map(([k, v]) => `${k} ${v}`).join(', ');
  return `fuzz ${r.engine} seed ${r.seed}: ${r.iterations} iterations (${r.uploads} uploads, ${r.rawRequests} raw requests) in ${r.seconds} s; crashes ${r.crashes}, poisonings ${r.poisonings}, unhealthy batches ${r.unhealthyBatches}; upload codes: ${codes}`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string' },
      seed: { type: 'string' },
      'duration-s': { type: 'string' },
      engine: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const num = (v, name, fallback) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number, not ${JSON.stringify(v)}`);
    return n;
  };
  const engine = values.engine ?? 'wasmtime';
  if (!['wasmtime', 'jco'].includes(engine)) throw new Error(`--engine must be wasmtime or jco, not ${JSON.stringify(engine)}`);
  const durationS = num(values['duration-s'], 'duration-s', Infinity);
  const report = await runFuzz({
    iterations: num(values.iterations, 'iterations', values['duration-s'] === undefined ? 1000 : Infinity),
    seed: num(values.seed, 'seed', 1),
    durationS,
    engine,
    keepDir: values.keep ? resolve(values.keep) : undefined,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const json = JSON.stringify(report, null, 2);
  if (values.out) await writeFile(values.out, `${json}\n`);
  console.log(json);
  console.log(summary(report));
  return report.crashes === 0 && report.poisonings === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(`fuzz: ${err.message}`);
      process.exitCode = 2;
    },
  );
}
