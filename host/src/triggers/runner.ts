/**
 * @module triggers/runner
 * Keeps every trigger of every deployed function running, and nothing else: it follows the
 * service's changes (a deploy, a delete, a trigger set or removed, here or, in a cluster, on
 * another host) and compares what runs with what the registry holds, starting, restarting or
 * stopping jobs. A cron trigger is a `CronJob`; a queue trigger a consumer on the bus.
 */
import { InvalidInputError, WaferError } from '../errors.js';
import type { FunctionService } from '../functions/service.js';
import type { Logger } from '../logger.js';
import { TRIGGER_RECONCILE_MS } from '../limits.js';
import type { QueueTrigger, Trigger } from '../registry/registry.js';
import type { QueueConsumer, TriggerBus } from './bus.js';
import { CronJob } from './cron.js';
import { handleDelivery } from './queue.js';

export interface RunnerOptions {
  service: FunctionService;
  logger: Logger;
  /** The cluster's message system; absent on a host without a cluster. */
  bus?: TriggerBus;
  /** How often to reconcile besides on changes (default TRIGGER_RECONCILE_MS). */
  reconcileMs?: number;
}

/** A running trigger: what it was started from (compared to spot a change), and how to stop it. */
interface Running {
  fn: string;
  trigger: Trigger;
  /** The definition as JSON, to compare. */
  key: string;
  stop(): Promise<void>;
}

export class TriggerRunner {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Reconciliations run one at a time; a change during one asks for another. */
  private pass: Promise<void> = Promise.resolve();
  private again = false;
  private closed = false;

  constructor(private readonly options: RunnerOptions) {}

  /** Whether this host can run queue triggers and publish answers (it has a cluster). */
  get clustered(): boolean {
    return this.options.bus !== undefined;
  }

  /**
   * Refuses, with `invalid_request`, a trigger this host cannot run: a queue trigger, or
   * `publish`, need NATS (`wafer serve --cluster nats://…`). In a cluster, makes a queue
   * trigger's stream and consumer exist first (triggers/bus.ts `prepare`).
   */
  async check(fn: string, trigger: Trigger): Promise<void> {
    if (this.options.bus) {
      if (trigger.type !== 'queue') return;
      try {
        await this.options.bus.prepare(fn, trigger);
      } catch (err) {
        if (err instanceof WaferError) throw err;
        // NATS did not answer (or refused): nothing is stored, the client may try again.
        throw new WaferError('not_ready', 503, `could not make the trigger's stream or consumer in the cluster's NATS (${(err as Error).message.slice(0, 200)}); nothing was changed`, { cause: err });
      }
      return;
    }
    if (trigger.type === 'queue') throw new InvalidInputError('invalid_request', 'queue triggers need NATS: this host runs without a cluster (start it with wafer serve --cluster nats://HOST:PORT)');
    if (trigger.publish !== undefined) throw new InvalidInputError('invalid_request', 'publish needs NATS: this host runs without a cluster (start it with wafer serve --cluster nats://HOST:PORT)');
  }

  /** Starts every trigger, and follows changes from now on. */
  start(): Promise<void> {
    this.unsubscribe = this.options.service.onChange(() => void this.reconcile());
    this.timer = setInterval(() => void this.reconcile(), this.options.reconcileMs ?? TRIGGER_RECONCILE_MS);
    this.timer.unref();
    return this.reconcile();
  }

  /** Stops every trigger (calls under way finish first); the durable consumers stay for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.pass;
    await Promise.all([...this.running.values()].map((r) => r.stop()));
    this.running.clear();
  }

  /** Brings what runs in line with the triggers the service holds; resolves when done. */
  reconcile(): Promise<void> {
    if (this.closed) return this.pass;
    this.again = true;
    // One pass at a time: the chained pass sees every change made before it starts.
    this.pass = this.pass.then(async () => {
      if (!this.again || this.closed) return;
      this.again = false;
      await this.apply();
    });
    return this.pass;
  }

  private async apply(): Promise<void> {
    const { service, logger, bus } = this.options;
    const wanted = new Map<string, { fn: string; trigger: Trigger; key: string }>();
    for (const history of service.histories()) {
      const fn = history.current.name;
      for (const trigger of history.triggers) wanted.set(`${fn}/${trigger.id}`, { fn, trigger, key: JSON.stringify(trigger) });
    }
    for (const [id, run] of [...this.running]) {
      const want = wanted.get(id);
      if (want?.key === run.key) continue;
      this.running.delete(id);
      await run.stop().catch((err: unknown) => logger.warn({ fn: run.fn, trigger: run.trigger.id, err }, 'a trigger did not stop cleanly'));
      // Removed (not replaced by one that reuses it): its durable consumer goes too.
      const gone = run.trigger.type === 'queue' && (!want || want.trigger.type !== 'queue' || want.trigger.durable !== run.trigger.durable || (want.trigger.stream ?? want.trigger.subject) !== (run.trigger.stream ?? run.trigger.subject));
      if (gone && bus) await bus.forget(run.fn, run.trigger as QueueTrigger).catch((err: unknown) => logger.warn({ fn: run.fn, trigger: run.trigger.id, err }, 'could not delete the durable consumer of a removed trigger'));
    }
    for (const [id, want] of wanted) {
      if (this.running.has(id) || this.closed) continue;
      try {
        this.running.set(id, { ...want, stop: await this.launch(want.fn, want.trigger) });
        logger.info({ fn: want.fn, trigger: want.trigger.id, type: want.trigger.type }, 'trigger started');
      } catch (err) {
        // Tried again at the next pass (NATS may be back by then).
        logger.warn({ fn: want.fn, trigger: want.trigger.id, err }, 'could not start a trigger; will retry');
      }
    }
  }

  /** Starts one trigger; resolves with its stop. */
  private async launch(fn: string, trigger: Trigger): Promise<() => Promise<void>> {
    const { service, logger, bus } = this.options;
    if (trigger.type === 'cron') {
      const job = new CronJob({ service, logger, bus }, fn, trigger);
      job.start();
      return () => job.stop();
    }
    if (!bus) throw new Error('queue triggers need NATS (this host runs without a cluster)');
    const consumer: QueueConsumer = await bus.consume(fn, trigger, (delivery) => handleDelivery({ service, logger, bus }, fn, trigger, delivery));
    return () => consumer.stop();
  }
}
