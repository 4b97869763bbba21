/**
 * @module bench/cluster
 * `wafer bench --cluster`: cluster mode's throughput with 1, 2 and 3 hosts, and how fast a change
 * made through one host reaches another (docs/CLUSTER.md). It starts its own nats-server (the
 * one scripts/setup.sh installs) and three `wafer serve --cluster` hosts, each in its own
 * process on a loopback port, deploys hello-rust through the first, and drives the hosts with
 * autocannon: the connections are split evenly over the hosts under test, one autocannon per
 * host, run at once, and their rates added. On one machine the hosts, NATS and the client share
 * the same cores, so the figures say how wafer spreads over processes, not over machines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerPath } from '../../host/src/cluster/nats-bin.js';
import { SAMPLES_DIST } from '../../host/src/paths.js';
import { deploy, loadTest, send, type LoadResult } from './http-client.js';
import { BENCH_TOKEN, startHostProcess, type ServerProcess } from './servers.js';
import { percentile } from './stats.js';
import { connect } from '@nats-io/transport-node';

export interface ClusterBenchOptions {
  engine: string;
  /** Seconds per throughput measurement. */
  durationS: number;
  /** Connections in all, split over the hosts under test. */
  connections: number;
  /** Host counts to measure, e.g. [1, 2, 3]. */
  hostCounts: number[];
  cacheDir: string;
  /** Changes timed from one host to another. */
  propagationSamples: number;
  /** Messages fed to a queue trigger at once (the delivery rate), and one at a time (latency). */
  triggerMessages: number;
  triggerLatencySamples: number;
  progress: (line: string) => void;
}

export interface ClusterThroughput extends LoadResult {
  hosts: number;
  connections: number;
}

export interface ClusterBenchReport {
  engine: string;
  function: string;
  cores: number;
  durationS: number;
  throughput: ClusterThroughput[];
  /** Milliseconds from a change's 200 on host A to host B's management API showing it. */
  propagationMs: { samples: number; p50: number; p90: number; max: number };
  /** A queue trigger with `publish`, on one host: messages through the function and back per second, and one message's round trip. */
  trigger: { messages: number; perSecond: number; latencyMs: { samples: number; p50: number; p90: number; max: number } };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts nats-server with JetStream on a free loopback port; resolves once it is ready. */
async function startNats(storeDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(natsServerPath(), ['-js', '-sd', storeDir, '-p', String(port), '-a', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!log.includes('Server is ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nats-server did not start: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const auth = { authorization: `Bearer ${BENCH_TOKEN}` };

export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchReport> {
  const { progress } = options;
  const maxHosts = Math.max(...options.hostCounts);
  const work = await mkdtemp(join(tmpdir(), 'wafer-bench-cluster-'));
  const hosts: ServerProcess[] = [];
  let nats: { url: string; stop(): Promise<void> } | undefined;
  try {
    nats = await startNats(join(work, 'nats'));
    progress(`cluster: nats-server at ${nats.url}; starting ${maxHosts} hosts (${options.engine})`);
    for (let i = 0; i < maxHosts; i++) {
      hosts.push(await startHostProcess({ engine: options.engine, dataDir: join(work, `host-${i}`), cacheDir: options.cacheDir, config: { cluster: nats.url } }));
    }
    const fn = 'bench-hello';
    await deploy(hosts[0]!.url, fn, new Uint8Array(await readFile(join(SAMPLES_DIST, 'hello-rust.wasm'))));
    for (const host of hosts) {
      for (let tries = 0; ; tries++) {
        const reply = await send(`${host.url}/fn/${fn}`, 'GET', undefined, {}, false);
        if (reply.status === 200) break;
        if (tries > 500) throw new Error(`host ${host.url} never served ${fn}: ${reply.status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    const throughput: ClusterThroughput[] = [];
    for (const n of options.hostCounts) {
      const under = hosts.slice(0, n);
      const per = Math.max(1, Math.floor(options.connections / n));
      progress(`cluster: throughput, ${n} host(s), ${per * n} connections, ${options.durationS} s`);
      const results = await Promise.all(under.map((h) => loadTest(`${h.url}/fn/${fn}`, { method: 'GET', headers: {} }, per, options.durationS)));
      throughput.push({
        hosts: n,
        connections: per * n,
        rps: results.reduce((sum, r) => sum + r.rps, 0),
        p50: Math.max(...results.map((r) => r.p50)),
        p90: Math.max(...results.map((r) => r.p90)),
        p99: Math.max(...results.map((r) => r.p99)),
        max: Math.max(...results.map((r) => r.max)),
        requests: results.reduce((sum, r) => sum + r.requests, 0),
        errors: results.reduce((sum, r) => sum + r.errors, 0),
        non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
      });
    }

    // Propagation: an alias changed through host 0, timed until host 1 (or 0 alone) shows it.
    const from = hosts[0]!;
    const to = hosts[Math.min(1, hosts.length - 1)]!;
    progress(`cluster: propagation, ${options.propagationSamples} alias changes`);
    const samples: number[] = [];
    for (let i = 0; i < options.propagationSamples; i++) {
      const weight = i + 1;
      const body = new TextEncoder().encode(JSON.stringify({ versions: { '1': weight } }));
      const put = await send(`${from.url}/v1/functions/${fn}/aliases/probe`, 'PUT', body, { ...auth, 'content-type': 'application/json' }, false);
      if (put.status !== 200) throw new Error(`alias change answered ${put.status}: ${put.body.toString('utf8', 0, 300)}`);
      const started = process.hrtime.bigint();
      for (;;) {
        const reply = await send(`${to.url}/v1/functions/${fn}/aliases/probe`, 'GET', undefined, auth, false);
        if (reply.status === 200 && (JSON.parse(reply.body.toString()) as { versions: Record<string, number> }).versions['1'] === weight) break;
        if (process.hrtime.bigint() - started > 10_000_000_000n) throw new Error('an alias change did not reach the other host within 10 s');
      }
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const sorted = [...samples].sort((a, b) => a - b);

    const trigger = await triggerDelivery(nats.url, from.url, fn, options);
    return {
      engine: options.engine,
      function: 'hello-rust',
      cores: availableParallelism(),
      durationS: options.durationS,
      throughput,
      propagationMs: { samples: samples.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted.at(-1) ?? 0 },
      trigger,
    };
  } finally {
    await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
    await nats?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * A queue trigger on `fn` through host `hostUrl`: messages published to `bench.trigger.in` are
 * answered by the function, and its answers published to `bench.trigger.out` (the trigger's
 * `publish`). Counts the answers coming back on a plain subscription.
 */
async function triggerDelivery(natsUrl: string, hostUrl: string, fn: string, options: ClusterBenchOptions): Promise<ClusterBenchReport['trigger']> {
  const { progress } = options;
  const body = new TextEncoder().encode(JSON.stringify({ type: 'queue', subject: 'bench.trigger.in', publish: 'bench.trigger.out', concurrency: 16 }));
  const put = await send(`${hostUrl}/v1/functions/${fn}/triggers/bench`, 'PUT', body, { ...auth, 'content-type': 'application/json' }, false);
  if (put.status !== 201 && put.status !== 200) throw new Error(`the queue trigger answered ${put.status}: ${put.body.toString('utf8', 0, 300)}`);
  const nc = await connect({ servers: natsUrl });
  try {
    let answered = 0;
    let onAnswer: () => void = () => {};
    const sub = nc.subscribe('bench.trigger.out');
    void (async () => {
      for await (const _ of sub) {
        answered++;
        onAnswer();
      }
    })();
    const waitFor = (count: number, what: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what}: ${answered} of ${count} answers within 120 s`)), 120_000);
        onAnswer = () => {
          if (answered >= count) {
            clearTimeout(timer);
            resolve();
          }
        };
        onAnswer();
      });

    // Latency: one message at a time, publish to answer.
    progress(`cluster: trigger latency, ${options.triggerLatencySamples} messages one at a time`);
    const latencies: number[] = [];
    for (let i = 0; i < options.triggerLatencySamples; i++) {
      const started = process.hrtime.bigint();
      nc.publish('bench.trigger.in', `probe ${i}`);
      await waitFor(answered + 1, 'trigger latency');
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }

    // Rate: every message at once, first publish to last answer.
    progress(`cluster: trigger delivery, ${options.triggerMessages} messages at once`);
    const before = answered;
    const started = process.hrtime.bigint();
    for (let i = 0; i < options.triggerMessages; i++) nc.publish('bench.trigger.in', `burst ${i}`);
    await nc.flush();
    await waitFor(before + options.triggerMessages, 'trigger delivery');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      messages: options.triggerMessages,
      perSecond: options.triggerMessages / seconds,
      latencyMs: { samples: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted.at(-1) ?? 0 },
    };
  } finally {
    await nc.drain().catch(() => undefined);
  }
}

/** The report as a plain-text table. */
export function clusterTable(report: ClusterBenchReport): string {
  const base = report.throughput[0]?.rps ?? 0;
  const lines = [
    `cluster mode, ${report.function} on ${report.engine}, ${report.cores} cores shared by NATS, the hosts and the client; ${report.durationS} s per run`,
    '',
    'hosts  connections      req/s  vs 1 host   p50 ms  p99 ms  errors  non-2xx',
  ];
  for (const t of report.throughput) {
    lines.push(
      `${String(t.hosts).padStart(5)}  ${String(t.connections).padStart(11)}  ${t.rps.toFixed(0).padStart(9)}  ${(base > 0 ? t.rps / base : 0).toFixed(2).padStart(8)}x  ${String(t.p50).padStart(6)}  ${String(t.p99).padStart(6)}  ${String(t.errors).padStart(6)}  ${String(t.non2xx).padStart(7)}`,
    );
  }
  const p = report.propagationMs;
  lines.push('', `a change through one host seen by another: p50 ${p.p50.toFixed(1)} ms, p90 ${p.p90.toFixed(1)} ms, max ${p.max.toFixed(1)} ms (${p.samples} alias changes, polled back to back)`);
  const t = report.trigger;
  lines.push(
    `queue trigger (one host, concurrency 16, answers published back): ${t.perSecond.toFixed(0)} messages/s for ${t.messages} at once; ` +
      `one at a time, publish to answer p50 ${t.latencyMs.p50.toFixed(1)} ms, p90 ${t.latencyMs.p90.toFixed(1)} ms, max ${t.latencyMs.max.toFixed(1)} ms (${t.latencyMs.samples})`,
  );
  return lines.join('\n');
}
