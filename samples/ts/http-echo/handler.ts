/**
 * http-echo — answers the request back (samples/README.md, "http-echo"): its method, path, query
 * and headers as `x-echo-*` headers, its body as the body, with the status `?status=` asks for.
 * A standard `wasi:http/proxy` component (StarlingMonkey's `fetch` event), no wafer SDK.
 */

/** StarlingMonkey's fetch event, as a service worker's. */
interface FetchEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;

/** Statuses that carry no body, which the echo does not answer. */
const NO_BODY = new Set([204, 205, 304]);

addEventListener('fetch', (event) => event.respondWith(echo(event.request)));

async function echo(req: Request): Promise<Response> {
  const { path, query } = target(req.url);
  const headers: Array<[string, string]> = [
    ['content-type', 'application/octet-stream'],
    ['x-wafer-sample', 'echo'],
    ['x-echo-method', req.method],
    ['x-echo-path', path],
    ['x-echo-query', query],
  ];
  // Headers iterate sorted by name, the values of a repeated header joined with ", ".
  for (const [name, value] of req.headers) headers.push([`x-echo-${name}`, value]);
  return new Response(new Uint8Array(await req.arrayBuffer()), { status: status(query), headers });
}

/** Query parameter `status` if it is a decimal integer from 200 to 599 that may carry a body; else 200. */
function status(query: string): number {
  const part = query.split('&').find((p) => p === 'status' || p.startsWith('status='));
  const value = part?.slice('status='.length) ?? '';
  const n = /^\d{3}$/.test(value) ? Number(value) : 0;
  return n >= 200 && n <= 599 && !NO_BODY.has(n) ? n : 200;
}

/** The path and the query (without `?`) of a request URL, as received. */
function target(url: string): { path: string; query: string } {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  return { path: path || '/', query: q < 0 ? '' : rest.slice(q + 1) };
}
