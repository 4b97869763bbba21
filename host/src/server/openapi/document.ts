/**
 * @module server/openapi/document
 * The OpenAPI 3.1 document of the whole HTTP API, served at `GET /openapi.json`: one entry of
 * `ROUTES` per method and path the host serves. Adding a route to the host means adding its
 * entry here (and exercising it in test/api/openapi.test.ts, which fails naming any served
 * route the document lacks, any documented route nobody serves, and any answer that does not
 * match its schema). Names no function: it is documentation, served without the token.
 */
import { NAME_PATTERN } from '../../functions/service.js';
import * as L from '../../limits.js';
import { INSTANCE_MODES, INVOKE_AUTHS } from '../../registry/registry.js';
import type { ErrorsByStatus, Method, Operation, Reference, Route } from './operations.js';
import { errorResponses, json, management, mergeErrors, pathParam, queryParam } from './operations.js';
import { ref, SCHEMAS, type Schema } from './schemas.js';

const FN = pathParam('name', 'the function');
const ALIAS = pathParam('alias', 'the alias');
const TRIGGER = pathParam('id', 'the trigger id');
/** What every route of one function may answer: a bad name, or no such function. */
const NAMED: ErrorsByStatus = { 400: ['invalid_name'], 404: ['not_found'] };
/**
 * What a route that writes the function's record may answer when the disk fails it, or (cluster
 * mode, docs/CLUSTER.md) when the cluster's NATS is unreachable: 503 not_ready.
 */
const STORED: ErrorsByStatus = { 500: ['internal'], 503: ['not_ready'], 507: ['insufficient_storage'] };
const QUERY_TIME: Schema = { type: 'string', description: 'RFC 3339 with a zone (2026-12-03T08:00:00Z) or Unix milliseconds' };
const POSITIVE = (description: string, maximum?: number): Schema => ({ type: 'integer', minimum: 1, ...(maximum ? { maximum } : {}), description });

/** Every management route, in README's order. */
const MANAGEMENT: Route[] = [
  {
    method: 'get', path: '/v1/functions',
    operation: management({ operationId: 'listFunctions', tag: 'functions', summary: 'List functions, the current version of each', ok: { status: 200, description: 'the functions', schema: ref('FunctionList') }, errors: {} }),
  },
  {
    method: 'put', path: '/v1/functions/{name}',
    operation: management({
      operationId: 'deployFunction', tag: 'functions', summary: 'Deploy a component as a new version (and make it current)',
      description: `The body is the component, at most ${L.DEFAULT_MAX_UPLOAD_BYTES / 2 ** 20} MiB (configurable), refused while streaming past it.`
        + ' A refused upload leaves the serving version untouched.',
      parameters: [
        FN,
        queryParam('timeout_ms', `time quota of one call (default ${L.DEFAULT_TIMEOUT_MS}, at most the ceiling)`, POSITIVE('milliseconds')),
        queryParam('memory_mb', `memory quota of one call (default ${L.DEFAULT_MEMORY_BYTES / 2 ** 20}, at most the ceiling)`, POSITIVE('MiB')),
        queryParam('instance', `how calls get their instance (default ${L.DEFAULT_INSTANCE_MODE})`, { enum: INSTANCE_MODES }),
        queryParam('fuel', 'fuel per call (wasmtime only; a jco host answers invalid_request)', POSITIVE('fuel', L.MAX_FUEL)),
        queryParam('max_concurrency', 'calls of this function at once (default and ceiling: the host\'s per-function limit)', POSITIVE('calls')),
        { name: 'env', in: 'query', description: `an environment variable of the guest, KEY=VALUE; repeatable, at most ${L.MAX_ENV_VARS}`, schema: { type: 'array', items: { type: 'string' } }, style: 'form', explode: true },
        queryParam('invoke_auth', 'token: calls need one of the function\'s invoke tokens (default none)', { enum: INVOKE_AUTHS }),
        { name: 'outbound', in: 'query', description: `hosts outbound HTTP may reach: comma-separated patterns (api.example.com, *.example.org, host:8080), at most ${L.MAX_OUTBOUND_HOSTS}, or * for any (default none); function calls (*.wafer.internal) are always allowed`, schema: { type: 'array', items: { type: 'string' } }, style: 'form', explode: true },
      ],
      requestBody: { required: true, description: 'the component', content: { 'application/wasm': { schema: { type: 'string', contentMediaType: 'application/wasm' } } } },
      ok: { status: 201, description: 'the new version', schema: ref('FunctionVersion') },
      errors: mergeErrors({ 400: ['invalid_name', 'invalid_request', 'invalid_component', 'abi_mismatch'], 413: ['payload_too_large'] }, STORED),
    }),
  },
  {
    method: 'patch', path: '/v1/functions/{name}',
    operation: management({
      operationId: 'configureFunction', tag: 'functions', summary: "A new version of the current component with some settings changed (the others carried over)",
      parameters: [FN],
      requestBody: { required: true, description: `at most ${L.DEFAULT_MAX_JSON_BYTES / 1024} KiB`, content: json(ref('SettingsPatch')) },
      ok: { status: 200, description: 'the new version', schema: ref('FunctionVersion') },
      errors: mergeErrors(NAMED, { 400: ['invalid_request'], 413: ['payload_too_large'] }, STORED),
    }),
  },
  {
    method: 'get', path: '/v1/functions/{name}',
    operation: management({ operationId: 'getFunction', tag: 'functions', summary: "A function's current version", parameters: [FN], ok: { status: 200, description: 'the current version', schema: ref('FunctionVersion') }, errors: NAMED }),
  },
  {
    method: 'delete', path: '/v1/functions/{name}',
    operation: management({ operationId: 'deleteFunction', tag: 'functions', summary: 'Delete a function, its versions, aliases, logs and usage', parameters: [FN], ok: { status: 204, description: 'deleted' }, errors: mergeErrors(NAMED, { 500: ['internal'], 503: ['not_ready'] }) }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/versions',
    operation: management({ operationId: 'listVersions', tag: 'versions', summary: 'Every kept version, newest first', parameters: [FN], ok: { status: 200, description: 'the kept versions', schema: ref('VersionList') }, errors: NAMED }),
  },
  {
    method: 'post', path: '/v1/functions/{name}/rollback',
    operation: management({
      operationId: 'rollback', tag: 'versions', summary: 'Serve the kept version before the current one again, or kept version N',
      parameters: [FN, queryParam('version', 'the kept version to serve (older or newer)', POSITIVE('a version number'))],
      ok: { status: 200, description: 'the version now current', schema: ref('RolledBack') },
      errors: mergeErrors(NAMED, { 400: ['invalid_request'] }, STORED),
    }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/aliases',
    operation: management({ operationId: 'listAliases', tag: 'aliases', summary: "A function's aliases, sorted by name", parameters: [FN], ok: { status: 200, description: 'the aliases', schema: ref('AliasList') }, errors: NAMED }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/aliases/{alias}',
    operation: management({ operationId: 'getAlias', tag: 'aliases', summary: 'One alias', parameters: [FN, ALIAS], ok: { status: 200, description: 'the alias', schema: ref('Alias') }, errors: NAMED }),
  },
  {
    method: 'put', path: '/v1/functions/{name}/aliases/{alias}',
    operation: management({
      operationId: 'setAlias', tag: 'aliases', summary: 'Create or replace an alias', parameters: [FN, ALIAS],
      requestBody: { required: true, description: `at most ${L.DEFAULT_MAX_JSON_BYTES / 1024} KiB`, content: json(ref('AliasBody')) },
      ok: { status: 200, description: 'the alias', schema: ref('Alias') },
      errors: mergeErrors(NAMED, { 400: ['invalid_request'], 413: ['payload_too_large'] }, STORED),
    }),
  },
  {
    method: 'delete', path: '/v1/functions/{name}/aliases/{alias}',
    operation: management({ operationId: 'deleteAlias', tag: 'aliases', summary: 'Delete an alias', parameters: [FN, ALIAS], ok: { status: 204, description: 'deleted' }, errors: mergeErrors(NAMED, STORED) }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/logs',
    operation: management({
      operationId: 'readLogs', tag: 'logs', summary: "A page of the function's log, or (follow=1) its live tail as server-sent events",
      parameters: [
        FN,
        queryParam('since', "a cursor (an entry's seq or a page's next: entries after it) or an RFC 3339 time (entries at or after it)", { type: 'string' }),
        queryParam('limit', `entries per page (default ${L.DEFAULT_LOG_LIMIT})`, POSITIVE('a count', L.MAX_LOG_LIMIT)),
        queryParam('follow', '1: stream server-sent events instead', { enum: ['0', '1', 'true', 'false'] }),
        { name: 'Last-Event-ID', in: 'header', description: "a reconnecting stream's last id, taken as since", schema: { type: 'string' } },
      ],
      ok: {
        status: 200, description: 'the page; with follow=1 the same page, then each entry as it is logged (event: log, id: seq, data: a LogEntry), `: heartbeat` comments, and event: end when the function is deleted',
        content: { ...json(ref('LogPage')), 'text/event-stream': { schema: { type: 'string' } } },
      },
      errors: mergeErrors(NAMED, { 400: ['invalid_request'], 503: ['overloaded'] }), // overloaded: past L.MAX_LOG_FOLLOWERS streams
    }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/usage',
    operation: management({
      operationId: 'readUsage', tag: 'usage', summary: "The function's usage in a window (default the last hour), bucket by bucket, and its lifetime totals",
      parameters: [
        FN,
        queryParam('from', 'window start (rounded down to a bucket)', QUERY_TIME),
        queryParam('to', 'window end (rounded up to a bucket; default now)', QUERY_TIME),
        queryParam('granularity', 'minute (kept 24 h) or hour (kept 90 days); default minute when from is within 24 h', { enum: ['minute', 'hour'] }),
      ],
      ok: { status: 200, description: 'the usage', schema: ref('Usage') },
      errors: mergeErrors(NAMED, { 400: ['invalid_request'] }),
    }),
  },
  {
    method: 'post', path: '/v1/functions/{name}/tokens',
    operation: management({
      operationId: 'createToken', tag: 'tokens', summary: 'Make an invoke token (answered once; kept hashed)', parameters: [FN],
      requestBody: { required: false, description: 'an optional label', content: json(ref('TokenBody')) },
      ok: { status: 201, description: 'the token, shown this once', schema: ref('NewInvokeToken') },
      errors: mergeErrors(NAMED, { 400: ['invalid_request'], 413: ['payload_too_large'] }, STORED),
    }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/tokens',
    operation: management({ operationId: 'listTokens', tag: 'tokens', summary: "The function's invoke tokens (ids and labels, never a token)", parameters: [FN], ok: { status: 200, description: 'the tokens', schema: ref('TokenList') }, errors: NAMED }),
  },
  {
    method: 'delete', path: '/v1/functions/{name}/tokens/{id}',
    operation: management({
      operationId: 'revokeToken', tag: 'tokens', summary: 'Revoke an invoke token, at once',
      parameters: [FN, pathParam('id', 'the token id', { type: 'string' })],
      ok: { status: 204, description: 'revoked' }, errors: mergeErrors(NAMED, STORED),
    }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/triggers',
    operation: management({ operationId: 'listTriggers', tag: 'triggers', summary: "The function's triggers, sorted by id", parameters: [FN], ok: { status: 200, description: 'the triggers', schema: ref('TriggerList') }, errors: NAMED }),
  },
  {
    method: 'get', path: '/v1/functions/{name}/triggers/{id}',
    operation: management({ operationId: 'getTrigger', tag: 'triggers', summary: 'One trigger', parameters: [FN, TRIGGER], ok: { status: 200, description: 'the trigger', schema: ref('Trigger') }, errors: NAMED }),
  },
  {
    method: 'put', path: '/v1/functions/{name}/triggers/{id}',
    operation: management({
      operationId: 'setTrigger', tag: 'triggers', summary: 'Create or replace a trigger (cron, or queue: a NATS subject or JetStream stream)',
      description: `At most ${L.MAX_TRIGGERS} per function. Queue triggers and publish need a cluster (wafer serve --cluster): a host without one answers invalid_request.`
        + ' Answers 201 when it made the trigger, 200 when it replaced one; once answered, the trigger runs (or is changed) on this host.',
      parameters: [FN, TRIGGER],
      requestBody: { required: true, description: `at most ${L.DEFAULT_MAX_JSON_BYTES / 1024} KiB`, content: json(ref('TriggerBody')) },
      ok: { status: 201, description: 'made', schema: ref('Trigger') },
      alsoOk: { status: 200, description: 'replaced', schema: ref('Trigger') },
      errors: mergeErrors(NAMED, { 400: ['invalid_request'], 413: ['payload_too_large'] }, STORED),
    }),
  },
  {
    method: 'delete', path: '/v1/functions/{name}/triggers/{id}',
    operation: management({ operationId: 'deleteTrigger', tag: 'triggers', summary: 'Delete a trigger: it fires no more', parameters: [FN, TRIGGER], ok: { status: 204, description: 'deleted' }, errors: mergeErrors(NAMED, STORED) }),
  },
  {
    method: 'get', path: '/v1/bench/latest',
    operation: management({
      operationId: 'latestBench', tag: 'host', summary: "The newest wafer bench run's summary (bench/results/<date>/summary.json), for the dashboard",
      ok: { status: 200, description: 'the run folder and its summary', schema: ref('BenchLatest') },
      errors: { 404: ['not_found'], 500: ['internal'] },
    }),
  },
];

/** The dashboard's answers: its static files carry a strict CSP; GET / and /ui send a browser to /ui/. */
const REDIRECT_TO_UI = {
  302: {
    description: 'to the dashboard',
    headers: { Location: { description: '/ui/', required: true, schema: { const: '/ui/' } } },
    content: { 'text/html': { schema: { type: 'string' } }, 'text/plain': { schema: { type: 'string' } } },
  },
};
const UI_FILE = (description: string, types: string[]) => ({
  200: { description, content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string' } }])) },
  304: { description: 'unchanged (If-None-Match matched the ETag)' },
});

const HOST: Route[] = [
  {
    method: 'get', path: '/healthz',
    operation: { operationId: 'health', summary: "The host's health and versions", tags: ['host'], responses: { 200: { description: 'serving', content: json(ref('Health')) } } },
  },
  {
    method: 'get', path: '/metrics',
    operation: { operationId: 'metrics', summary: 'Prometheus metrics, every series prefixed wafer_', tags: ['host'], responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errorResponses({ 401: ['unauthorized'] }) } },
  },
  {
    method: 'get', path: '/openapi.json',
    operation: { operationId: 'openapi', summary: 'This document', tags: ['host'], responses: { 200: { description: 'the OpenAPI 3.1 document', content: json({ type: 'object', properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } }, required: ['openapi', 'info', 'paths'] }) } } },
  },
  { method: 'get', path: '/', operation: { operationId: 'root', summary: 'Sends a browser to the dashboard', tags: ['dashboard'], responses: REDIRECT_TO_UI } },
  { method: 'get', path: '/ui', operation: { operationId: 'uiRedirect', summary: 'Sends a browser to the dashboard', tags: ['dashboard'], responses: REDIRECT_TO_UI } },
  { method: 'get', path: '/ui/', operation: { operationId: 'ui', summary: "The dashboard's page (no token: it asks the operator for one)", tags: ['dashboard'], responses: UI_FILE('the page', ['text/html']) } },
  {
    method: 'get', path: '/ui/{file}',
    operation: {
      operationId: 'uiFile', summary: "One of the dashboard's static files (a fixed list; anything else is 404 not_found)", tags: ['dashboard'],
      parameters: [{ name: 'file', in: 'path', required: true, description: 'index.html, app.js, api.js, tail.js, charts.js, render.js, style.css or favicon.svg', schema: { type: 'string' } }],
      responses: { ...UI_FILE('the file', ['text/html', 'text/javascript', 'text/css', 'image/svg+xml']), ...errorResponses({ 404: ['not_found'] }) },
    },
  },
];

/** Every method a path item can hold: the invoke route takes any of them. */
export const METHODS: readonly Method[] = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

const BARE_NAME = NAME_PATTERN.source.replace(/^\^|\$$/g, '');
const TARGET = pathParam('target', 'the function name, optionally pinned: name@alias or name@N (kept version N); @ may be sent as %40', {
  type: 'string',
  pattern: `^${BARE_NAME}((@|%40)(${BARE_NAME}|[1-9][0-9]{0,15}))?$`,
});
const REST = pathParam('rest', 'the rest of the path (may hold more /), passed to the guest as its path', { type: 'string' });

const INVOCATION_HEADERS = (required: boolean) => ({
  'x-wafer-invocation-id': { description: "the call's id (also its log entry's invocation_id)", required, schema: { type: 'string', minLength: 1 } },
  'x-wafer-version': { description: 'the version that ran', required, schema: { type: 'integer', minimum: 1 } },
  // A streamed answer (wasi:http on wasmtime) goes out before the call ends: chunked, it carries the duration as a trailer; sized, not at all.
  'x-wafer-duration-us': {
    description: "the call's metered duration; a streamed answer (a wasi:http function on wasmtime) sends it as the trailer x-wafer-duration-us when chunked, and not at all when the guest declared its length",
    required: false,
    schema: { type: 'integer', minimum: 0 },
  },
  'x-wafer-start': { description: 'cold when this call loaded the component, else warm', required, schema: { enum: ['cold', 'warm'] } },
});

/** The host's own error answers of a call; any other answer is the guest's. */
const INVOKE_ERRORS: ErrorsByStatus = {
  400: ['invalid_request'],
  401: ['unauthorized'],
  404: ['not_found'],
  413: ['payload_too_large'],
  500: ['memory_limit', 'out_of_fuel', 'trap', 'function_error', 'internal'],
  502: ['bad_response'],
  503: ['overloaded', 'not_ready'],
  504: ['timeout'],
};

/** What the 16 invoke operations share, once, in `components` (each operation refers to it). */
const INVOKE_COMPONENTS = {
  parameters: { Target: TARGET, Rest: REST },
  requestBodies: {
    GuestRequest: { required: false, description: `passed to the guest, at most ${L.DEFAULT_MAX_REQUEST_BYTES / 2 ** 20} MiB (configurable)`, content: { '*/*': { schema: {} } } },
  },
  responses: {
    Guest: { description: "the guest's answer: any status, headers and body", headers: INVOCATION_HEADERS(true), content: { '*/*': { schema: {} } } },
    ...Object.fromEntries(Object.entries(errorResponses(INVOKE_ERRORS, INVOCATION_HEADERS(false))).map(([status, response]) => [`Invoke${status}`, response])),
  },
};

const component = (kind: keyof typeof INVOKE_COMPONENTS, name: string): Reference => ({ $ref: `#/components/${kind}/${name}` });

function invoke(method: Method, withRest: boolean): Operation {
  return {
    operationId: `invoke${withRest ? 'Path' : ''}${method[0]!.toUpperCase()}${method.slice(1)}`,
    summary: `Call the function with ${method.toUpperCase()}${withRest ? ' and a path' : ''}`,
    tags: ['invoke'],
    parameters: withRest ? [component('parameters', 'Target'), component('parameters', 'Rest')] : [component('parameters', 'Target')],
    ...(['get', 'head', 'options', 'trace'].includes(method) ? {} : { requestBody: component('requestBodies', 'GuestRequest') }),
    responses: {
      default: component('responses', 'Guest'),
      ...Object.fromEntries(Object.keys(INVOKE_ERRORS).map((status) => [status, component('responses', `Invoke${status}`)])),
    },
  };
}

const INVOKE: Route[] = METHODS.flatMap((method) => [
  { method, path: '/fn/{target}', operation: invoke(method, false) },
  { method, path: '/fn/{target}/{rest}', operation: invoke(method, true) },
]);

/** Every route the document describes: the management API, the host's own routes, and the invoke route. */
export const ROUTES: readonly Route[] = [...MANAGEMENT, ...HOST, ...INVOKE];

/** The OpenAPI 3.1 document of the HTTP API of wafer `version`. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Partial<Record<Method, Operation>>> = {};
  for (const { method, path, operation } of ROUTES) {
    const item = (paths[path] ??= {});
    if (item[method]) throw new Error(`the OpenAPI document lists ${method.toUpperCase()} ${path} twice`);
    item[method] = operation;
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'wafer',
      version,
      summary: 'A WebAssembly function host: upload components over HTTP, call them as functions under quotas.',
      description:
        'Management routes (/v1/…) need Authorization: Bearer <token>. Every error is JSON {"error": {"code", "message"}}. ' +
        'Any request may also be answered 408 request_timeout, 431 or 400 invalid_request when it is not valid HTTP/1.1 or arrives too slowly, and 404 not_found for a path no route serves. ' +
        'The management routes answer HEAD wherever they answer GET; a path they match with a method they do not serve answers 405 (after the token check).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'functions', description: 'deploy, read and delete functions' },
      { name: 'versions', description: 'kept versions and rollback' },
      { name: 'aliases', description: 'named, optionally weighted, pointers to kept versions' },
      { name: 'logs', description: 'per-invocation guest output' },
      { name: 'usage', description: 'metered usage per function' },
      { name: 'tokens', description: 'invoke tokens of functions deployed with invoke_auth=token' },
      { name: 'triggers', description: 'cron schedules and NATS queues that call a function as POST / with x-wafer-trigger headers' },
      {
        name: 'invoke',
        description:
          "Calling functions: the HTTP request in, the guest's response out. Any method. /fn/{name} calls the current version, /fn/{name}@{alias} the alias's, /fn/{name}@{N} kept version N. " +
          "The statuses listed are the host's own error answers, a JSON Error; the guest may answer any status itself (default). " +
          'An unknown function, alias or version (404) or a full function (503) is answered before the body is read. Error answers of a call that ran carry the x-wafer-* headers too.',
      },
      { name: 'host', description: "the host's own routes" },
      { name: 'dashboard', description: 'the dashboard at /ui/ (README.md, "Dashboard"); its files also answer HEAD' },
    ],
    paths,
    components: {
      schemas: SCHEMAS,
      ...INVOKE_COMPONENTS,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'WAFER_TOKEN, or <data-dir>/token' } },
    },
  };
}
