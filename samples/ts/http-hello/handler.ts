/**
 * http-hello — the `hello` sample (samples/README.md) as a standard `wasi:http/proxy` component,
 * no wafer SDK: StarlingMonkey's `fetch` event (componentize-js) is the incoming handler. The
 * `wafer.world` file beside it tells the build (sdk/typescript/build.mjs) to target that world.
 */

/** StarlingMonkey's fetch event, as a service worker's. */
interface FetchEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;

const encoder = new TextEncoder();

addEventListener('fetch', (event) => event.respondWith(hello(event.request)));

async function hello(req: Request): Promise<Response> {
  const { path, query } = target(req.url);
  let name: Uint8Array = new Uint8Array(await req.arrayBuffer());
  if (name.length === 0) {
    const fromQuery = queryParam(query, 'name');
    name = fromQuery?.length ? fromQuery : encoder.encode('world');
  }
  return new Response(concat(encoder.encode('Hello, '), name, encoder.encode('!')), {
    status: 200,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['x-wafer-sample', 'hello'],
      ['x-wafer-method', req.method],
      ['x-wafer-path', path],
    ],
  });
}

/** The path and the query (without `?`) of a request URL, as received. */
function target(url: string): { path: string; query: string } {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  return { path: path || '/', query: q < 0 ? '' : rest.slice(q + 1) };
}

/** Query parameter `key` as samples/README.md defines it: first match, `+` → space, `%XY` decoded, as bytes. */
function queryParam(query: string, key: string): Uint8Array | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) === key) return decode(eq < 0 ? '' : part.slice(eq + 1));
  }
  return undefined;
}

function decode(value: string): Uint8Array {
  const bytes = encoder.encode(value);
  const out: number[] = [];
  const hex = (b: number | undefined) => (b === undefined ? -1 : parseInt(String.fromCharCode(b), 16));
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x2b) out.push(0x20);
    else if (b === 0x25 && hex(bytes[i + 1]) >= 0 && hex(bytes[i + 2]) >= 0) {
      out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
      i += 2;
    } else out.push(b);
  }
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
