/**
 * The OpenAPI 3.1 document at GET /openapi.json (issue 10, item 6) cannot drift from the host:
 * it is a valid 3.1 document; it lists exactly the routes the host serves (the management
 * router's own route table, plus the app's routes listed below); and every answer this file
 * provokes over real HTTP, success or error, matches the document's schema for that route and
 * status (JSON Schema 2020-12, with ajv). At the end, every documented route and status must
 * have been seen, bar the few listed in NOT_PROVOKED with the reason.
 *
 * Adding a route: add it to host/src/server/openapi/document.ts, and exercise its answers here.
 */
import { once } from 'node:events';
import { request, type IncomingHttpHeaders } from 'node:http';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../host/src/errors.js';
import { ROOT } from '../../host/src/paths.js';
import { METHODS } from '../../host/src/server/openapi/document.js';
import type { Operation, Parameter, Reference, RequestBody, Response as DocResponse } from '../../host/src/server/openapi/operations.js';
import { benchRoutes } from '../../host/src/server/routes/bench.js';
import { functionRoutes, routeTable } from '../../host/src/server/routes/functions.js';
import { ENGINES, fixture, startTestHost, type TestHost } from '../helpers/host.js';

/**
 * Routes the app serves itself, outside the management router (server/app.ts): a route added
 * there must be added here and to the document.
 */
const APP_ROUTES = [
  'get /healthz',
  'get /metrics',
  'get /openapi.json',
  'get /',
  'get /ui',
  'get /ui/',
  'get /ui/{file}',
  ...METHODS.flatMap((m) => [`${m} /fn/{target}`, `${m} /fn/{target}/{rest}`]),
];

/** Documented answers (`method path status [code]`) this file does not provoke, and why. */
const NOT_PROVOKED: Record<string, string> = {
  'put /v1/functions/{name} 500 internal': 'an I/O error while storing: not reachable without breaking the disk',
  'put /v1/functions/{name} 507 insufficient_storage': 'needs a full disk (test/hostile covers it)',
  'delete /v1/functions/{name} 500 internal': 'an I/O error removing the record',
  'post /v1/functions/{name}/rollback 500 internal': 'an I/O error writing the record',
  'post /v1/functions/{name}/rollback 507 insufficient_storage': 'needs a full disk',
  'put /v1/functions/{name}/aliases/{alias} 500 internal': 'an I/O error writing the record',
  'put /v1/functions/{name}/aliases/{alias} 507 insufficient_storage': 'needs a full disk',
  'delete /v1/functions/{name}/aliases/{alias} 500 internal': 'an I/O error writing the record',
  'delete /v1/functions/{name}/aliases/{alias} 507 insufficient_storage': 'needs a full disk',
  'patch /v1/functions/{name} 500 internal': 'an I/O error writing the record',
  'patch /v1/functions/{name} 507 insufficient_storage': 'needs a full disk',
  'post /v1/functions/{name}/tokens 500 internal': 'an I/O error writing the record',
  'post /v1/functions/{name}/tokens 507 insufficient_storage': 'needs a full disk',
  'delete /v1/functions/{name}/tokens/{id} 500 internal': 'an I/O error writing the record',
  'delete /v1/functions/{name}/tokens/{id} 507 insufficient_storage': 'needs a full disk',
  'put /v1/functions/{name}/triggers/{id} 500 internal': 'an I/O error writing the record',
  'put /v1/functions/{name}/triggers/{id} 507 insufficient_storage': 'needs a full disk',
  'delete /v1/functions/{name}/triggers/{id} 500 internal': 'an I/O error writing the record',
  'delete /v1/functions/{name}/triggers/{id} 507 insufficient_storage': 'needs a full disk',
  'get /v1/functions/{name}/logs 503 overloaded': 'needs 64 open log streams (test/api/logs.test.ts covers it)',
  'any /fn 400 invalid_request': 'a request body that breaks off mid-way (test/hostile)',
  'any /fn 500 out_of_fuel': 'jco cannot meter fuel (refused at deploy); provoked on wasmtime',
  'any /fn 500 internal': 'an engine failure outside the guest',
  'get /metrics 401 unauthorized': 'only with --metrics-token, which this host does not set (test/api/metrics.test.ts covers it)',
  'any /fn 503 not_ready': 'a call racing the host shutting down',
  ...Object.fromEntries(
    [
      'put /v1/functions/{name}', 'patch /v1/functions/{name}', 'delete /v1/functions/{name}', 'post /v1/functions/{name}/rollback',
      'put /v1/functions/{name}/aliases/{alias}', 'delete /v1/functions/{name}/aliases/{alias}',
      'post /v1/functions/{name}/tokens', 'delete /v1/functions/{name}/tokens/{id}',
      'put /v1/functions/{name}/triggers/{id}', 'delete /v1/functions/{name}/triggers/{id}',
    ].map((route) => [`${route} 503 not_ready`, "cluster mode with the cluster's NATS unreachable (test/cluster/cluster.test.ts covers it)"]),
  ),
};

/** Error codes the drift test must see answered, each matched against its route's document. */
const MUST_PROVOKE: ErrorCode[] = [
  'invalid_name', 'invalid_request', 'invalid_component', 'abi_mismatch', 'unauthorized', 'not_found',
  'payload_too_large', 'overloaded', 'trap', 'timeout', 'function_error', 'bad_response', 'memory_limit',
];

type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Record<string, unknown>> } } & Record<string, unknown>;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface SendOptions {
  params?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | object;
  /** Leave the bearer token out. */
  anonymous?: boolean;
}

const KiB = 1024;

/** One HTTP exchange with node:http (fetch refuses TRACE), the whole answer read. */
function exchange(url: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A JSON pointer into the document, as a URI fragment ajv resolves. */
const pointer = (...segments: string[]) => `openapi.json#/${segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;

describe.each(ENGINES)('the OpenAPI document on %s', (engine) => {
  let host: TestHost;
  let benchDir: string;
  let doc: Doc;
  let ajv: Ajv2020;
  const validators = new Map<string, ValidateFunction>();
  /** `method path status [code]` of every answer checked against the document (see coverageKey). */
  const seen = new Set<string>();
  const codesSeen = new Set<string>();

  const schemaAt = (ref: string): ValidateFunction => {
    let validate = validators.get(ref);
    if (!validate) validators.set(ref, (validate = ajv.compile({ $ref: ref })));
    return validate;
  };

  function expectValid(ref: string, value: unknown, what: string): void {
    const validate = schemaAt(ref);
    if (!validate(value)) {
      throw new Error(`${what} does not match the document (${ref}):\n${JSON.stringify(validate.errors, null, 2)}\nvalue: ${JSON.stringify(value)?.slice(0, 2000)}`);
    }
  }

  /** A part of an operation, a `$ref` to the document's components followed: the part, and the pointer segments where it lives. */
  function deref<T>(value: T | Reference, at: string[]): { value: T; at: string[] } {
    const ref = (value as Partial<Reference>).$ref;
    if (ref === undefined) return { value: value as T, at };
    if (!ref.startsWith('#/components/')) throw new Error(`${at.join('/')}: a $ref outside the document's components: ${ref}`);
    const segments = ref.slice(2).split('/');
    return { value: segments.reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, doc) as T, at: segments };
  }

  /** The coverage key of an answer: the host's errors of a call count for every method and path of /fn. */
  const coverageKey = (method: string, path: string, key: string, code?: string) =>
    `${path.startsWith('/fn/') && key !== 'default' ? 'any /fn' : `${method} ${path}`} ${key}${code ? ` ${code}` : ''}`;
  const see = (method: string, path: string, key: string, code?: string) => void seen.add(coverageKey(method, path, key, code));

  /** Checks an answer of `method path` against the document: status listed, headers, content type and body. */
  function check(method: string, path: string, answer: Answer): { response: DocResponse; json?: unknown } {
    const what = `${method.toUpperCase()} ${path} → ${answer.status}`;
    const operation = doc.paths[path]?.[method];
    if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in the document: add it to host/src/server/openapi/document.ts`);
    const key = String(answer.status) in operation.responses ? String(answer.status) : 'default';
    if (!operation.responses[key]) throw new Error(`${what}: the document lists no ${answer.status} answer for it (body: ${answer.body.toString().slice(0, 300)})`);
    const { value: response, at } = deref<DocResponse>(operation.responses[key]!, ['paths', path, method, 'responses', key]);
    // The guest's own answers are `default`; no fixture here answers a wafer error, so one that
    // lands there is a host error whose status the document does not list.
    if (key === 'default' && /^\{"error":\{"code":/.test(answer.body.toString())) {
      throw new Error(`${what}: a host error whose status the document does not list for it: ${answer.body.toString().slice(0, 300)}`);
    }
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) throw new Error(`${what}: header ${name} is required by the document and missing`);
        continue;
      }
      const typed = header.schema.type === 'integer' && /^-?\d+$/.test(String(value)) ? Number(value) : value;
      expectValid(pointer(...at, 'headers', name, 'schema'), typed, `${what} header ${name}`);
    }
    if (!response.content) {
      expect(answer.body.length, `${what}: the document says no body`).toBe(0);
      see(method, path, key);
      return { response };
    }
    if (method === 'head') {
      see(method, path, key);
      return { response };
    }
    const type = String(answer.headers['content-type'] ?? '').split(';')[0]!.trim();
    const media = type in response.content ? type : '*/*' in response.content ? '*/*' : undefined;
    if (!media) throw new Error(`${what}: content type ${JSON.stringify(type)} is not one the document lists (${Object.keys(response.content).join(', ')})`);
    const schema = pointer(...at, 'content', media, 'schema');
    if (type === 'application/json') {
      const json = JSON.parse(answer.body.toString()) as { error?: { code: string } };
      expectValid(schema, json, what);
      see(method, path, key, json.error?.code);
      return { response, json };
    }
    if (media !== '*/*') expectValid(schema, answer.body.toString(), what);
    see(method, path, key);
    return { response };
  }

  /** Sends `method` to the documented `path` (its {params} filled in), checks the answer against the document. */
  async function send(method: string, path: string, options: SendOptions = {}): Promise<Answer & { json?: unknown }> {
    const real = path.replace(/\{(\w+)\}/g, (_, p: string) => {
      const value = options.params?.[p];
      if (value === undefined) throw new Error(`no value for {${p}} of ${path}`);
      return value;
    });
    const isJson = options.body !== undefined && !Buffer.isBuffer(options.body) && typeof options.body !== 'string';
    const body = options.body === undefined ? undefined : isJson ? Buffer.from(JSON.stringify(options.body)) : Buffer.from(options.body as Buffer | string);
    const headers: Record<string, string> = { ...(options.anonymous ? {} : { authorization: `Bearer ${host.token}` }), ...(isJson ? { 'content-type': 'application/json' } : {}), ...options.headers };
    const answer = await exchange(host.url, method.toUpperCase(), `${real}${options.query ?? ''}`, headers, body);
    const { json } = check(method, path, answer);
    // What the host accepted must be what the document says it takes.
    const requestBody = doc.paths[path]![method]!.requestBody;
    if (isJson && requestBody && answer.status < 300) {
      const { value, at } = deref<RequestBody>(requestBody, ['paths', path, method, 'requestBody']);
      expect(value.content['application/json'], `${method.toUpperCase()} ${path} takes no JSON body`).toBeDefined();
      expectValid(pointer(...at, 'content', 'application/json', 'schema'), options.body, `the request body of ${method.toUpperCase()} ${path}`);
    }
    return { ...answer, json };
  }

  /** Sends and expects the error `code` with `status`, which the document must list for the route. */
  async function expectError(status: number, code: ErrorCode, method: string, path: string, options: SendOptions = {}): Promise<void> {
    const answer = await send(method, path, options);
    const what = `${method.toUpperCase()} ${path}${options.query ?? ''} (${JSON.stringify(options.params ?? {})})`;
    expect(answer.status, `${what}: ${answer.body.toString().slice(0, 300)}`).toBe(status);
    expect((answer.json as { error: { code: string } }).error.code, what).toBe(code);
    codesSeen.add(code);
  }

  beforeAll(async () => {
    benchDir = await mkdtemp(join(tmpdir(), 'wafer-openapi-bench-'));
    host = await startTestHost(engine, { benchResultsDir: benchDir, maxUploadBytes: 256 * KiB, maxRequestBytes: 4 * KiB, maxConcurrency: 1, maxQueue: 0 });
    const answer = await exchange(host.url, 'GET', '/openapi.json', {});
    doc = JSON.parse(answer.body.toString()) as Doc;
    ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    addFormats(ajv);
    // The document's own keywords, so strict mode accepts it as the root the pointers resolve in.
    ajv.addVocabulary(['openapi', 'jsonSchemaDialect', 'info', 'tags', 'paths', 'components']);
    ajv.addSchema(doc, 'openapi.json');
    check('get', '/openapi.json', answer);
  });
  afterAll(async () => {
    await host?.destroy();
    await rm(benchDir, { recursive: true, force: true });
  });

  describe('the document', () => {
    it('is a valid OpenAPI 3.1 document (swagger-parser: the OAS 3.1 schema, every $ref resolves)', async () => {
      expect(doc.openapi).toBe('3.1.0');
      await SwaggerParser.validate(structuredClone(doc) as never);
    });

    it('declares exactly the path parameters each path template names, and unique operation ids', () => {
      const ids = new Set<string>();
      for (const [path, item] of Object.entries(doc.paths)) {
        const named = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        for (const [method, op] of Object.entries(item)) {
          const parameters = (op.parameters ?? []).map((p, i) => deref<Parameter>(p, ['paths', path, method, 'parameters', String(i)]).value);
          const declared = parameters.filter((p) => p.in === 'path').map((p) => p.name).sort();
          expect(declared, `${method.toUpperCase()} ${path}`).toEqual(named);
          expect(ids.has(op.operationId), op.operationId).toBe(false);
          ids.add(op.operationId);
        }
      }
    });

    it("lists every error code of errors.ts in the Error schema, and every code of README's table", async () => {
      const error = doc.components.schemas.Error as { properties: { error: { properties: { code: { enum: string[] } } } } };
      const codes = error.properties.error.properties.code.enum;
      expect(codes).toEqual([...ERROR_CODES]);
      const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
      const table = [...readme.matchAll(/^\| `([a-z_]+)` \| \d{3} \|/gm)].map((m) => m[1]!);
      expect([...table].sort(), "README's error table").toEqual([...codes].sort());
    });

    it('documents every route the host serves, and no route it does not', () => {
      const pass = (_ctx: unknown, next: () => Promise<unknown>) => next();
      const routers = [functionRoutes(host.service, 1, pass), benchRoutes(benchDir, pass)];
      const served = new Set([...routers.flatMap((r) => routeTable(r)).map((r) => `${r.method} ${r.path}`), ...APP_ROUTES]);
      const documented = new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`)));
      const undocumented = [...served].filter((r) => !documented.has(r));
      const unserved = [...documented].filter((r) => !served.has(r));
      expect(undocumented, 'served but missing from host/src/server/openapi/document.ts').toEqual([]);
      expect(unserved, 'in the document but served by no route').toEqual([]);
    });

    it('answers every documented route with something other than "no route"', async () => {
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const method of Object.keys(item)) {
          const real = path.replace('{name}', 'nobody').replace('{alias}', 'beta').replace('{target}', 'nobody').replace('{rest}', 'x').replace('{file}', 'app.js').replace('{id}', '0123456789ab');
          const answer = await exchange(host.url, method.toUpperCase(), real, { authorization: `Bearer ${host.token}` });
          expect(answer.body.toString(), `${method.toUpperCase()} ${real}`).not.toContain('no route for');
          expect(answer.status, `${method.toUpperCase()} ${real}`).not.toBe(405);
        }
      }
    });
  });

  describe('the management API matches it', () => {
    it('deploys, lists, reads versions, rolls back and serves aliases as documented', async () => {
      const respond = await fixture('respond');
      const deployed = await send('put', '/v1/functions/{name}', { params: { name: 'hello' }, query: '?timeout_ms=2000&memory_mb=64&instance=reuse', body: respond, headers: { 'content-type': 'application/wasm' } });
      expect(deployed.status).toBe(201);
      expect((await send('put', '/v1/functions/{name}', { params: { name: 'hello' }, body: respond })).status).toBe(201);
      expect((await send('get', '/v1/functions')).status).toBe(200);
      expect((await send('get', '/v1/functions/{name}', { params: { name: 'hello' } })).status).toBe(200);
      expect((await send('get', '/v1/functions/{name}/versions', { params: { name: 'hello' } })).json).toMatchObject({ current: 2 });
      expect((await send('post', '/v1/functions/{name}/rollback', { params: { name: 'hello' } })).json).toMatchObject({ version: 1, rolled_back_from: 2 });
      expect((await send('post', '/v1/functions/{name}/rollback', { params: { name: 'hello' }, query: '?version=2' })).status).toBe(200);
      const alias = { name: 'hello', alias: 'beta' };
      expect((await send('put', '/v1/functions/{name}/aliases/{alias}', { params: alias, body: { version: 1 } })).json).toMatchObject({ version: 1 });
      expect((await send('put', '/v1/functions/{name}/aliases/{alias}', { params: { name: 'hello', alias: 'canary' }, body: { versions: { '1': 90, '2': 10 } } })).status).toBe(200);
      expect((await send('get', '/v1/functions/{name}/aliases', { params: { name: 'hello' } })).json).toMatchObject({ aliases: [{ alias: 'beta' }, { alias: 'canary' }] });
      expect((await send('get', '/v1/functions/{name}/aliases/{alias}', { params: alias })).status).toBe(200);
      expect((await send('delete', '/v1/functions/{name}/aliases/{alias}', { params: { name: 'hello', alias: 'canary' } })).status).toBe(204);
    });

    it('reads logs as a page and as server-sent events, and usage, as documented', async () => {
      await send('put', '/v1/functions/{name}', { params: { name: 'crash' }, body: await fixture('trap') });
      expect((await send('post', '/fn/{target}', { params: { target: 'crash' } })).status).toBe(500);
      const page = await send('get', '/v1/functions/{name}/logs', { params: { name: 'crash' }, query: '?limit=10' });
      expect((page.json as { entries: unknown[] }).entries).toHaveLength(1);
      const since = await send('get', '/v1/functions/{name}/logs', { params: { name: 'crash' }, query: '?since=2020-01-01T00:00:00Z' });
      expect((since.json as { entries: unknown[] }).entries).toHaveLength(1);

      // follow=1: read up to the first entry, then hang up.
      const stream = await new Promise<Answer>((resolve, reject) => {
        const req = request(`${host.url}/v1/functions/crash/logs?follow=1`, { headers: { authorization: `Bearer ${host.token}` }, agent: false }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (/event: log\n[^]*?\n\n/.test(text)) {
              req.destroy();
              resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.from(text) });
            }
          });
        });
        req.on('error', reject);
        req.end();
      });
      check('get', '/v1/functions/{name}/logs', stream);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      const data = /event: log\nid: \d+\ndata: (.*)\n\n/.exec(stream.body.toString())![1]!;
      expectValid(pointer('components', 'schemas', 'LogEntry'), JSON.parse(data), 'a log event');

      const usage = await send('get', '/v1/functions/{name}/usage', { params: { name: 'crash' } });
      expect(usage.json).toMatchObject({ totals: { invocations: 1, errors: { trap: 1 } } });
      expect((await send('get', '/v1/functions/{name}/usage', { params: { name: 'crash' }, query: `?from=${Date.now() - 86_400_000}&to=${Date.now()}&granularity=hour` })).status).toBe(200);
      expect((await send('delete', '/v1/functions/{name}', { params: { name: 'crash' } })).status).toBe(204);
    });

    it('answers /healthz, /metrics and /openapi.json as documented, without a token', async () => {
      expect((await send('get', '/healthz', { anonymous: true })).json).toMatchObject({ status: 'ok', engine });
      const metrics = await send('get', '/metrics', { anonymous: true });
      expect(metrics.body.toString()).toContain('wafer_');
      expect((await send('get', '/openapi.json', { anonymous: true })).json).toEqual(doc);
    });

    it('serves the dashboard and the newest bench run as documented', async () => {
      for (const path of ['/', '/ui']) expect((await send('get', path, { anonymous: true })).headers.location).toBe('/ui/');
      const page = await send('get', '/ui/', { anonymous: true });
      expect(page.body.toString()).toContain('<html');
      for (const file of ['app.js', 'style.css', 'favicon.svg']) expect((await send('get', '/ui/{file}', { params: { file }, anonymous: true })).status).toBe(200);
      const etag = String(page.headers.etag);
      expect((await send('get', '/ui/', { anonymous: true, headers: { 'if-none-match': etag } })).status).toBe(304);
      expect((await send('get', '/ui/{file}', { params: { file: 'app.js' }, anonymous: true, headers: { 'if-none-match': String((await send('get', '/ui/{file}', { params: { file: 'app.js' }, anonymous: true })).headers.etag) } })).status).toBe(304);
      await expectError(404, 'not_found', 'get', '/ui/{file}', { params: { file: 'token' }, anonymous: true });

      await expectError(404, 'not_found', 'get', '/v1/bench/latest');
      const run = join(benchDir, '2026-11-23T15-04-24Z');
      await mkdir(run);
      await copyFile(join(ROOT, 'bench', 'results', '2026-11-23T15-04-24Z', 'summary.json'), join(run, 'summary.json'));
      expect((await send('get', '/v1/bench/latest')).json).toMatchObject({ run: '2026-11-23T15-04-24Z' });
      const broken = join(benchDir, '2026-11-24T00-00-00Z');
      await mkdir(broken);
      await writeFile(join(broken, 'summary.json'), '{"environment":');
      await expectError(500, 'internal', 'get', '/v1/bench/latest');
    });

    it('changes settings with PATCH and manages invoke tokens as documented; a token-guarded function answers 401 without one', async () => {
      const respond = await fixture('respond');
      const params = { name: 'guarded' };
      await send('put', '/v1/functions/{name}', { params, query: '?max_concurrency=2&env=GREETING=hi&env=LANG=C&invoke_auth=token', body: respond });
      const patched = await send('patch', '/v1/functions/{name}', { params, body: { timeout_ms: 1500, env: { ONLY: '1' }, max_concurrency: 1 } });
      expect(patched.json).toMatchObject({ version: 2, env: ['ONLY'], invoke_auth: 'token', limits: { timeout_ms: 1500, max_concurrency: 1 } });
      await expectError(400, 'invalid_request', 'patch', '/v1/functions/{name}', { params, body: { colour: 'blue' } });
      await expectError(400, 'invalid_request', 'patch', '/v1/functions/{name}', { params, body: { env: { 'BAD NAME': 'x' } } });
      await expectError(413, 'payload_too_large', 'patch', '/v1/functions/{name}', { params, body: { env: { A: 'x'.repeat(70 * KiB) } } });
      await expectError(400, 'invalid_request', 'put', '/v1/functions/{name}', { params, query: '?invoke_auth=maybe', body: respond });

      const made = await send('post', '/v1/functions/{name}/tokens', { params, body: { label: 'ci' } });
      expect(made.status).toBe(201);
      const { id, token } = made.json as { id: string; token: string };
      expect((await send('post', '/v1/functions/{name}/tokens', { params })).status).toBe(201);
      await expectError(400, 'invalid_request', 'post', '/v1/functions/{name}/tokens', { params, body: { label: 'x', extra: 1 } });
      await expectError(413, 'payload_too_large', 'post', '/v1/functions/{name}/tokens', { params, body: { label: 'x'.repeat(70 * KiB) } });
      expect((await send('get', '/v1/functions/{name}/tokens', { params })).json).toMatchObject({ name: 'guarded', tokens: [{ id, label: 'ci' }, {}] });

      await expectError(401, 'unauthorized', 'get', '/fn/{target}', { params: { target: 'guarded' }, anonymous: true });
      await expectError(401, 'unauthorized', 'post', '/fn/{target}/{rest}', { params: { target: 'guarded', rest: 'x' }, anonymous: true, headers: { authorization: 'Bearer wft_wrong' }, body: 'x' });
      expect((await send('get', '/fn/{target}', { params: { target: 'guarded' }, anonymous: true, headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await send('delete', '/v1/functions/{name}/tokens/{id}', { params: { ...params, id } })).status).toBe(204);
      await expectError(404, 'not_found', 'delete', '/v1/functions/{name}/tokens/{id}', { params: { ...params, id } });
      await expectError(401, 'unauthorized', 'get', '/fn/{target}', { params: { target: 'guarded' }, anonymous: true, headers: { authorization: `Bearer ${token}` } });

      if (engine === 'wasmtime') {
        await send('put', '/v1/functions/{name}', { params: { name: 'metered' }, query: '?fuel=100000', body: await fixture('loop') });
        await expectError(500, 'out_of_fuel', 'get', '/fn/{target}', { params: { target: 'metered' } });
      } else {
        await expectError(400, 'invalid_request', 'put', '/v1/functions/{name}', { params: { name: 'metered' }, query: '?fuel=100000', body: await fixture('loop') });
      }
    });

    it('manages triggers as documented: made (201), replaced (200), listed, read, deleted; queue triggers refused without a cluster', async () => {
      const params = { name: 'triggered' };
      await send('put', '/v1/functions/{name}', { params, body: await fixture('respond') });
      const trigger = { ...params, id: 'nightly' };
      expect((await send('put', '/v1/functions/{name}/triggers/{id}', { params: trigger, body: { type: 'cron', schedule: '0 3 * * *', timezone: 'Europe/Paris' } })).status).toBe(201);
      expect((await send('put', '/v1/functions/{name}/triggers/{id}', { params: trigger, body: { type: 'cron', schedule: '0 4 * * *' } })).status).toBe(200);
      expect((await send('get', '/v1/functions/{name}/triggers', { params })).json).toMatchObject({ name: 'triggered', triggers: [{ id: 'nightly', schedule: '0 4 * * *' }] });
      expect((await send('get', '/v1/functions/{name}/triggers/{id}', { params: trigger })).json).toMatchObject({ id: 'nightly', timezone: 'UTC' });
      await expectError(400, 'invalid_request', 'put', '/v1/functions/{name}/triggers/{id}', { params: trigger, body: { type: 'cron', schedule: 'often' } });
      await expectError(400, 'invalid_request', 'put', '/v1/functions/{name}/triggers/{id}', { params: trigger, body: { type: 'queue', subject: 'orders.new' } });
      await expectError(400, 'invalid_name', 'put', '/v1/functions/{name}/triggers/{id}', { params: { ...params, id: 'Bad_Id' }, body: { type: 'cron', schedule: '* * * * *' } });
      await expectError(413, 'payload_too_large', 'put', '/v1/functions/{name}/triggers/{id}', { params: trigger, body: { type: 'cron', schedule: 'x'.repeat(70 * KiB) } });
      expect((await send('delete', '/v1/functions/{name}/triggers/{id}', { params: trigger })).status).toBe(204);
      await expectError(404, 'not_found', 'get', '/v1/functions/{name}/triggers/{id}', { params: trigger });
      await expectError(404, 'not_found', 'delete', '/v1/functions/{name}/triggers/{id}', { params: trigger });
    });

    it('answers every management route without the token with 401 unauthorized', async () => {
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (!op.security) continue;
          await expectError(401, 'unauthorized', method, path, { anonymous: true, params: { name: 'hello', alias: 'beta', id: '0123456789ab' } });
        }
      }
    });

    it('answers every route of one function with 400 invalid_name for a bad name, 404 not_found for a missing one', async () => {
      for (const [path, item] of Object.entries(doc.paths)) {
        if (!path.includes('{name}')) continue;
        for (const [method, op] of Object.entries(item)) {
          const body = method === 'put' ? (path.includes('aliases') ? { version: 1 } : path.includes('triggers') ? { type: 'cron', schedule: '* * * * *' } : await fixture('respond')) : undefined;
          await expectError(400, 'invalid_name', method, path, { params: { name: 'Not_A_Name', alias: 'beta', id: path.includes('triggers') ? 'tick' : '0123456789ab' }, body });
          if ('404' in op.responses) await expectError(404, 'not_found', method, path, { params: { name: 'missing', alias: 'beta', id: path.includes('triggers') ? 'tick' : '0123456789ab' }, body });
        }
      }
      await expectError(400, 'invalid_name', 'get', '/v1/functions/{name}/aliases/{alias}', { params: { name: 'hello', alias: '9lives' } });
    });

    it('answers a missing alias or an unkept version with 404 not_found', async () => {
      await expectError(404, 'not_found', 'get', '/v1/functions/{name}/aliases/{alias}', { params: { name: 'hello', alias: 'nope' } });
      await expectError(404, 'not_found', 'delete', '/v1/functions/{name}/aliases/{alias}', { params: { name: 'hello', alias: 'nope' } });
      await expectError(404, 'not_found', 'put', '/v1/functions/{name}/aliases/{alias}', { params: { name: 'hello', alias: 'gone' }, body: { version: 99 } });
      await expectError(404, 'not_found', 'post', '/v1/functions/{name}/rollback', { params: { name: 'hello' }, query: '?version=99' });
    });

    it('answers malformed parameters and bodies with 400 invalid_request', async () => {
      const respond = await fixture('respond');
      const hello = { name: 'hello' };
      await expectError(400, 'invalid_request', 'put', '/v1/functions/{name}', { params: hello, query: '?timeout_ms=abc', body: respond });
      await expectError(400, 'invalid_request', 'put', '/v1/functions/{name}', { params: hello, query: '?instance=sometimes', body: respond });
      await expectError(400, 'invalid_request', 'post', '/v1/functions/{name}/rollback', { params: hello, query: '?version=0' });
      await expectError(400, 'invalid_request', 'put', '/v1/functions/{name}/aliases/{alias}', { params: { ...hello, alias: 'beta' }, body: { foo: 1 } });
      await expectError(400, 'invalid_request', 'get', '/v1/functions/{name}/logs', { params: hello, query: '?limit=0' });
      await expectError(400, 'invalid_request', 'get', '/v1/functions/{name}/usage', { params: hello, query: '?granularity=week' });
    });

    it('refuses what is not a wafer component with invalid_component or abi_mismatch', async () => {
      const params = { name: 'refused' };
      await expectError(400, 'invalid_component', 'put', '/v1/functions/{name}', { params, body: await fixture('core-module') });
      await expectError(400, 'invalid_component', 'put', '/v1/functions/{name}', { params, body: Buffer.alloc(0) });
      await expectError(400, 'abi_mismatch', 'put', '/v1/functions/{name}', { params, body: await fixture('no-handle') });
      await expectError(400, 'abi_mismatch', 'put', '/v1/functions/{name}', { params, body: await fixture('wrong-signature') });
    });

    it('answers bodies over their limits with 413 payload_too_large', async () => {
      await expectError(413, 'payload_too_large', 'put', '/v1/functions/{name}', { params: { name: 'big' }, body: Buffer.alloc(300 * KiB) });
      await expectError(413, 'payload_too_large', 'put', '/v1/functions/{name}/aliases/{alias}', { params: { name: 'hello', alias: 'huge' }, body: { version: 1, pad: 'x'.repeat(70 * KiB) } });
    });
  });

  describe('the invoke route matches it', () => {
    it('answers every method, plain and pinned, with the headers documented', async () => {
      for (const method of METHODS) {
        const plain = await send(method, '/fn/{target}', { params: { target: 'hello' }, anonymous: true });
        expect(plain.status, method).toBe(200);
        const pinned = await send(method, '/fn/{target}/{rest}', { params: { target: 'hello@beta', rest: 'a/b' }, anonymous: true });
        expect(pinned.status, method).toBe(200);
        expect(pinned.headers['x-wafer-version']).toBe('1');
      }
      expect((await send('post', '/fn/{target}/{rest}', { params: { target: 'hello%402', rest: 'x' }, body: 'hi' })).headers['x-wafer-version']).toBe('2');
    });

    it('answers an unknown function, alias or version with 404 not_found, and a body over the limit with 413', async () => {
      await expectError(404, 'not_found', 'get', '/fn/{target}', { params: { target: 'missing' } });
      await expectError(404, 'not_found', 'get', '/fn/{target}/{rest}', { params: { target: 'hello@nope', rest: 'x' } });
      await expectError(404, 'not_found', 'post', '/fn/{target}', { params: { target: 'hello@99' }, body: 'x' });
      await expectError(413, 'payload_too_large', 'post', '/fn/{target}', { params: { target: 'hello' }, body: Buffer.alloc(8 * KiB) });
    });

    it('answers guest failures with their documented errors and the invocation headers', async () => {
      const cases: Array<[string, string, string, number, ErrorCode]> = [
        ['trap', 'trap', '', 500, 'trap'],
        ['spin', 'loop', '?timeout_ms=200', 504, 'timeout'],
        ['fails', 'err', '', 500, 'function_error'],
        ['garbage', 'garbage', '', 502, 'bad_response'],
        ['hog', 'grow', '?memory_mb=16', 500, 'memory_limit'],
      ];
      for (const [name, component, query, status, code] of cases) {
        await send('put', '/v1/functions/{name}', { params: { name }, query, body: await fixture(component) });
        await expectError(status, code, 'post', '/fn/{target}', { params: { target: name }, body: 'x' });
        const again = await send('get', '/fn/{target}', { params: { target: name } });
        expect(again.headers['x-wafer-invocation-id'], name).toBeTruthy();
      }
    });

    it('answers a call past the function\'s concurrency and queue with 503 overloaded and Retry-After', async () => {
      // The first call takes the one slot and holds it: the host invites its body (100 Continue)
      // only once it is admitted, and the body is sent only after the second call is refused.
      const req = request(`${host.url}/fn/hello`, { method: 'POST', headers: { expect: '100-continue', 'content-length': '1' }, agent: false });
      const first = new Promise<Answer>((resolve, reject) => {
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
      });
      const admitted = once(req, 'continue');
      req.flushHeaders();
      await admitted;
      await expectError(503, 'overloaded', 'get', '/fn/{target}', { params: { target: 'hello' } });
      req.end('x');
      check('post', '/fn/{target}', await first);
    });
  });

  it('has seen every documented route answer every documented status and error code (bar NOT_PROVOKED), and every error code it must', () => {
    const expected = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [key, part] of Object.entries(op.responses)) {
          const response = deref<DocResponse>(part, []).value;
          const codes = (response.content?.['application/json']?.schema.properties as { error?: { properties: { code: { enum: string[] } } } } | undefined)?.error?.properties.code.enum;
          for (const code of codes ?? [undefined]) expected.add(coverageKey(method, path, key, code));
        }
      }
    }
    const unseen = [...expected].filter((k) => !seen.has(k) && !(k in NOT_PROVOKED));
    expect(unseen, 'documented answers no test provoked: exercise them in test/api/openapi.test.ts').toEqual([]);
    for (const key of Object.keys(NOT_PROVOKED)) expect(expected.has(key), `NOT_PROVOKED lists ${key}, which the document does not`).toBe(true);
    expect(MUST_PROVOKE.filter((c) => !codesSeen.has(c))).toEqual([]);
  });
});
