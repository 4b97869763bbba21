/**
 * @module server/routes/triggers
 * A function's triggers, on the management router: PUT /v1/functions/{name}/triggers/{id}
 * creates or replaces one (201 created, 200 replaced), GET …/triggers lists them, GET
 * …/triggers/{id} shows one, DELETE …/triggers/{id} removes it (204). The body's shape is checked
 * here and its defaults filled in (so a trigger keeps them whatever the host's become); the
 * rules in registry/trigger, what this host can run in triggers/runner.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { InvalidInputError } from '../../errors.js';
import { checkTriggerId, type FunctionService } from '../../functions/service.js';
import { DEFAULT_CRON_TIMEZONE, DEFAULT_QUEUE_BACKOFF_MS, DEFAULT_QUEUE_CONCURRENCY, DEFAULT_QUEUE_MAX_DELIVER } from '../../limits.js';
import type { Trigger } from '../../registry/registry.js';
import { cronOf, TRIGGER_TYPES, triggerProblem } from '../../registry/trigger.js';
import type { TriggerRunner } from '../../triggers/runner.js';
import { readJson } from '../body.js';

const bad = (message: string) => new InvalidInputError('invalid_request', message);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const CRON_KEYS = new Set(['type', 'schedule', 'timezone', 'publish']);
const QUEUE_KEYS = new Set(['type', 'subject', 'stream', 'durable', 'max_deliver', 'backoff_ms', 'concurrency', 'dead_letter', 'publish']);

/** The default durable consumer of a trigger: one per function and trigger, shared by every host of a cluster. */
export const defaultDurable = (fn: string, id: string): string => `wafer_${fn}_${id}`;
/** The default dead-letter subject of a trigger. */
export const defaultDeadLetter = (fn: string, id: string): string => `wafer.dead.${fn}.${id}`;

/** A trigger body as a stored trigger, defaults filled in; anything undocumented is `invalid_request` naming the field. */
export function parseTriggerBody(body: unknown, fn: string, id: string, createdAt: string): Trigger {
  if (!isObject(body)) throw bad('the trigger is not a JSON object');
  const { type } = body;
  if (type !== 'cron' && type !== 'queue') throw bad(`type must be ${TRIGGER_TYPES.join(' or ')}, got ${JSON.stringify(type)?.slice(0, 40)}`);
  const keys = type === 'cron' ? CRON_KEYS : QUEUE_KEYS;
  const unknown = Object.keys(body).find((k) => !keys.has(k));
  if (unknown !== undefined) throw bad(`unknown field ${JSON.stringify(unknown.slice(0, 40))} for a ${type} trigger; its fields are ${[...keys].join(', ')}`);
  const publish = body.publish === undefined || body.publish === null ? {} : { publish: body.publish as string };
  if (type === 'cron') {
    return { id, type, schedule: body.schedule as string, timezone: (body.timezone ?? DEFAULT_CRON_TIMEZONE) as string, ...publish, createdAt };
  }
  const optional = (key: string): Record<string, unknown> => (body[key] === undefined || body[key] === null ? {} : { [key]: body[key] });
  if (body.subject === undefined && body.stream === undefined) throw bad('a queue trigger needs subject (a NATS subject) or stream (a JetStream stream), or both');
  return {
    id,
    type,
    ...(optional('subject') as { subject?: string }),
    ...(optional('stream') as { stream?: string }),
    durable: (body.durable ?? defaultDurable(fn, id)) as string,
    maxDeliver: (body.max_deliver ?? DEFAULT_QUEUE_MAX_DELIVER) as number,
    backoffMs: (body.backoff_ms ?? [...DEFAULT_QUEUE_BACKOFF_MS]) as number[],
    concurrency: (body.concurrency ?? DEFAULT_QUEUE_CONCURRENCY) as number,
    deadLetter: (body.dead_letter ?? defaultDeadLetter(fn, id)) as string,
    ...publish,
    createdAt,
  };
}

/** A trigger in the API (snake_case); a cron trigger's next tick as `next_at`. */
export function triggerView(fn: string, trigger: Trigger, now = Date.now()): Record<string, unknown> {
  const common = { name: fn, id: trigger.id, type: trigger.type, publish: trigger.publish ?? null, created_at: trigger.createdAt };
  if (trigger.type === 'cron') {
    const next = cronOf(trigger.schedule, trigger.timezone).nextRun(new Date(now));
    return { ...common, schedule: trigger.schedule, timezone: trigger.timezone, next_at: next ? next.toISOString() : null };
  }
  return {
    ...common,
    subject: trigger.subject ?? null,
    stream: trigger.stream ?? null,
    durable: trigger.durable,
    max_deliver: trigger.maxDeliver,
    backoff_ms: trigger.backoffMs,
    concurrency: trigger.concurrency,
    dead_letter: trigger.deadLetter,
  };
}

/** Adds the trigger routes to the management router. */
export function triggerRoutes(router: Router, service: FunctionService, runner: TriggerRunner | undefined, guard: Middleware, maxJsonBytes: number): void {
  router.get('/:name/triggers', guard, (ctx) => {
    const name = ctx.params.name!;
    ctx.body = { name, triggers: service.triggers(name).map((t) => triggerView(name, t)) };
  });

  router.get('/:name/triggers/:id', guard, (ctx) => {
    const name = ctx.params.name!;
    ctx.body = triggerView(name, service.trigger(name, ctx.params.id!));
  });

  router.put('/:name/triggers/:id', guard, async (ctx) => {
    const name = ctx.params.name!;
    const id = ctx.params.id!;
    // An unknown function or a bad id is answered before the body is read.
    const existing = service.history(name).triggers.find((t) => t.id === id);
    checkTriggerId(id);
    const trigger = parseTriggerBody(await readJson(ctx, maxJsonBytes, 'trigger'), name, id, existing?.createdAt ?? new Date().toISOString());
    // Its shape first (the same check the service makes), then whether this host can run it.
    const problem = triggerProblem(trigger as unknown as Record<string, unknown>);
    if (problem) throw bad(problem);
    if (!runner) throw bad('this host runs no triggers');
    await runner.check(name, trigger);
    const { created } = await service.setTrigger(name, trigger);
    await runner.reconcile(); // once answered, it runs (or runs as changed) on this host
    ctx.status = created ? 201 : 200;
    ctx.body = triggerView(name, trigger);
  });

  router.delete('/:name/triggers/:id', guard, async (ctx) => {
    await service.removeTrigger(ctx.params.name!, ctx.params.id!);
    await runner?.reconcile(); // once answered, it fires no more on this host
    ctx.status = 204;
  });
}
