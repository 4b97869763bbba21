/**
 * The dashboard's HTTP side: its static files at /ui/ (headers, caching, nothing outside the
 * allow-list whatever the spelling), and GET /v1/bench/latest. Neither touches an engine, so
 * this runs on the default one; the page itself is tested in a browser (test/ui/).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BENCH_SUMMARY_BYTES } from '../../host/src/server/routes/bench.js';
import { errorOf, startTestHost, type TestHost } from '../helpers/host.js';
import { send } from '../hostile/http-kit.js';

describe('dashboard', () => {
  let host: TestHost;
  let benchDir: string;
  beforeAll(async () => {
    benchDir = await mkdtemp(join(tmpdir(), 'wafer-bench-'));
    host = await startTestHost('wasmtime', { benchResultsDir: benchDir });
  });
  afterAll(async () => {
    await host?.destroy();
    await rm(benchDir, { recursive: true, force: true });
  });

  describe('GET /ui/', () => {
    it('sends a browser from / and /ui to /ui/', async () => {
      for (const path of ['/', '/ui']) {
        const res = await fetch(`${host.url}${path}`, { redirect: 'manual' });
        expect(res.status, path).toBe(302);
        expect(res.headers.get('location'), path).toBe('/ui/');
      }
    });

    it('serves each file with its content type under a strict policy: no inline script, no framing, Trusted Types', async () => {
      const types: Record<string, string> = {
        '/ui/': 'text/html; charset=utf-8',
        '/ui/index.html': 'text/html; charset=utf-8',
        '/ui/app.js': 'text/javascript; charset=utf-8',
        '/ui/api.js': 'text/javascript; charset=utf-8',
        '/ui/tail.js': 'text/javascript; charset=utf-8',
        '/ui/render.js': 'text/javascript; charset=utf-8',
        '/ui/charts.js': 'text/javascript; charset=utf-8',
        '/ui/style.css': 'text/css; charset=utf-8',
        '/ui/favicon.svg': 'image/svg+xml',
      };
      for (const [path, type] of Object.entries(types)) {
        const res = await fetch(`${host.url}${path}`);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-type'), path).toBe(type);
        expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
        expect(res.headers.get('x-frame-options'), path).toBe('DENY');
        const csp = res.headers.get('content-security-policy') ?? '';
        for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"]) {
          expect(csp, path).toContain(directive);
        }
        expect(csp, path).not.toContain('unsafe');
        expect((await res.arrayBuffer()).byteLength, path).toBeGreaterThan(0);
      }
    });

    it('carries no inline script, inline style or secret in the page', async () => {
      const html = await (await fetch(`${host.url}/ui/`)).text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\bstyle=|<style|\bon[a-z]+=/i);
      expect(html).not.toContain(host.token);
    });

    it('answers 304 to a matching If-None-Match, and HEAD without a body', async () => {
      const first = await fetch(`${host.url}/ui/app.js`);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[\w-]+"$/);
      expect(first.headers.get('cache-control')).toBe('no-cache');
      // node:http, not fetch: fetch adds `cache-control: no-cache` to a conditional request.
      const again = await send(host.url, 'GET', '/ui/app.js', { headers: { 'if-none-match': etag! } });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      const head = await send(host.url, 'HEAD', '/ui/style.css');
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
    });

    it('serves nothing outside its files, however the path is spelled', async () => {
      await writeFile(join(host.dataDir, 'secret.txt'), 'not for browsers');
      const paths = [
        '/ui/../token', '/ui/..%2ftoken', '/ui/%2e%2e/token', '/ui/%2E%2E%2Ftoken', '/ui/%252e%252e/token',
        '/ui/..\\token', '/ui/..%5ctoken', '/ui/./app.js', '/ui//app.js', '/ui/app.js/', '/ui/APP.JS', '/UI/',
        '/ui/app.js%00', '/ui/%2e/app.js', '/ui/../../../etc/passwd', '/ui/secret.txt', '/ui/README.md', '/ui/nope.js',
        '/ui/index.html/..', '/ui/..', '/ui/%2e%2e', '/ui/.%2e/.%2e/package.json', '/./ui/app.js', '/ui;/app.js',
      ];
      for (const path of paths) {
        const res = await send(host.url, 'GET', path);
        expect([400, 404], path).toContain(res.status);
        expect(res.body.toString(), path).not.toMatch(/not for browsers|test-token|root:|"name": "wafer"/);
      }
    });

    it('serves its files to GET and HEAD only', async () => {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await send(host.url, method, '/ui/app.js');
        expect(res.status, method).toBe(404);
        expect(res.code, method).toBe('not_found');
      }
    });
  });

  describe('GET /v1/bench/latest', () => {
    const summary = (scenario: string) => JSON.stringify({ environment: { command: 'wafer bench' }, results: [{ scenario, p50: 1 }] });

    it('needs the token, however the path is spelled and whatever the method', async () => {
      for (const [method, path] of [['GET', '/v1/bench/latest'], ['GET', '/V1/Bench/Latest/'], ['PUT', '/v1/bench/latest']]) {
        const res = await send(host.url, method!, path!);
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.code, `${method} ${path}`).toBe('unauthorized');
      }
      const put = await host.api('PUT', '/v1/bench/latest');
      expect(put.status).toBe(405);
    });

    it('answers 404 not_found when no run has written a summary', async () => {
      await mkdir(join(benchDir, '2026-01-01T00-00-00Z'));
      const res = await host.api('GET', '/v1/bench/latest');
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe('not_found');
    });

    it('answers the newest run that has a summary, passing over other folders and links', async () => {
      for (const [run, scenario] of [['2026-01-02T00-00-00Z', 'older'], ['2026-03-01T12-00-00Z', 'newest']]) {
        await mkdir(join(benchDir, run!));
        await writeFile(join(benchDir, run!, 'summary.json'), summary(scenario!));
      }
      await mkdir(join(benchDir, '2026-05-01T00-00-00Z')); // a run still writing: no summary yet
      await mkdir(join(benchDir, 'zz-not-a-run'));
      await writeFile(join(benchDir, 'zz-not-a-run', 'summary.json'), summary('not a run'));
      await mkdir(join(benchDir, '2026-06-01T00-00-00Z'));
      await symlink(join(host.dataDir, 'secret.txt'), join(benchDir, '2026-06-01T00-00-00Z', 'summary.json'));
      const res = await host.api('GET', '/v1/bench/latest');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.run).toBe('2026-03-01T12-00-00Z');
      expect(body.summary.results[0].scenario).toBe('newest');
    });

    it('refuses a summary over its size bound with a JSON 500, and stays up', async () => {
      const run = join(benchDir, '2026-07-01T00-00-00Z');
      await mkdir(run);
      await writeFile(join(run, 'summary.json'), Buffer.alloc(MAX_BENCH_SUMMARY_BYTES + 1, 0x20));
      const res = await host.api('GET', '/v1/bench/latest');
      expect(res.status).toBe(500);
      expect((await errorOf(res)).message).toContain('over the');
      await rm(run, { recursive: true });
      expect((await host.api('GET', '/v1/bench/latest')).status).toBe(200);
    });
  });
});
