/**
 * @module triggers/cron
 * A cron trigger at work: a timer set for its next tick (croner computes it in the trigger's
 * time zone); at the tick, the host that wins the tick's lease (every host, alone) calls the
 * function. Ticks missed while no host ran, or while the previous tick's call of this trigger
 * was still running here, are skipped, never made up: a schedule says when, not how many.
 */
import type { Cron } from 'croner';
import type { FunctionService } from '../functions/service.js';
import type { Logger } from '../logger.js';
import type { CronTrigger } from '../registry/registry.js';
import { cronOf } from '../registry/trigger.js';
import type { TriggerBus } from './bus.js';
import { callAsTrigger, succeeded, triggerHeaders } from './call.js';
import { publishAnswer } from './publish.js';

/** setTimeout's longest delay is 2^31-1 ms; a far tick is reached in steps of this. */
const MAX_TIMER_MS = 3_600_000;

export interface CronDeps {
  service: FunctionService;
  logger: Logger;
  bus?: TriggerBus;
  /** The clock, injectable for tests. */
  now?: () => number;
}

export class CronJob {
  private readonly cron: Cron;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly deps: CronDeps,
    readonly fn: string,
    readonly trigger: CronTrigger,
  ) {
    this.cron = cronOf(trigger.schedule, trigger.timezone);
    this.now = deps.now ?? Date.now;
  }

  /** Sets the timer for the first tick after now. */
  start(): void {
    this.schedule(this.now());
  }

  /** Stops the timer; resolves once a call under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** The next tick after `after` (ms), or undefined when the schedule never fires again. */
  nextTick(after: number): number | undefined {
    return this.cron.nextRun(new Date(after))?.getTime();
  }

  private schedule(after: number): void {
    if (this.stopped) return;
    const tick = this.nextTick(after);
    if (tick === undefined) return;
    const wait = () => {
      const left = tick - this.now();
      if (left > MAX_TIMER_MS) this.timer = setTimeout(wait, MAX_TIMER_MS);
      else this.timer = setTimeout(() => this.fire(tick), Math.max(0, left));
    };
    wait();
  }

  private fire(tick: number): void {
    if (this.stopped) return;
    // The next tick after this one, or after now if the event loop was held up past several.
    this.schedule(Math.max(tick, this.now()));
    if (this.running) {
      this.deps.logger.warn({ fn: this.fn, trigger: this.trigger.id, tick: new Date(tick).toISOString() }, 'cron tick skipped: the previous one is still running');
      return;
    }
    this.running = this.run(tick).finally(() => {
      this.running = undefined;
    });
  }

  private async run(tick: number): Promise<void> {
    const { service, logger, bus } = this.deps;
    const { fn, trigger } = this;
    const scheduledAt = new Date(tick).toISOString();
    const where = { fn, trigger: trigger.id, tick: scheduledAt };
    try {
      // One host per tick across a cluster: the tick's lease, created if absent, is the vote.
      if (bus && !(await bus.lease(`${fn}.${trigger.id}.${tick}`))) return;
      const headers = triggerHeaders(trigger, { 'x-wafer-scheduled-at': scheduledAt, 'x-wafer-schedule': trigger.schedule, 'x-wafer-timezone': trigger.timezone });
      const invocation = await callAsTrigger(service, fn, new Uint8Array(0), headers);
      if (!succeeded(invocation)) {
        logger.warn({ ...where, status: invocation.response.status, invocation: invocation.invocationId }, 'cron call answered a non-2xx status');
        return;
      }
      if (trigger.publish && bus) await publishAnswer(bus, trigger.publish, fn, trigger, invocation);
    } catch (err) {
      // The call failed (logged and metered by the pipeline) or the lease or publish did.
      logger.warn({ ...where, err }, 'cron tick failed');
    }
  }
}
