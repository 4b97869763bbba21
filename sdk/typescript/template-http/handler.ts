/**
 * {{name}} — a standard wasi:http/proxy function: the host hands every HTTP request to
 * /fn/{{name}}[/<rest>] to the `fetch` event below, as a web Request, and sends back the Response.
 * No wafer SDK: the same component runs on any wasi:http host (`wasmtime serve`, Spin, wafer's
 * wasmtime engine). `wafer.world` tells `npx wafer build .` to target that world; see
 * docs/typescript.md.
 */

/** StarlingMonkey's fetch event (componentize-js), as a service worker's. */
interface FetchEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(req: Request): Promise<Response> {
  const name = new URL(req.url).searchParams.get('name') || 'world';
  return new Response(`Hello, ${name}!\n`, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
}
