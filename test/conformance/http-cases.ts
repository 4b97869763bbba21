/**
 * The wasi:http conformance table: one list of requests (CASES), and for each kind of component
 * what it is asked and what it must answer, straight from samples/README.md ("http-hello",
 * "http-echo") and, for the third-party component, from the wstd crate's `http_server` example
 * (test/fixtures/wstd-http-server/). A case that does not apply to a kind has no `ask` for it.
 *
 * FAILURES is the failure-mode half: what a guest's misbehaviour answers, for the components
 * that can misbehave on demand (the http-probe fixture, and the wstd example's failing routes).
 */

/** How a component behaves: our samples by their spec, wstd's example by its routes. */
export type Kind = 'hello' | 'echo' | 'wstd';

export interface HttpCase {
  name: string;
  method: string;
  /** Path and query after /fn/<name>, for the samples. */
  target: string;
  /** Request headers, in order; a name may repeat. Their names start with x-t-. */
  headers?: Array<[string, string]>;
  /** The body, sent with content-length. */
  body?: Buffer;
  /** The body sent with transfer-encoding: chunked, one write per chunk. */
  chunks?: Buffer[];
  /** The status the echo (?status=) and wstd (x-response-status) are asked to answer. */
  status?: number;
  /** wstd only: a route of the example that no sample has. */
  wstdOnly?: { target: string; status: number; body: RegExp };
}

/** One request to one component. */
export interface Ask {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  chunks?: Buffer[];
}

/** What must come back. `headers`: the ones `relevant` keeps, in order. */
export interface Expected {
  status: number;
  headers: Array<[string, string]> | null;
  body: Buffer | RegExp;
}

const ONE_MIB = Buffer.alloc(1024 * 1024, 'wafer-');
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const text = 'text/plain; charset=utf-8';
const bytes = (s: string) => Buffer.from(s, 'utf8');

export const CASES: HttpCase[] = [
  { name: 'GET with a path and a query', method: 'GET', target: '/some/where?name=Ada&x=1' },
  { name: 'GET with nothing', method: 'GET', target: '' },
  { name: 'POST', method: 'POST', target: '/post', body: bytes('posted') },
  { name: 'PUT', method: 'PUT', target: '/put?name=nobody', body: bytes('put') },
  { name: 'DELETE', method: 'DELETE', target: '/item/7' },
  { name: 'PATCH', method: 'PATCH', target: '/item/7', body: bytes('patched') },
  { name: 'OPTIONS', method: 'OPTIONS', target: '/any' },
  { name: 'a percent-encoded unicode name and path', method: 'GET', target: '/caf%C3%A9?name=%E4%B8%96%E7%95%8C+x' },
  {
    name: 'repeated headers',
    method: 'GET',
    target: '/headers',
    headers: [
      ['x-t-multi', 'one'],
      ['x-t-single', 'alone'],
      ['x-t-multi', 'two'],
      ['x-t-multi', 'three'],
    ],
  },
  { name: 'a binary body (all 256 byte values)', method: 'POST', target: '/bin', body: ALL_BYTES },
  { name: 'a 1 MiB body', method: 'POST', target: '/big', body: ONE_MIB },
  { name: 'an empty body', method: 'POST', target: '/empty?name=Lin', body: Buffer.alloc(0) },
  {
    // The host hands wasi:http guests the whole body today (buffered): this checks the content
    // of a body that arrives in pieces, not that the guest sees the pieces as they come.
    name: 'a body sent in chunks (transfer-encoding: chunked)',
    method: 'POST',
    target: '/chunked',
    chunks: [Buffer.alloc(70_000, 'a'), Buffer.from([0, 1, 2, 255]), Buffer.alloc(5, 'z'), Buffer.alloc(100_000, 'q')],
  },
  { name: 'status 201', method: 'POST', target: '/s', status: 201, body: bytes('created') },
  { name: 'status 404', method: 'GET', target: '/s', status: 404 },
  { name: 'status 418', method: 'GET', target: '/s', status: 418 },
  { name: 'status 503', method: 'GET', target: '/s', status: 503 },
  {
    name: 'a response streamed in pieces (wstd: five writes 100 ms apart)',
    method: 'GET',
    target: '',
    wstdOnly: { target: '/stream-body', status: 200, body: /^(stream started \d+ millis ago\n){5}$/ },
  },
];

/** The request body as the component receives it. */
const bodyOf = (c: HttpCase) => (c.chunks ? Buffer.concat(c.chunks) : (c.body ?? Buffer.alloc(0)));
const withStatus = (target: string, status: number) => `${target}${target.includes('?') ? '&' : '?'}status=${status}`;

/** The request a component of `kind` is sent for case `c`; undefined when the case does not apply. */
export function ask(kind: Kind, c: HttpCase): Ask | undefined {
  const base = { method: c.method, headers: c.headers ?? [], body: c.body, chunks: c.chunks };
  if (c.wstdOnly) return kind === 'wstd' ? { ...base, target: c.wstdOnly.target } : undefined;
  switch (kind) {
    case 'hello':
      return c.status === undefined ? { ...base, target: c.target } : undefined;
    case 'echo':
      return { ...base, target: c.status === undefined ? c.target : withStatus(c.target, c.status) };
    case 'wstd':
      // The example's routes: /response-status answers x-response-status, /echo-headers the
      // request's headers, /echo the request's body.
      if (c.status !== undefined) return { ...base, target: '/response-status', headers: [['x-response-status', String(c.status)]] };
      if (c.headers) return { ...base, target: '/echo-headers' };
      return { ...base, target: '/echo' };
  }
}

/** What a component of `kind` must answer for case `c` (asked as `ask` says). */
export function expected(kind: Kind, c: HttpCase): Expected {
  if (c.wstdOnly) return { status: c.wstdOnly.status, headers: null, body: c.wstdOnly.body };
  const [path, query = ''] = splitTarget(c.target);
  const body = bodyOf(c);
  switch (kind) {
    case 'hello': {
      const name = body.length > 0 ? body : queryParam(query, 'name')?.length ? queryParam(query, 'name')! : bytes('world');
      return {
        status: 200,
        headers: [
          ['content-type', text],
          ['x-wafer-sample', 'hello'],
          ['x-wafer-method', c.method],
          ['x-wafer-path', path],
        ],
        body: Buffer.concat([bytes('Hello, '), name, bytes('!')]),
      };
    }
    case 'echo': {
      const sent = c.status === undefined ? query : splitTarget(withStatus(c.target, c.status))[1] ?? '';
      const grouped = new Map<string, string[]>();
      for (const [name, value] of c.headers ?? []) grouped.set(name, [...(grouped.get(name) ?? []), value]);
      return {
        status: c.status ?? 200,
        headers: [
          ['content-type', 'application/octet-stream'],
          ['x-wafer-sample', 'echo'],
          ['x-echo-method', c.method],
          ['x-echo-path', path],
          ['x-echo-query', sent],
          ...[...grouped.keys()].sort().map((name): [string, string] => [`x-echo-${name}`, grouped.get(name)!.join(', ')]),
        ],
        body,
      };
    }
    case 'wstd':
      if (c.status !== undefined) return { status: c.status, headers: null, body: Buffer.alloc(0) };
      // Each value comes back as a header line of its own, grouped by name (an http::HeaderMap)
      // in the order the names first came, a name's values in the order they came.
      if (c.headers) {
        const names = [...new Set(c.headers.map(([name]) => name))];
        return { status: 200, headers: names.flatMap((n) => c.headers!.filter(([name]) => name === n)), body: Buffer.alloc(0) };
      }
      return { status: 200, headers: null, body };
  }
}

/** The response headers a kind's expectation speaks about (the rest are the host's, or the request's echoed). */
export function relevant(kind: Kind, name: string): boolean {
  switch (kind) {
    case 'hello':
      return !['x-wafer-invocation-id', 'x-wafer-version', 'x-wafer-duration-us', 'x-wafer-start'].includes(name) && (name === 'content-type' || name.startsWith('x-'));
    case 'echo':
      return ['content-type', 'x-wafer-sample', 'x-echo-method', 'x-echo-path', 'x-echo-query'].includes(name) || name.startsWith('x-echo-x-t-');
    case 'wstd':
      return name.startsWith('x-t-');
  }
}

function splitTarget(target: string): [string, string | undefined] {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return [path || '/', q < 0 ? undefined : target.slice(q + 1)];
}

/** Query parameter `key` as samples/README.md defines it (first match, `+` → space, `%XY` decoded). */
function queryParam(query: string, key: string): Buffer | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) !== key) continue;
    const v = Buffer.from(eq < 0 ? '' : part.slice(eq + 1));
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) {
      const hex = v.subarray(i + 1, i + 3).toString();
      if (v[i] === 0x2b) out.push(0x20);
      else if (v[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
      } else out.push(v[i]!);
    }
    return Buffer.from(out);
  }
  return undefined;
}

/**
 * A guest's misbehaviour and its answer. `cut`: once the headers are sent a failure may end the
 * connection instead (a streamed response); an error answer with the code is accepted too.
 */
export interface Failure {
  name: string;
  /** The component (a deployed name, see http.test.ts) and the path that misbehaves. */
  probe?: { fn: 'probe' | 'probe-short' | 'probe-small'; target: string };
  wstd?: { fn: 'wstd' | 'wstd-short'; target: string };
  status: number;
  code: string;
  cut?: boolean;
}

export const FAILURES: Failure[] = [
  { name: 'a trap before the response', probe: { fn: 'probe', target: '/trap' }, status: 500, code: 'trap' },
  { name: 'a trap after the headers and part of the body', probe: { fn: 'probe', target: '/trap-after' }, status: 500, code: 'trap', cut: true },
  { name: 'no response set', probe: { fn: 'probe', target: '/no-response' }, status: 502, code: 'bad_response' },
  { name: 'a body never finished', probe: { fn: 'probe', target: '/unfinished' }, status: 502, code: 'bad_response', cut: true },
  {
    name: 'an error-code set as the response',
    probe: { fn: 'probe', target: '/error-code' },
    wstd: { fn: 'wstd', target: '/response-fail' },
    status: 500,
    code: 'function_error',
  },
  { name: 'a body that fails after the headers', wstd: { fn: 'wstd', target: '/response-body-fail' }, status: 500, code: 'trap', cut: true },
  {
    name: 'a deadline hit (a loop; wstd: a 1 s sleep against a 300 ms quota)',
    probe: { fn: 'probe-short', target: '/loop' },
    wstd: { fn: 'wstd-short', target: '/wait-response' },
    status: 504,
    code: 'timeout',
  },
  { name: 'growing past the memory quota', probe: { fn: 'probe-small', target: '/alloc' }, status: 500, code: 'memory_limit' },
];
