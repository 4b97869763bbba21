/**
 * @module functions/pipeline
 * The invoke path as named steps: admit → resolve → authorize → load → execute → meter → log.
 * `admit` runs before the request body is read (an unknown name, a missing invoke token or a
 * full host is answered without it); the
 * rest run once it has arrived. The world-specific mapping between HTTP and the guest is the
 * function's executor's; everything here is the same for every world.
 *
 * Streamed calls (`Admission.streams`: a world that streams on an engine that does, i.e.
 * wasi:http on wasmtime) run the same steps, but `run` answers at the response head with the
 * body still streaming (functions/streamed.ts), and `meter` and `log` run when it has ended.
 */
import { randomUUID } from 'node:crypto';
import type { CallLimits, CallReport, Engine, NestedAnswer, NestedCall } from '../engine/engine.js';
import { DEFAULT_INSTANCE_MODE, DEFAULT_INVOKE_AUTH, DEFAULT_RETRY_AFTER_S, MAX_CALL_DEPTH } from '../limits.js';
import { GuestResultError, GuestTrapError, InvalidInputError, NotFoundError, OverloadedError, WaferError, type GuestOutput } from '../errors.js';
import { executorFor, type Executor, type HttpAnswer, type HttpCall } from '../executors/index.js';
import type { Logger } from '../logger.js';
import { pickTarget } from '../registry/alias.js';
import type { FunctionHistory, FunctionVersion } from '../registry/registry.js';
import type { Limiter } from './limiter.js';
import type { Loader } from './loader.js';
import type { Metrics } from './metrics.js';
import type { CallRecord, StartKind } from './call-record.js';
import type { LogStore } from './logs.js';
import type { UsageStore } from './usage.js';
import { matchesToken } from './tokens.js';
import { executeStreamed } from './streamed.js';

/** Who is calling, as far as invoke auth cares: the bearer token the request carried, and whether it is the management token. */
export interface Caller {
  token?: string;
  management: boolean;
}

/** What the steps need from the service. */
export interface PipelineDeps {
  /** The current version, kept versions and aliases of a name, if deployed. */
  lookup(name: string): FunctionHistory | undefined;
  limiter: Limiter;
  loader: Loader;
  engine: Engine;
  logger: Logger;
  metrics?: Metrics;
  /** Usage metering (the `meter` step). */
  usage?: Pick<UsageStore, 'record' | 'refused'>;
  /** The per-function log (the `log` step). */
  logs?: Pick<LogStore, 'append'>;
  /** Largest `ok` output a guest may return; longer answers `bad_response`. */
  maxResponseBytes: number;
}

/**
 * The HTTP call as the service needs it; the server fills it from Koa's context. With
 * `bodyStream` the body is that stream (and `body` is ignored): a version that streams gets it
 * chunk by chunk; any other reads it whole first. With `streamed`, a version that streams may
 * answer with `response.stream`.
 */
export type InvocationInput = HttpCall & {
  invocationId?: string;
  meta?: InvocationMeta;
  /** The caller can send a streamed answer (`response.stream`); without, every answer is whole. */
  streamed?: boolean;
  bodyStream?: AsyncIterable<Uint8Array>;
};

/** Filled in by the call whether it succeeds or fails, so error answers carry the invocation headers too. */
export interface InvocationMeta {
  invocationId?: string;
  version?: number;
  start?: StartKind;
  /** The call's metered duration (CallRecord.durationUs), whole µs. */
  durationUs?: number;
}

export interface Invocation {
  invocationId: string;
  /** The version that ran. */
  version: number;
  response: HttpAnswer;
  /** Absent for a streamed answer (`response.stream`): the call is still running. */
  report?: CallReport;
  start: StartKind;
  /** The call's metered duration (CallRecord.durationUs), whole µs; 0 for a streamed answer (in `meta` once it ended). */
  durationUs: number;
}

/** A call that has its function and a slot; `release` gives the slot back (once). */
export interface Admission {
  fn: FunctionVersion;
  /** Whether the call streams: hand its body over as `bodyStream`, and expect `response.stream`. */
  streams: boolean;
  call(input: InvocationInput): Promise<Invocation>;
  release(): void;
}

/** How a call ended, with the guest's output when it ran. */
type Outcome = { ok: true; report: CallReport; response: HttpAnswer } | { ok: false; error: unknown; output?: GuestOutput };

/**
 * admit: look `name` and the version `pin` asks for up (`not_found`), then take a slot
 * (`overloaded`); the caller then reads the body, calls and releases. A free slot is taken at
 * once, with no promise; only a call that must wait in the queue gets one.
 */
export function admit(deps: PipelineDeps, name: string, pin?: string, caller?: Caller): Admission | Promise<Admission> {
  const fn = resolve(deps, name, pin);
  authorize(deps, fn, caller);
  const concurrency = fn.limits.maxConcurrency;
  const release = deps.limiter.tryAcquire(name, concurrency);
  if (release) return admission(deps, name, fn, release, pin, caller);
  return deps.limiter.acquire(name, concurrency).then(
    (release) => admission(deps, name, fn, release, pin, caller),
    (err: unknown) => {
      meter(deps, name, { ok: false, error: err });
      deps.usage?.refused(name, err instanceof WaferError ? err.code : 'internal');
      throw err;
    },
  );
}

function admission(deps: PipelineDeps, name: string, fn: FunctionVersion, release: () => void, pin: string | undefined, caller: Caller | undefined): Admission {
  return { fn, release, streams: streams(deps, resolved(fn, deps.maxResponseBytes).executor), call: (input) => run(deps, name, input, pin, fn.version, caller) };
}

/** Whether calls of a world stream on this host: its executor maps a head and the engine streams. */
function streams(deps: PipelineDeps, executor: Executor): executor is Executor & Required<Pick<Executor, 'fromGuestHead'>> {
  return executor.fromGuestHead !== undefined && deps.engine.callStream !== undefined;
}

/** Whether calls of `fn` need an invoke token (`invoke_auth=token`). */
function needsToken(fn: FunctionVersion): boolean {
  return (fn.limits.invokeAuth ?? DEFAULT_INVOKE_AUTH) === 'token';
}

/**
 * authorize: a version with `invoke_auth=token` runs only for a caller with one of its
 * function's invoke tokens or the management token (`unauthorized` otherwise). Checked at
 * admission and again once the body is in, so a token revoked meanwhile stops working at once.
 */
function authorize(deps: PipelineDeps, fn: FunctionVersion, caller: Caller | undefined): void {
  if (!needsToken(fn) || caller?.management) return;
  if (caller?.token !== undefined && matchesToken(deps.lookup(fn.name)?.tokens ?? [], caller.token)) return;
  throw new InvalidInputError('unauthorized', `${fn.name} needs Authorization: Bearer <one of its invoke tokens>`);
}

/**
 * The steps after admission. The name is resolved again, after the body arrived: a function
 * deleted meanwhile answers `not_found` (its blob may be gone), one redeployed meanwhile runs its
 * new version. A weighted alias keeps the version it picked at admission if it still may.
 */
export async function run(deps: PipelineDeps, name: string, input: InvocationInput, pin?: string, picked?: number, caller?: Caller, nested?: Nesting): Promise<Invocation> {
  const invocationId = input.invocationId ?? randomUUID();
  const startedAt = Date.now();
  const started = performance.now();
  let outcome: Outcome;
  let fn: FunctionVersion | undefined;
  let start: StartKind | undefined;
  try {
    fn = resolve(deps, name, pin, picked, ' while the request arrived');
    authorize(deps, fn, caller);
    // The credential was the host's: the guest never sees it.
    if (needsToken(fn)) input = { ...input, headers: input.headers.filter((h) => h.name !== 'authorization') };
    // load: awaited only until the first call has loaded the component.
    start = deps.loader.has(fn) ? 'warm' : await load(deps, fn);
    if (input.streamed === true || input.bodyStream !== undefined) {
      const { executor, limits } = resolved(fn, deps.maxResponseBytes);
      if (input.streamed === true && streams(deps, executor)) {
        const context = { invocationId, deadlineMs: Date.now() + limits.timeoutMs };
        const streamed = await executeStreamed(deps.engine as Engine & Required<Pick<Engine, 'callStream'>>, executor, fn.digest, limits, input, context);
        if (streamed.head === undefined) {
          outcome = streamed.outcome;
        } else {
          // The body is still to come: the call is metered and logged once it has ended.
          const [ranFn, ranStart] = [fn, start];
          void streamed.settled.then((ended) => finish(deps, name, ranFn, invocationId, startedAt, started, ranStart, ended, input.meta));
          return { invocationId, version: fn.version, response: { ...streamed.head, body: EMPTY, stream: streamed.stream }, start, durationUs: 0 };
        }
      } else {
        outcome = await execute(deps, fn, input.bodyStream ? { ...input, body: await collect(input.bodyStream) } : input, invocationId, nested);
      }
    } else {
      outcome = await execute(deps, fn, input, invocationId, nested);
    }
  } catch (error) {
    outcome = { ok: false, error };
  }
  const record = finish(deps, name, fn, invocationId, startedAt, started, start, outcome, input.meta);
  if (!outcome.ok) throw outcome.error;
  return { invocationId, version: record.version, response: outcome.response, report: outcome.report, start: start!, durationUs: Math.round(record.durationUs) };
}

const EMPTY = new Uint8Array(0);

/** A body stream read whole (it enforces its own size limit). */
async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The call has ended: its record, into the invocation headers, `meter` and `log`. */
function finish(
  deps: PipelineDeps,
  name: string,
  fn: FunctionVersion | undefined,
  invocationId: string,
  startedAt: number,
  started: number,
  start: StartKind | undefined,
  outcome: Outcome,
  meta: InvocationMeta | undefined,
): CallRecord {
  const record = callRecord(name, fn, invocationId, startedAt, (performance.now() - started) * 1000, start, outcome);
  if (meta) Object.assign(meta, { invocationId, version: record.version, start, durationUs: Math.round(record.durationUs) });
  meter(deps, name, outcome, record);
  log(deps, record);
  return record;
}

/** A pin that is a version number rather than an alias (aliases start with a letter). */
const VERSION_PIN = /^[1-9][0-9]{0,15}$/;

/**
 * resolve: the version a call runs, or `not_found` saying what is missing. No pin: the current
 * version. A number: that kept version. An alias: its version, or one of its versions picked
 * by weight (`prefer`, picked before, if it is still among them).
 */
function resolve(deps: PipelineDeps, name: string, pin?: string, prefer?: number, when = ''): FunctionVersion {
  const history = deps.lookup(name);
  const why = when && ` (it was changed${when})`;
  if (!history) throw new NotFoundError(`no function named ${name}${when && ` (it was removed${when})`}`);
  if (pin === undefined) return history.current;
  let version: number;
  if (VERSION_PIN.test(pin)) {
    version = Number(pin);
  } else {
    const targets = history.aliases.get(pin);
    if (!targets) throw new NotFoundError(`${name} has no alias ${JSON.stringify(pin).slice(0, 80)}${why}`);
    version = prefer !== undefined && targets.some((t) => t.version === prefer && t.weight > 0) ? prefer : pickTarget(targets);
  }
  const fn = history.versions.find((v) => v.version === version);
  if (!fn) throw new NotFoundError(`${name} has no kept version ${version}${why}`);
  return fn;
}

/** What every call of one function version needs, worked out on its first call. */
interface Resolved {
  executor: Executor;
  limits: CallLimits;
}

/** Per version record: a redeploy makes a new record, so an entry never outlives what it was made from. */
const resolvedOf = new WeakMap<FunctionVersion, Resolved>();

function resolved(fn: FunctionVersion, maxOutputBytes: number): Resolved {
  let r = resolvedOf.get(fn);
  if (r === undefined || r.limits.maxOutputBytes !== maxOutputBytes) {
    const { timeoutMs, memoryBytes, instance, fuel, env } = fn.limits;
    // A record written before the setting has none: it reads as the default. A pool per
    // version: a warm instance keeps the environment it was made with, and a version's is fixed.
    const reusePool = (instance ?? DEFAULT_INSTANCE_MODE) === 'reuse' ? `${fn.name}@${fn.version}` : undefined;
    const limits: CallLimits = { timeoutMs, memoryBytes, maxOutputBytes, reusePool };
    if (fuel !== undefined) limits.fuel = fuel;
    if (fn.limits.outbound !== undefined && fn.limits.outbound.length > 0) limits.outbound = fn.limits.outbound;
    if (env !== undefined && env.length > 0) limits.env = env;
    r = { executor: executorFor(fn.world), limits };
    resolvedOf.set(fn, r);
  }
  return r;
}

/** load: brings a component the engine does not have yet into it; the call that does starts `cold`. */
async function load(deps: PipelineDeps, fn: FunctionVersion): Promise<StartKind> {
  await deps.loader.ensure(fn);
  return 'cold';
}

/** execute: the executor maps the HTTP call in, the engine runs it under the limits, the executor maps the output out. */
async function execute(deps: PipelineDeps, fn: FunctionVersion, input: InvocationInput, invocationId: string, nested?: Nesting): Promise<Outcome> {
  const { engine, maxResponseBytes } = deps;
  const { executor, limits: own } = resolved(fn, maxResponseBytes);
  // A callee runs under its own limits, but no longer than its caller has left.
  const limits = nested === undefined ? own : { ...own, timeoutMs: Math.max(1, Math.min(own.timeoutMs, Math.floor(nested.remainingMs))), depth: nested.depth };
  const guestInput = executor.toGuest(input, { invocationId, deadlineMs: Date.now() + limits.timeoutMs });
  let report: CallReport;
  try {
    report = await engine.call(fn.digest, guestInput, limits);
  } catch (error) {
    return { ok: false, error, output: error instanceof WaferError && 'output' in error ? (error.output as GuestOutput) : undefined };
  }
  try {
    // The engine refuses longer output before copying it; this is the second line.
    if (report.output.byteLength > maxResponseBytes) {
      throw new GuestResultError(
        'bad_response',
        `the function answered ${report.output.byteLength} bytes, over the limit of ${maxResponseBytes} bytes`,
        report,
      );
    }
    return { ok: true, report, response: executor.fromGuest(report.output, report) };
  } catch (error) {
    return { ok: false, error, output: report };
  }
}

/** What the call left behind, for `meter` and `log` (functions/call-record.ts). */
function callRecord(
  name: string,
  fn: FunctionVersion | undefined,
  invocationId: string,
  startedAt: number,
  wallUs: number,
  start: StartKind | undefined,
  outcome: Outcome,
): CallRecord {
  const report = outcome.ok ? outcome.report : undefined;
  const output = outcome.ok ? outcome.report : outcome.output;
  const error = outcome.ok ? undefined : outcome.error;
  return {
    name,
    version: fn?.version ?? 0,
    invocationId,
    startedAt,
    status: outcome.ok ? outcome.response.status : error instanceof WaferError ? error.status : 500,
    code: outcome.ok ? 'ok' : error instanceof WaferError ? error.code : 'internal',
    start,
    wallUs,
    durationUs: report?.durationUs ?? wallUs,
    peakMemoryBytes: report?.peakMemoryBytes,
    memoryQuotaBytes: fn?.limits.memoryBytes ?? 0,
    fuelUsed: report?.fuelUsed,
    stdout: output?.stdout,
    stderr: output?.stderr,
  };
}

/**
 * meter: counts the call in /metrics (by status and code, its start and durations), and its cost
 * in the function's usage (functions/usage.ts). `record` is absent for a call refused before it ran.
 */
function meter(deps: PipelineDeps, name: string, outcome: Outcome, record?: CallRecord): void {
  // Only deployed names get series: not one removed while its call ran (functions/metrics.ts).
  if (deps.metrics && deps.lookup(name)) {
    if (record) deps.metrics.invocation(record, outcome.ok ? outcome.report.durationUs : undefined);
    else if (!outcome.ok) {
      const error = outcome.error;
      deps.metrics.refused(name, error instanceof WaferError ? error.status : 500, error instanceof WaferError ? error.code : 'internal');
    }
  }
  if (record && record.version > 0) deps.usage?.record(record);
}

/**
 * log: the guest's stdout and stderr go to the function's log (functions/logs.ts), and to the
 * host's log as one record per stream per call (never one per line), tagged with the function,
 * version and invocation id (the request id of an invocation).
 */
function log(deps: PipelineDeps, record: CallRecord): void {
  // Not for a function deleted while the call ran: its log is gone and stays gone.
  if (record.version > 0 && deps.lookup(record.name)) deps.logs?.append(record);
  for (const [stream, bytes] of [['stdout', record.stdout], ['stderr', record.stderr]] as const) {
    if (!bytes || bytes.length === 0) continue;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    deps.logger.info({ fn: record.name, version: record.version, invocation: record.invocationId, stream, bytes: bytes.length, lines }, text.endsWith('\n') ? text.slice(0, -1) : text);
  }
}

/** Where a function call sits in its chain: its depth and the time its caller has left. */
export interface Nesting {
  depth: number;
  remainingMs: number;
}

/** The target of a function call: a function name (aliases and versions are not addressable yet). */
const TARGET = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * A call of one function by another (`http://{fn}.wafer.internal/…`, the ABI 1.1 `invoke`):
 * the same steps as a call from outside (the callee is resolved, authorized by its own
 * `invoke_auth` with the `authorization` the caller sent, metered and logged as its own call,
 * with its own memory quota), except that it never waits for a slot (a caller waiting on its
 * own function's queue could wait on itself: `overloaded` at once instead), it gets no more
 * than the caller's remaining time, and a chain of calls holds at most `MAX_CALL_DEPTH` calls
 * (508 `loop_detected` past it). Never rejects: a refusal or failure is the JSON error answer
 * the server would send, which the calling guest reads as the response.
 */
export async function invokeNested(deps: PipelineDeps, call: NestedCall): Promise<NestedAnswer> {
  try {
    if (call.depth >= MAX_CALL_DEPTH) {
      throw new WaferError('loop_detected', 508, `a chain of function calls may hold at most ${MAX_CALL_DEPTH} calls; ${JSON.stringify(call.target.slice(0, 80))} would be number ${call.depth + 1}`);
    }
    if (!TARGET.test(call.target)) throw new NotFoundError(`no function named ${JSON.stringify(call.target.slice(0, 80))}`);
    if (call.remainingMs < 1) throw new GuestTrapError('timeout', 'the calling function has no time left');
    const name = call.target;
    const auth = call.headers.find((h) => h.name.toLowerCase() === 'authorization')?.value;
    const caller: Caller = { management: false, token: auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined };
    let release: (() => void) | undefined;
    try {
      const fn = resolve(deps, name);
      authorize(deps, fn, caller);
      release = deps.limiter.tryAcquire(name, fn.limits.maxConcurrency);
      if (!release) throw new OverloadedError(`${name} has no free call slot for a function call (function calls never queue)`, DEFAULT_RETRY_AFTER_S);
    } catch (err) {
      meter(deps, name, { ok: false, error: err });
      if (deps.lookup(name)) deps.usage?.refused(name, err instanceof WaferError ? err.code : 'internal');
      throw err;
    }
    try {
      const input: InvocationInput = { method: call.method, path: call.path, query: call.query, headers: call.headers.map((h) => ({ name: h.name.toLowerCase(), value: h.value })), body: call.body };
      const invocation = await run(deps, name, input, undefined, undefined, caller, { depth: call.depth, remainingMs: call.remainingMs });
      return { status: invocation.response.status, headers: [...invocation.response.headers, { name: 'x-wafer-invocation-id', value: invocation.invocationId }], body: invocation.response.body };
    } finally {
      release();
    }
  } catch (err) {
    const known = err instanceof WaferError && err.expose;
    const code = known ? err.code : 'internal';
    const status = err instanceof WaferError ? err.status : 500;
    const message = known ? err.message : 'internal error';
    const headers = [{ name: 'content-type', value: 'application/json' }];
    if (err instanceof OverloadedError) headers.push({ name: 'retry-after', value: String(err.retryAfterSeconds) });
    return { status, headers, body: Buffer.from(JSON.stringify({ error: { code, message } })) };
  }
}
