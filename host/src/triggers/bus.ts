/**
 * @module triggers/bus
 * What triggers need from a cluster's message system, as one small interface (triggers/nats.ts
 * is the NATS JetStream one): a lease, so one host of many runs each cron tick; publishing,
 * for pipelines and dead letters; and durable queue consumers. A host without a cluster has
 * none: cron runs on it alone, and queue triggers and `publish` are refused.
 */
import type { Header } from '../executors/index.js';
import type { QueueTrigger } from '../registry/registry.js';

/** One message of a queue trigger, held by this host until it is acked, nak'd or terminated. */
export interface QueueDelivery {
  subject: string;
  data: Uint8Array;
  /** The message's own headers. */
  headers: Header[];
  stream: string;
  /** Its sequence number in the stream: the same on every delivery. */
  streamSeq: number;
  /** 1 on the first delivery, then 2, 3, … (redeliveries after a nak or a host lost). */
  deliveryCount: number;
  /** Done: never delivered again. */
  ack(): void;
  /** Failed: deliver it again after `delayMs`. */
  nak(delayMs: number): void;
  /** Given up (dead-lettered): never delivered again. */
  term(reason: string): void;
}

/** A running consumer; `stop` ends it, waiting for the messages in flight. */
export interface QueueConsumer {
  stop(): Promise<void>;
}

export interface TriggerBus {
  /** True for exactly one caller of `key` across the cluster (until the lease expires). */
  lease(key: string): Promise<boolean>;
  /** Publishes a message; resolves once it is stored, when a stream captures `subject`. */
  publish(subject: string, body: Uint8Array, headers: Header[]): Promise<void>;
  /**
   * Makes the stream (for a bare subject) and the durable consumer of `trigger` exist before it
   * is stored, so messages published once its PUT answered are kept; `invalid_request` when a
   * stream it names does not exist.
   */
  prepare(fn: string, trigger: QueueTrigger): Promise<string>;
  /**
   * Creates or updates the durable consumer of `trigger` (`fn`'s) and calls `handle` for its
   * messages, at most `trigger.concurrency` at once on this host. `handle` settles each message.
   */
  consume(fn: string, trigger: QueueTrigger, handle: (delivery: QueueDelivery) => Promise<void>): Promise<QueueConsumer>;
  /** Deletes the durable consumer of a trigger that was removed (nothing if it is gone). */
  forget(fn: string, trigger: QueueTrigger): Promise<void>;
}
