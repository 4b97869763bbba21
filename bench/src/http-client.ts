/**
 * @module bench/http-client
 * The client side of the HTTP scenarios, the same code for the host and the Koa baseline: a
 * keep-alive client timing each request with `process.hrtime.bigint()` (autocannon reports
 * whole milliseconds, too coarse for sub-millisecond latency), a one-shot request on a new
 * connection, uploads, and autocannon for throughput.
 */
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { BENCH_TOKEN } from './servers.js';
import { timeLoop, type LoopSizes, type Timed } from './measure.js';
import { usSince } from './stats.js';

export interface Reply {
  status: number;
  body: Buffer;
}

/** One request; `agent: false` opens a new connection. */
export function send(url: string, method: string, body: Uint8Array | undefined, headers: Record<string, string>, agent: Agent | false): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(url, { method, agent, headers: body ? { ...headers, 'content-length': String(body.length) } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends requests one after another on one keep-alive connection (warm-up first), timing each
 * from the call to the last byte of the answer. Anything but a 200 counts as an error.
 */
export async function timeKeepAlive(
  url: string,
  init: { method: string; body?: Uint8Array; headers: Record<string, string> },
  sizes: LoopSizes,
): Promise<Timed> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return await timeLoop(sizes, async () => {
      const reply = await send(url, init.method, init.body, init.headers, agent);
      if (reply.status !== 200) throw new Error(`${reply.status} ${reply.body.toString('utf8', 0, 200)}`);
    });
  } finally {
    agent.destroy();
  }
}

/** Uploads `bytes` as function `name`; resolves with the milliseconds until the 201 arrived. */
export async function deploy(baseUrl: string, name: string, bytes: Uint8Array, query = ''): Promise<number> {
  const start = process.hrtime.bigint();
  const reply = await send(
    `${baseUrl}/v1/functions/${name}${query}`,
    'PUT',
    bytes,
    { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/wasm' },
    false,
  );
  const ms = usSince(start) / 1e3;
  if (reply.status !== 201) throw new Error(`PUT /v1/functions/${name} answered ${reply.status}: ${reply.body.toString('utf8', 0, 500)}`);
  return ms;
}

export interface LoadResult {
  rps: number;
  /** autocannon's latency percentiles, whole milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  requests: number;
  errors: number;
  non2xx: number;
}

/** Runs autocannon against `url` for `durationS` seconds with `connections` connections. */
export async function loadTest(
  url: string,
  init: { method: string; body?: Uint8Array; headers: Record<string, string> },
  connections: number,
  durationS: number,
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: init.method as autocannon.Request['method'],
    body: init.body ? Buffer.from(init.body) : undefined,
    headers: init.headers,
    connections,
    duration: durationS,
    // A queued call on a busy host may take a while; never let autocannon's 10 s default cut it.
    timeout: 60,
  });
  const elapsedS = (result.finish.getTime() - result.start.getTime()) / 1000 || durationS;
  return {
    rps: result.requests.total / elapsedS,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
