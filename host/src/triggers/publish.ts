/**
 * @module triggers/publish
 * A trigger's `publish`: the function's 2xx answer goes on as a message, its body the answer's
 * body, so another trigger can take it up (a pipeline of small functions). Its headers say
 * where it came from; the answer's `content-type` is kept.
 */
import type { Header } from '../executors/index.js';
import type { Invocation } from '../functions/service.js';
import type { Trigger } from '../registry/registry.js';
import type { TriggerBus } from './bus.js';

/** Publishes `invocation`'s answer to `subject`; resolves once stored (when a stream captures it). */
export function publishAnswer(bus: TriggerBus, subject: string, fn: string, trigger: Trigger, invocation: Invocation): Promise<void> {
  const headers: Header[] = [
    { name: 'x-wafer-function', value: fn },
    { name: 'x-wafer-trigger', value: trigger.id },
    { name: 'x-wafer-invocation-id', value: invocation.invocationId },
    { name: 'x-wafer-version', value: String(invocation.version) },
    { name: 'x-wafer-status', value: String(invocation.response.status) },
  ];
  const type = invocation.response.headers.find((h) => h.name.toLowerCase() === 'content-type');
  if (type) headers.push({ name: 'content-type', value: type.value });
  return bus.publish(subject, invocation.response.body, headers);
}
