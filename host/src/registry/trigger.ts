/**
 * @module registry/trigger
 * A trigger calls its function on something other than an HTTP request: a cron schedule, or
 * messages of a NATS subject or JetStream stream. It belongs to the function (like its aliases
 * and invoke tokens: it outlives deploys and goes with a delete) and is stored in its record.
 * Its rules live here because they are checked both where a trigger arrives (the API, which
 * fills in the defaults first) and where it is read back (the record). Running triggers is
 * triggers/'s work; this only says what a valid one is.
 */
import { Cron } from 'croner';
import { MAX_CRON_SCHEDULE_CHARS, MAX_QUEUE_BACKOFF_MS, MAX_QUEUE_BACKOFF_STEPS, MAX_QUEUE_CONCURRENCY, MAX_QUEUE_MAX_DELIVER, MAX_SUBJECT_CHARS } from '../limits.js';

/** A trigger id: like a function name, so it fits in subjects, durable names and KV keys as is. */
export const TRIGGER_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

export type TriggerType = 'cron' | 'queue';
export const TRIGGER_TYPES: readonly TriggerType[] = ['cron', 'queue'];

interface TriggerBase {
  id: string;
  /** A subject the function's 2xx answers are published to (a pipeline's next stage); absent: none. */
  publish?: string;
  createdAt: string;
}

/** Calls the function at each tick of `schedule`, read in `timezone`; once per tick across a cluster. */
export interface CronTrigger extends TriggerBase {
  type: 'cron';
  /** Five fields (minute first), six (second first), or a nickname such as `@hourly`. */
  schedule: string;
  /** An IANA time zone, e.g. `Europe/Paris`. */
  timezone: string;
}

/**
 * Calls the function once per message of a JetStream stream (`stream`, optionally only the
 * messages of `subject`), or of `subject` (a stream that captures it is found or made), through
 * the durable consumer `durable`; at least once, acked on a 2xx answer.
 */
export interface QueueTrigger extends TriggerBase {
  type: 'queue';
  subject?: string;
  stream?: string;
  durable: string;
  /** Attempts before a message goes to `deadLetter`. */
  maxDeliver: number;
  /** Wait before retry n (the last value repeats). */
  backoffMs: number[];
  /** Messages processed at once per host. */
  concurrency: number;
  deadLetter: string;
}

export type Trigger = CronTrigger | QueueTrigger;

/** A subject to publish to: dot-separated tokens of letters, digits, `-` and `_`, no wildcard. */
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
/** A subject to listen on: the same, where a token may be `*`, and the last one `>`. */
const SUBJECT_FILTER = /^([A-Za-z0-9_-]+|\*)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$|^>$/;
/** A JetStream stream or durable consumer name (no dots, wildcards or spaces). */
export const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const DURABLE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

const isInt = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/** Why `subject` is not a subject one may publish to (or, with `filter`, listen on), naming `field`; undefined when it is one. */
export function subjectProblem(subject: unknown, field: string, filter = false): string | undefined {
  const what = filter ? 'a NATS subject (tokens of A-Z a-z 0-9 _ - separated by dots; * and a last > allowed)' : 'a NATS subject without wildcards (tokens of A-Z a-z 0-9 _ - separated by dots)';
  if (typeof subject !== 'string' || subject.length > MAX_SUBJECT_CHARS || !(filter ? SUBJECT_FILTER : SUBJECT).test(subject)) {
    return `${field} must be ${what}, at most ${MAX_SUBJECT_CHARS} characters, got ${JSON.stringify(subject)?.slice(0, 60)}`;
  }
  // Replies travel on _INBOX.…: a trigger may neither answer in another client's name nor swallow
  // every reply; and a first token that is a wildcard would capture the whole server.
  if (/^_INBOX(\.|$)/.test(subject)) return `${field} may not be a reply subject (_INBOX...)`;
  if (/^[*>](\.|$)/.test(subject)) return `${field} must start with a literal token, not a wildcard`;
  return undefined;
}

/** Whether `zone` is a time zone this Node knows (IANA names, and UTC). */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The schedule of a cron trigger, parsed (five or six fields, or a nickname); throws when it is not one. */
export function cronOf(schedule: string, timezone: string): Cron {
  return new Cron(schedule, { timezone, paused: true, mode: '5-or-6-parts' });
}

/** Why a cron trigger's schedule or zone is invalid, naming the field; undefined when both are fine. */
export function cronProblem(schedule: unknown, timezone: unknown): string | undefined {
  if (typeof schedule !== 'string' || schedule.length === 0 || schedule.length > MAX_CRON_SCHEDULE_CHARS) {
    return `schedule must be a cron expression of at most ${MAX_CRON_SCHEDULE_CHARS} characters`;
  }
  if (!isTimeZone(timezone)) return `timezone must be an IANA time zone such as Europe/Paris or UTC, got ${JSON.stringify(timezone)?.slice(0, 60)}`;
  try {
    if (!cronOf(schedule, timezone).nextRun()) return `schedule ${JSON.stringify(schedule)} never fires again`;
  } catch (err) {
    // croner's message names the part that is wrong; no input is echoed beyond the bounded schedule.
    return `schedule is not a cron expression (five fields, minute first; six, second first; or @hourly, @daily, ...): ${(err as Error).message.replace(/^CronPattern: /, '').slice(0, 200)}`;
  }
  return undefined;
}

/**
 * Why `t` is not a valid stored trigger (every field filled in, as the API stores it), naming
 * the field; undefined when it is one.
 */
export function triggerProblem(t: Record<string, unknown>): string | undefined {
  if (typeof t.id !== 'string' || !TRIGGER_ID_PATTERN.test(t.id)) return 'id is not a trigger id';
  if (typeof t.createdAt !== 'string') return 'createdAt is not a string';
  if (t.publish !== undefined) {
    const problem = subjectProblem(t.publish, 'publish');
    if (problem) return problem;
  }
  if (t.type === 'cron') return cronProblem(t.schedule, t.timezone);
  if (t.type !== 'queue') return `type must be ${TRIGGER_TYPES.join(' or ')}`;
  if (t.subject === undefined && t.stream === undefined) return 'a queue trigger needs a subject or a stream';
  if (t.subject !== undefined) {
    const problem = subjectProblem(t.subject, 'subject', true);
    if (problem) return problem;
    if (typeof t.subject === 'string' && t.subject.startsWith('$')) return 'subject may not be a system subject ($...)';
  }
  if (t.stream !== undefined && (typeof t.stream !== 'string' || !STREAM_NAME.test(t.stream))) return 'stream must be a JetStream stream name (1 to 64 of A-Z a-z 0-9 _ -)';
  // The streams behind KV buckets and object stores hold the cluster's registry and token.
  if (typeof t.stream === 'string' && /^(KV|OBJ)_/.test(t.stream)) return 'stream may not be a KV bucket or object store (KV_..., OBJ_...)';
  if (typeof t.durable !== 'string' || !DURABLE_NAME.test(t.durable)) return 'durable must be a consumer name (1 to 128 of A-Z a-z 0-9 _ -)';
  if (!isInt(t.maxDeliver, 1, MAX_QUEUE_MAX_DELIVER)) return `max_deliver must be an integer from 1 to ${MAX_QUEUE_MAX_DELIVER}`;
  if (!Array.isArray(t.backoffMs) || t.backoffMs.length === 0 || t.backoffMs.length > MAX_QUEUE_BACKOFF_STEPS || !t.backoffMs.every((ms) => isInt(ms, 0, MAX_QUEUE_BACKOFF_MS))) {
    return `backoff_ms must be a list of 1 to ${MAX_QUEUE_BACKOFF_STEPS} waits, each an integer from 0 to ${MAX_QUEUE_BACKOFF_MS} milliseconds`;
  }
  if (!isInt(t.concurrency, 1, MAX_QUEUE_CONCURRENCY)) return `concurrency must be an integer from 1 to ${MAX_QUEUE_CONCURRENCY}`;
  const dead = subjectProblem(t.deadLetter, 'dead_letter');
  if (dead) return dead;
  if (t.deadLetter === t.subject || (t.publish !== undefined && t.publish === t.subject)) return 'publish and dead_letter may not be the subject the trigger listens on (a message would come back to it forever)';
  return undefined;
}
