/**
 * @module triggers/nats
 * The trigger bus on NATS JetStream (triggers/bus.ts), over the cluster's connection:
 * - cron leases: `create` of the key `<fn>.<trigger>.<tick ms>` in the KV bucket
 *   `wafer_cron_leases`; create-if-absent succeeds on exactly one host, and keys expire after an hour;
 * - queue triggers: a durable pull consumer per trigger (explicit acks, an ack wait that the
 *   holding host extends while it works, no server-side delivery limit: the host counts attempts
 *   and dead-letters itself, so a message is never dropped silently). A trigger on a bare subject
 *   uses the stream that captures it, or one the host makes for it (`WAFER_S_<hash>`, interest
 *   retention: a message stays until every trigger on it has acked it);
 * - publishing: to JetStream when a stream captures the subject (resolves once stored), else
 *   plain NATS (which stream captures a subject is asked, and remembered for 5 s). Dead letters on the default subjects (`wafer.dead.>`) are kept by the stream
 *   `WAFER_DEAD` (7 days, 256 MiB).
 */
import { createHash } from 'node:crypto';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { headers as natsHeaders, nanos, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { InvalidInputError, WaferError } from '../errors.js';
import type { Header } from '../executors/index.js';
import type { Logger } from '../logger.js';
import { CRON_LEASE_TTL_MS, QUEUE_ACK_WAIT_MS } from '../limits.js';
import type { QueueTrigger } from '../registry/registry.js';
import type { QueueConsumer, QueueDelivery, TriggerBus } from './bus.js';

const LEASE_BUCKET = 'wafer_cron_leases';
const DEAD_STREAM = 'WAFER_DEAD';
const DEAD_SUBJECTS = 'wafer.dead.>';
const DAY_MS = 86_400_000;
/** What the streams the host makes keep at most: a queue that nobody drains cannot fill the disk. */
const MADE_STREAM_MAX_AGE_MS = 7 * DAY_MS;
const MADE_STREAM_MAX_BYTES = 1024 * 1024 * 1024;
const DEAD_STREAM_MAX_BYTES = 256 * 1024 * 1024;
/** How long whether a stream captures a subject is remembered: a stream made later is used after this. */
const CAPTURE_CACHE_MS = 5_000;
const MAX_CAPTURES_CACHED = 1_024;

/** The stream the host makes for triggers on `subject` when no stream captures it. */
export const streamForSubject = (subject: string): string => `WAFER_S_${createHash('sha256').update(subject).digest('hex').slice(0, 16)}`;

function headersOf(h: MsgHdrs | undefined): Header[] {
  if (!h) return [];
  const out: Header[] = [];
  for (const [name, values] of h) for (const value of values) out.push({ name: name.toLowerCase(), value });
  return out;
}

function natsHeadersOf(list: Header[]): MsgHdrs {
  const h = natsHeaders();
  for (const { name, value } of list) h.append(name, value);
  return h;
}

/** A JetStream API error's code (10059 stream not found, …), or undefined. */
function apiCode(err: unknown): number | undefined {
  const code = (err as { api_error?: { err_code?: number } })?.api_error?.err_code ?? (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

export class NatsTriggerBus implements TriggerBus {
  private readonly js: JetStreamClient;
  private leases: Promise<KV> | undefined;
  private deadStream: Promise<unknown> | undefined;
  private readonly captures = new Map<string, { captured: boolean; at: number }>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly logger: Logger,
    private readonly hostId: string,
  ) {
    this.js = jetstream(nc);
  }

  /** A bus on the cluster's connection; `hostId` names this host in the leases it wins. */
  static async open(nc: NatsConnection, logger: Logger, hostId: string): Promise<NatsTriggerBus> {
    return new NatsTriggerBus(nc, await jetstreamManager(nc), logger, hostId);
  }

  async lease(key: string): Promise<boolean> {
    this.leases ??= new Kvm(this.nc).create(LEASE_BUCKET, { ttl: CRON_LEASE_TTL_MS, history: 1, storage: StorageType.File }).catch((err: unknown) => {
      this.leases = undefined;
      throw err;
    });
    const kv = await this.leases;
    try {
      await kv.create(key, this.hostId);
      return true;
    } catch (err) {
      // Another host created it first (the only expected failure); anything else is the server's.
      if (/wrong last sequence|key exists/i.test((err as Error).message)) return false;
      throw err;
    }
  }

  async publish(subject: string, body: Uint8Array, headers: Header[]): Promise<void> {
    if (subject.startsWith('wafer.dead.')) await this.ensureDeadStream();
    const h = natsHeadersOf(headers);
    // Not "try JetStream, else plain": a JetStream publish is a request, so a plain subscriber
    // of the subject would get it and leave it unanswered; ask which stream captures it first.
    if (await this.captured(subject)) {
      await this.js.publish(subject, body, { headers: h });
      return;
    }
    this.nc.publish(subject, body, { headers: h });
    await this.nc.flush();
  }

  /** Whether a stream captures `subject`; remembered for CAPTURE_CACHE_MS (a stream may be made later). */
  private async captured(subject: string): Promise<boolean> {
    const known = this.captures.get(subject);
    if (known && Date.now() - known.at < CAPTURE_CACHE_MS) return known.captured;
    let captured: boolean;
    try {
      await this.jsm.streams.find(subject);
      captured = true;
    } catch (err) {
      if (!/no stream matches|not found/i.test((err as Error).message)) throw err;
      captured = false;
    }
    if (this.captures.size >= MAX_CAPTURES_CACHED) this.captures.clear();
    this.captures.set(subject, { captured, at: Date.now() });
    return captured;
  }

  /**
   * Makes sure the trigger's stream and durable consumer exist (creating the stream for a bare
   * subject, and the consumer, or updating it), so messages published once the PUT answered are
   * kept. `invalid_request` when the stream it names does not exist.
   */
  async prepare(fn: string, trigger: QueueTrigger): Promise<string> {
    const stream = await this.streamOf(trigger);
    const config = {
      durable_name: trigger.durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(QUEUE_ACK_WAIT_MS),
      // The host counts attempts (handleDelivery) and dead-letters; the server never drops one.
      max_deliver: -1,
      deliver_policy: DeliverPolicy.All,
      description: `wafer trigger ${trigger.id} of ${fn}`,
      ...(trigger.subject && trigger.stream ? { filter_subject: trigger.subject } : {}),
    };
    try {
      await this.jsm.consumers.info(stream, trigger.durable);
      await this.jsm.consumers.update(stream, trigger.durable, { ack_wait: config.ack_wait, max_deliver: -1, description: config.description, ...(config.filter_subject ? { filter_subject: config.filter_subject } : {}) });
    } catch (err) {
      if (apiCode(err) !== CONSUMER_NOT_FOUND) throw err;
      await this.jsm.consumers.add(stream, config);
    }
    return stream;
  }

  async consume(fn: string, trigger: QueueTrigger, handle: (delivery: QueueDelivery) => Promise<void>): Promise<QueueConsumer> {
    const stream = await this.prepare(fn, trigger);
    const consumer = await this.js.consumers.get(stream, trigger.durable);
    const messages = await consumer.consume({ max_messages: trigger.concurrency });
    const inflight = new Set<Promise<void>>();
    const { logger } = this;
    const run = (m: JsMsg): void => {
      // Tell JetStream this host still works on it, so a long call is not handed to another host.
      const heartbeat = setInterval(() => m.working(), Math.floor(QUEUE_ACK_WAIT_MS / 3));
      const delivery: QueueDelivery = {
        subject: m.subject,
        data: m.data,
        headers: headersOf(m.headers),
        stream,
        streamSeq: m.info.streamSequence,
        deliveryCount: m.info.deliveryCount,
        ack: () => m.ack(),
        nak: (delayMs) => m.nak(delayMs),
        term: (reason) => m.term(reason),
      };
      const done: Promise<void> = handle(delivery)
        .catch((err: unknown) => {
          logger.error({ fn, trigger: trigger.id, err }, 'queue trigger handler failed; the message will be delivered again');
          m.nak(trigger.backoffMs[0]);
        })
        .finally(() => {
          clearInterval(heartbeat);
          inflight.delete(done);
        });
      inflight.add(done);
    };
    const loop = (async () => {
      for await (const m of messages) {
        run(m);
        // At most `concurrency` calls at once: the next message waits for a free slot.
        while (inflight.size >= trigger.concurrency) await Promise.race(inflight);
      }
    })().catch((err: unknown) => logger.warn({ fn, trigger: trigger.id, err }, 'queue consumer ended'));
    return {
      async stop() {
        await messages.close().catch(() => undefined);
        await loop;
        await Promise.all(inflight);
      },
    };
  }

  async forget(fn: string, trigger: QueueTrigger): Promise<void> {
    let stream: string;
    try {
      stream = trigger.stream ?? (await this.jsm.streams.find(trigger.subject!));
      await this.jsm.consumers.delete(stream, trigger.durable);
    } catch (err) {
      const code = apiCode(err);
      if (code === CONSUMER_NOT_FOUND || code === STREAM_NOT_FOUND || /no stream matches/i.test((err as Error).message)) return;
      throw err;
    }
    this.logger.info({ fn, trigger: trigger.id, stream, durable: trigger.durable }, 'deleted the durable consumer of a removed trigger');
  }

  /** The stream a queue trigger reads: the one it names, else the one capturing its subject, else one made for it. */
  private async streamOf(trigger: QueueTrigger): Promise<string> {
    if (trigger.stream) {
      try {
        await this.jsm.streams.info(trigger.stream);
      } catch (err) {
        if (apiCode(err) === STREAM_NOT_FOUND) throw new InvalidInputError('invalid_request', `stream: there is no JetStream stream named ${trigger.stream}`);
        throw err;
      }
      return trigger.stream;
    }
    const subject = trigger.subject!;
    try {
      return await this.jsm.streams.find(subject);
    } catch (err) {
      if (!/no stream matches|not found/i.test((err as Error).message)) throw err;
    }
    const name = streamForSubject(subject);
    try {
      await this.jsm.streams.add({
        name,
        subjects: [subject],
        retention: RetentionPolicy.Interest,
        storage: StorageType.File,
        max_age: nanos(MADE_STREAM_MAX_AGE_MS),
        max_bytes: MADE_STREAM_MAX_BYTES,
        description: `wafer: messages of ${subject} for its queue triggers`,
      });
    } catch (err) {
      // Another host made it meanwhile (same config: fine), or a stream of another name took the subject.
      const found = await this.jsm.streams.find(subject).catch(() => undefined);
      if (found) return found;
      throw new WaferError('internal', 500, `could not make a stream for subject ${subject}: ${(err as Error).message}`, { cause: err });
    }
    return name;
  }

  private ensureDeadStream(): Promise<unknown> {
    this.deadStream ??= this.jsm.streams
      .add({ name: DEAD_STREAM, subjects: [DEAD_SUBJECTS], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: nanos(MADE_STREAM_MAX_AGE_MS), max_bytes: DEAD_STREAM_MAX_BYTES, description: 'wafer: dead letters of queue triggers' })
      .catch((err: unknown) => {
        this.deadStream = undefined;
        // A stream capturing wafer.dead.> exists already (another name): use it.
        if (/overlap/i.test((err as Error).message)) return;
        throw err;
      });
    return this.deadStream;
  }
}
