/**
 * @module triggers/queue
 * One message of a queue trigger: call the function with it; on a 2xx answer publish the
 * answer (if the trigger says so) and ack; on anything else nak it with the trigger's backoff,
 * so it comes back (to this host or another) after the wait. On its `max_deliver`-th failed
 * attempt the message goes to the dead-letter subject, with headers saying why, and is
 * terminated. Every step is at least once: a host that dies before the ack leaves the message
 * to be delivered again once its ack wait runs out.
 */
import { WaferError } from '../errors.js';
import type { Header } from '../executors/index.js';
import type { FunctionService, Invocation } from '../functions/service.js';
import type { Logger } from '../logger.js';
import type { QueueTrigger } from '../registry/registry.js';
import type { QueueDelivery, TriggerBus } from './bus.js';
import { callAsTrigger, succeeded, triggerHeaders } from './call.js';
import { publishAnswer } from './publish.js';

export interface QueueDeps {
  service: FunctionService;
  logger: Logger;
  bus: TriggerBus;
}

/** The wait before the next attempt after failed attempt `attempt` (1-based): the trigger's backoff, its last value repeating. */
export function backoffFor(trigger: QueueTrigger, attempt: number): number {
  return trigger.backoffMs[Math.min(attempt, trigger.backoffMs.length) - 1]!;
}

/** Why an attempt failed, as the dead-letter headers say it. */
interface Failure {
  status: number;
  code: string;
  message: string;
}

function failureOf(outcome: Invocation | unknown): Failure {
  if (outcome instanceof WaferError) return { status: outcome.status, code: outcome.code, message: outcome.message };
  const invocation = outcome as Invocation;
  if (invocation && typeof invocation === 'object' && 'response' in invocation) {
    return { status: invocation.response.status, code: 'status', message: `the function answered ${invocation.response.status}` };
  }
  return { status: 500, code: 'internal', message: (outcome as Error)?.message ?? String(outcome) };
}

/** Handles one delivery of `trigger`'s consumer for function `fn`; settles the message, never throws. */
export async function handleDelivery(deps: QueueDeps, fn: string, trigger: QueueTrigger, delivery: QueueDelivery): Promise<void> {
  const { service, logger, bus } = deps;
  const attempt = delivery.deliveryCount;
  const where = { fn, trigger: trigger.id, stream: delivery.stream, seq: delivery.streamSeq, attempt };
  let failure: Failure;
  if (attempt > trigger.maxDeliver) {
    // Delivered again after its last attempt (the host that dead-lettered it died before the
    // term): dead-letter it again without another call.
    failure = { status: 0, code: 'max_deliver', message: `delivered ${attempt} times, over max_deliver ${trigger.maxDeliver}` };
  } else {
    const headers = triggerHeaders(
      trigger,
      {
        'x-wafer-subject': delivery.subject,
        'x-wafer-stream': delivery.stream,
        'x-wafer-stream-seq': String(delivery.streamSeq),
        'x-wafer-delivery': String(attempt),
        'x-wafer-max-deliver': String(trigger.maxDeliver),
      },
      delivery.headers,
    );
    let outcome: Invocation | unknown;
    try {
      outcome = await callAsTrigger(service, fn, delivery.data, headers);
    } catch (err) {
      outcome = err;
    }
    if (outcome && typeof outcome === 'object' && 'response' in outcome && succeeded(outcome as Invocation)) {
      try {
        if (trigger.publish) await publishAnswer(bus, trigger.publish, fn, trigger, outcome as Invocation);
        delivery.ack();
      } catch (err) {
        // Not acked: the answer was not passed on, so the message is tried again.
        logger.warn({ ...where, err }, 'queue trigger could not publish the answer; the message will be delivered again');
        delivery.nak(backoffFor(trigger, attempt));
      }
      return;
    }
    failure = failureOf(outcome);
    if (attempt < trigger.maxDeliver) {
      logger.info({ ...where, status: failure.status, code: failure.code }, 'queue message failed; it will be delivered again');
      delivery.nak(backoffFor(trigger, attempt));
      return;
    }
  }
  await deadLetter(deps, fn, trigger, delivery, failure);
}

/** Publishes the message to the trigger's dead-letter subject with why, then terminates it; nak'd if the publish fails. */
async function deadLetter(deps: QueueDeps, fn: string, trigger: QueueTrigger, delivery: QueueDelivery, failure: Failure): Promise<void> {
  const where = { fn, trigger: trigger.id, stream: delivery.stream, seq: delivery.streamSeq, attempt: delivery.deliveryCount };
  const headers: Header[] = [
    ...delivery.headers.filter((h) => !h.name.toLowerCase().startsWith('x-wafer-')),
    { name: 'x-wafer-function', value: fn },
    { name: 'x-wafer-trigger', value: trigger.id },
    { name: 'x-wafer-subject', value: delivery.subject },
    { name: 'x-wafer-stream', value: delivery.stream },
    { name: 'x-wafer-stream-seq', value: String(delivery.streamSeq) },
    { name: 'x-wafer-attempts', value: String(Math.min(delivery.deliveryCount, trigger.maxDeliver)) },
    { name: 'x-wafer-error-status', value: String(failure.status) },
    { name: 'x-wafer-error-code', value: failure.code },
    // Header values are one line; the message is bounded.
    { name: 'x-wafer-error', value: failure.message.replace(/[\r\n]+/g, ' ').slice(0, 512) },
  ];
  try {
    await deps.bus.publish(trigger.deadLetter, delivery.data, headers);
  } catch (err) {
    deps.logger.error({ ...where, err }, 'queue trigger could not publish to the dead-letter subject; the message will be delivered again');
    delivery.nak(backoffFor(trigger, delivery.deliveryCount));
    return;
  }
  deps.logger.warn({ ...where, dead_letter: trigger.deadLetter, code: failure.code }, 'queue message dead-lettered');
  delivery.term(`dead-lettered to ${trigger.deadLetter}`);
}
