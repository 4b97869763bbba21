/**
 * @module server/openapi/schemas
 * The JSON shapes of the HTTP API as JSON Schema 2020-12 (the dialect of OpenAPI 3.1), built from
 * the host's own constants (error codes, name pattern, instance modes) so they cannot disagree
 * with it. The API's own objects are closed (`additionalProperties: false`) and list every
 * field they always carry as `required`: a field added or dropped in a view without the same
 * change here fails test/api/openapi.test.ts. Shapes that share fields share them as TS objects
 * (a 2020-12 `allOf` of closed objects cannot add a field).
 */
import { ERROR_CODES } from '../../errors.js';
import { NAME_PATTERN } from '../../functions/service.js';
import { INSTANCE_MODES, INVOKE_AUTHS } from '../../registry/registry.js';
import { ENV_NAME_PATTERN, MAX_ALIAS_TARGETS, MAX_ALIAS_WEIGHT, MAX_CRON_SCHEDULE_CHARS, MAX_ENV_VALUE_BYTES, MAX_ENV_VARS, MAX_FUEL, MAX_OUTBOUND_HOSTS, MAX_QUEUE_BACKOFF_MS, MAX_QUEUE_BACKOFF_STEPS, MAX_QUEUE_CONCURRENCY, MAX_QUEUE_MAX_DELIVER, MAX_SUBJECT_CHARS, MAX_TOKEN_LABEL_CHARS, OUTBOUND_PATTERN } from '../../limits.js';
import { DURABLE_NAME, STREAM_NAME, TRIGGER_ID_PATTERN } from '../../registry/trigger.js';
import type { EngineName } from '../../engine/engine.js';
import type { Granularity } from '../../functions/usage.js';
import type { StartKind } from '../../functions/call-record.js';

/** A JSON Schema (2020-12), as OpenAPI 3.1 embeds it. */
export type Schema = { readonly [keyword: string]: unknown };

/** A reference to a schema of the document's `components.schemas` (the drift test resolves every one). */
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** A closed object: exactly these properties, the `required` ones always present. */
export function object(properties: Record<string, Schema>, required: readonly string[] = Object.keys(properties), description?: string): Schema {
  return { type: 'object', ...(description ? { description } : {}), properties, required, additionalProperties: false };
}

const integer = (description: string, minimum = 0): Schema => ({ type: 'integer', minimum, description });
const string = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const time = (description: string): Schema => string(description, { format: 'date-time' });

const ENGINES: readonly EngineName[] = ['wasmtime', 'jco'];
const GRANULARITIES: readonly Granularity[] = ['minute', 'hour'];
const STARTS: readonly StartKind[] = ['cold', 'warm'];

/** A function (or alias) name, as checkName and checkAlias take it. */
export const NAME: Schema = string('a lower-case letter, then up to 62 of a-z, 0-9 and -', { pattern: NAME_PATTERN.source });

/** A version's `outbound` host patterns. */
const OUTBOUND_HOSTS: Schema = { type: 'array', items: { type: 'string', pattern: OUTBOUND_PATTERN.source }, maxItems: MAX_OUTBOUND_HOSTS };

/** A version number as a JSON key (`"3"`) of an alias's `versions`. */
const VERSION_KEY: Schema = { type: 'string', pattern: '^[1-9][0-9]{0,9}$' };
const WEIGHTS: Schema = {
  type: 'object',
  description: 'kept version number → relative weight of the calls it gets (0 never picks it; at least one positive)',
  propertyNames: VERSION_KEY,
  additionalProperties: { type: 'number', minimum: 0, maximum: MAX_ALIAS_WEIGHT },
  minProperties: 1,
  maxProperties: MAX_ALIAS_TARGETS,
};

const SUBJECT: Schema = string('a NATS subject: tokens of A-Z a-z 0-9 _ - separated by dots (no wildcard)', { maxLength: MAX_SUBJECT_CHARS });
const SUBJECT_FILTER: Schema = string('a NATS subject to listen on (* and a last > allowed)', { maxLength: MAX_SUBJECT_CHARS });
const cronFields = {
  schedule: string('five cron fields (minute first), six (second first), or @hourly, @daily, ...', { maxLength: MAX_CRON_SCHEDULE_CHARS }),
  timezone: string('an IANA time zone the schedule is read in (default UTC)'),
};
const queueFields = {
  subject: SUBJECT_FILTER,
  stream: string('a JetStream stream', { pattern: STREAM_NAME.source }),
  durable: string('the durable consumer, shared by every host (default wafer_<name>_<id>)', { pattern: DURABLE_NAME.source }),
  max_deliver: { type: 'integer', minimum: 1, maximum: MAX_QUEUE_MAX_DELIVER, description: 'attempts before the dead-letter subject' },
  backoff_ms: { type: 'array', items: { type: 'integer', minimum: 0, maximum: MAX_QUEUE_BACKOFF_MS }, minItems: 1, maxItems: MAX_QUEUE_BACKOFF_STEPS, description: 'wait before retry n; the last repeats' },
  concurrency: { type: 'integer', minimum: 1, maximum: MAX_QUEUE_CONCURRENCY, description: 'messages processed at once per host' },
  dead_letter: SUBJECT,
};
const triggerCommon = {
  name: ref('Name'),
  id: string('the trigger id', { pattern: TRIGGER_ID_PATTERN.source }),
  publish: { type: ['string', 'null'], maxLength: MAX_SUBJECT_CHARS, description: "the subject the function's 2xx answers are published to (null: none)" },
  created_at: time('when the trigger was made'),
};

const functionVersionFields = {
  name: ref('Name'),
  version: integer('the version number, from 1, never reused', 1),
  digest: string('sha256 of the component bytes', { pattern: '^sha256:[0-9a-f]{64}$' }),
  size: integer('bytes of the component'),
  limits: ref('Limits'),
  env: { type: 'array', items: { type: 'string', pattern: ENV_NAME_PATTERN.source }, maxItems: MAX_ENV_VARS, description: "the names of the version's environment variables (values are never answered)" },
  invoke_auth: { enum: INVOKE_AUTHS, description: 'token: calls need one of its invoke tokens (or the management token)' },
  outbound: { ...OUTBOUND_HOSTS, description: 'hosts its outbound HTTP may reach (["*"]: any; []: none); function calls (*.wafer.internal) are always allowed' },
  created_at: time('when this version was deployed'),
  world: string('the ABI it was accepted as, e.g. wafer:function/handler@1.0.0'),
} satisfies Record<string, Schema>;

const usageCounterFields = {
  invocations: integer('calls, including those refused with overloaded'),
  errors: {
    type: 'object',
    description: 'failed calls by error code',
    propertyNames: { enum: ERROR_CODES },
    additionalProperties: { type: 'integer', minimum: 1 },
  },
  cold_starts: integer('calls that loaded the component'),
  wall_us: integer("the host's time from the body's arrival to the answer, summed"),
  duration_us: integer("the guest's run time, summed"),
  gb_seconds: { type: 'number', minimum: 0, description: 'GiB of peak memory × seconds of duration_us' },
  fuel: integer('fuel consumed (0 while no function turns fuel metering on)'),
  peak_memory_bytes: integer('the highest peak memory of a call'),
} satisfies Record<string, Schema>;

/** Every schema of `components.schemas`, by name. */
export const SCHEMAS = {
  Name: NAME,
  Error: object({
    error: object({
      code: { enum: ERROR_CODES, description: 'stable: clients branch on it (README, "The HTTP API")' },
      message: string('for people; may change'),
    }),
  }, undefined, 'every error answer of the host: {"error": {"code", "message"}}'),
  Limits: object({
    timeout_ms: integer('time quota of one call', 1),
    memory_mb: integer('memory quota of one call', 1),
    instance: { enum: INSTANCE_MODES, description: 'fresh: a new instance per call; reuse: a warm instance of this function when one is idle' },
    fuel: integer('fuel per call (wasmtime); absent when not metered', 1),
    max_concurrency: integer('calls of this function at once', 1),
  }, ['timeout_ms', 'memory_mb', 'instance', 'max_concurrency']),
  SettingsPatch: {
    ...object({
      timeout_ms: integer('time quota of one call', 1),
      memory_mb: integer('memory quota of one call', 1),
      instance: { enum: INSTANCE_MODES },
      fuel: { type: ['integer', 'null'], minimum: 1, maximum: MAX_FUEL, description: 'fuel per call (wasmtime only); null removes it' },
      max_concurrency: integer('calls at once', 1),
      env: { type: 'object', maxProperties: MAX_ENV_VARS, propertyNames: { pattern: ENV_NAME_PATTERN.source }, additionalProperties: { type: 'string', maxLength: MAX_ENV_VALUE_BYTES }, description: 'replaces the whole map' },
      invoke_auth: { enum: INVOKE_AUTHS },
      outbound: { oneOf: [OUTBOUND_HOSTS, { const: '*' }], description: 'hosts outbound HTTP may reach, or "*" for any; [] for none' },
    }, []),
    description: 'settings to change; the others are carried over from the current version',
  },
  InvokeToken: object({ id: string('the token id', { pattern: '^[0-9a-f]+$' }), label: { type: ['string', 'null'], description: 'the label given at creation' }, created_at: time('when it was made') }),
  NewInvokeToken: object({
    id: string('the token id', { pattern: '^[0-9a-f]+$' }),
    label: { type: ['string', 'null'] },
    created_at: time('when it was made'),
    token: string('the token itself, answered this once only (kept as sha256)', { pattern: '^wft_[A-Za-z0-9_-]{43}$' }),
  }),
  TokenList: object({ name: ref('Name'), tokens: { type: 'array', items: ref('InvokeToken') } }),
  TokenBody: object({ label: string('a label for listing', { minLength: 1, maxLength: MAX_TOKEN_LABEL_CHARS }) }, []),
  FunctionVersion: object(functionVersionFields, undefined, 'one deployed version of a function'),
  FunctionList: object({ functions: { type: 'array', items: ref('FunctionVersion'), description: 'the current version of each function' } }),
  VersionList: object({
    name: ref('Name'),
    current: integer('the version plain calls run', 1),
    versions: { type: 'array', items: ref('FunctionVersion'), description: 'every kept version, newest first' },
  }),
  RolledBack: object({ ...functionVersionFields, rolled_back_from: integer('the version that was current before', 1) }, undefined, 'the version now current'),
  Alias: object({
    name: ref('Name'),
    alias: ref('Name'),
    version: integer('present when the alias names one version', 1),
    versions: WEIGHTS,
  }, ['name', 'alias', 'versions']),
  AliasList: object({ name: ref('Name'), aliases: { type: 'array', items: ref('Alias'), description: 'sorted by alias name' } }),
  AliasBody: {
    description: 'one version, or a weighted split between kept versions (a canary)',
    oneOf: [
      object({ version: integer('a kept version', 1) }),
      object({ versions: WEIGHTS }),
    ],
  },
  Trigger: {
    description: 'a cron or queue trigger',
    oneOf: [
      object({ ...triggerCommon, type: { const: 'cron' }, ...cronFields, next_at: { type: ['string', 'null'], format: 'date-time', description: 'the next tick (null: never)' } }),
      object({
        ...triggerCommon,
        type: { const: 'queue' },
        ...queueFields,
        subject: { ...SUBJECT_FILTER, type: ['string', 'null'] },
        stream: { type: ['string', 'null'], pattern: STREAM_NAME.source, description: 'a JetStream stream (null: the one capturing subject, or one the host makes)' },
      }),
    ],
  },
  TriggerList: object({ name: ref('Name'), triggers: { type: 'array', items: ref('Trigger'), description: 'sorted by id' } }),
  TriggerBody: {
    description: 'a cron trigger, or a queue trigger (subject, stream, or both: the stream\'s messages of that subject)',
    oneOf: [
      object({ type: { const: 'cron' }, ...cronFields, publish: SUBJECT }, ['type', 'schedule']),
      object({ type: { const: 'queue' }, ...queueFields, publish: SUBJECT }, ['type']),
    ],
  },
  LogEntry: object({
    seq: integer("the cursor: the entry's time in Unix microseconds, strictly increasing per function"),
    time: time('when the call ended'),
    invocation_id: string('the x-wafer-invocation-id of the call'),
    version: integer('the version that ran', 1),
    status: integer('the HTTP status answered', 100),
    code: { enum: ['ok', ...ERROR_CODES], description: 'ok, or the error code' },
    start: { enum: STARTS },
    duration_us: integer("the call's metered duration"),
    stdout: string("the call's stdout, at most 64 KiB; absent when empty"),
    stderr: string("the call's stderr, at most 64 KiB; absent when empty"),
  }, ['seq', 'time', 'invocation_id', 'version', 'status', 'code', 'duration_us']),
  LogPage: object({
    name: ref('Name'),
    entries: { type: 'array', items: ref('LogEntry'), description: 'oldest first' },
    next: string("the cursor to pass as since for the entries after this page", { pattern: '^[0-9]+$' }),
    more: { type: 'boolean', description: 'entries after this page exist already' },
  }),
  UsageCounters: object(usageCounterFields),
  UsageBucket: object({ start: time("the bucket's start"), ...usageCounterFields }),
  Usage: object({
    name: ref('Name'),
    granularity: { enum: GRANULARITIES },
    from: time('the window start, rounded down to a bucket'),
    to: time('the window end, rounded up to a bucket'),
    totals: ref('UsageCounters'),
    lifetime: ref('UsageCounters'),
    buckets: { type: 'array', items: ref('UsageBucket'), description: 'the non-empty buckets in the window, oldest first' },
  }),
  Health: object({
    status: { enum: ['ok', 'degraded'], description: 'degraded: serving, but some function records could not be read at start' },
    engine: { enum: ENGINES },
    versions: object({ wafer: string('the host'), abi: string('the wafer.v1 envelope'), engine: string('the engine build') }),
    functions: integer('functions served'),
    problems: { type: 'array', items: object({ name: string('the record'), error: string('why it was skipped') }) },
  }),
  BenchLatest: object({
    run: string('the run folder, its UTC start time', { pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z$' }),
    summary: { type: 'object', description: "that run's summary.json as written by wafer bench (bench/README.md): {environment, results}" },
  }),
} satisfies Record<string, Schema>;

export type SchemaName = keyof typeof SCHEMAS;
