/**
 * Cross-language conformance: every case of cases.ts against the hello, json and fib samples
 * in every built language, on both engines, compared byte for byte.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, sample, startTestHost, type TestHost } from '../helpers/host.js';
import { BUILT_LANGUAGES } from '../helpers/samples.js';
import { CASES, type Case } from './cases.js';

/** Headers the host adds around the function's own. */
const HOST_HEADERS = new Set(['x-wafer-invocation-id', 'x-wafer-version', 'x-wafer-duration-us', 'x-wafer-start', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding']);

interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** One raw HTTP exchange, keeping the response headers in the order they were sent. */
function exchange(url: string, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: c.method, headers: c.body ? { 'content-length': String(c.body.length) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          if (!HOST_HEADERS.has(name)) headers.push([name, res.rawHeaders[i + 1]!]);
        }
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end(c.body);
  });
}

describe.each(ENGINES)('conformance on %s', (engine) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startTestHost(engine);
    for (const lang of BUILT_LANGUAGES) {
      for (const name of ['hello', 'json', 'fib']) await host.deploy(`${name}-${lang}`, await sample(`${name}-${lang}`));
    }
  });
  afterAll(() => host?.destroy());

  describe.each(BUILT_LANGUAGES)('%s', (lang) => {
    it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
      const answer = await exchange(`${host.url}/fn/${c.sample}-${lang}${c.target}`, c);
      expect(answer.status).toBe(c.status);
      expect(answer.headers).toEqual(c.headers);
      expect(answer.body.equals(c.responseBody), `body differs: got ${answer.body.subarray(0, 120).toString('latin1')}`).toBe(true);
    });
  });
});
