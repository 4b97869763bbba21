/**
 * @module engine/wasmtime/stream
 * A streamed call on the addon (host/native/src/stream.rs) as the engine interface's
 * `StreamedCall`: native events become `StreamEvent`s, and the call's final result a report or
 * the error `call` would reject with. The addon bounds what it holds; this adds no buffering.
 */
import type { WaferError } from '../../errors.js';
import type { CallReport, StreamEvent, StreamedCall } from '../engine.js';
import type { NativeCallResult, NativeStream, NativeStreamEvent } from './native.js';

const NOTHING = new Uint8Array(0);

type EndEvent = Extract<StreamEvent, { kind: 'end' }>;

/** Wraps `native`; `toError` turns a failed result into the error `call` would reject with. */
export function streamedCall(native: NativeStream, toError: (r: NativeCallResult) => WaferError, observe?: (r: NativeCallResult) => void): StreamedCall {
  const toBuffer = (chunk: Uint8Array): Buffer => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  const event = (e: NativeStreamEvent): StreamEvent => {
    switch (e.kind) {
      case 'head': {
        const flat = e.headers ?? [];
        const headers: Array<{ name: string; value: string }> = [];
        for (let i = 0; i + 1 < flat.length; i += 2) headers.push({ name: flat[i]!, value: flat[i + 1]! });
        const head: StreamEvent = { kind: 'head', status: e.status ?? 0, headers, complete: e.complete === true };
        if (e.contentLength !== undefined) head.contentLength = e.contentLength;
        if (e.chunk !== undefined) head.first = e.chunk;
        return head;
      }
      case 'data':
        return { kind: 'data', chunk: e.chunk ?? NOTHING };
    }
  };
  const end = (r: NativeCallResult): EndEvent => {
    observe?.(r);
    if (!r.ok) return { kind: 'end', error: toError(r) };
    const report: CallReport = { output: NOTHING, stdout: r.stdout ?? NOTHING, stderr: r.stderr ?? NOTHING, durationUs: r.durationUs, peakMemoryBytes: r.peakMemoryBytes };
    if (r.fuelUsed !== undefined) report.fuelUsed = r.fuelUsed;
    return { kind: 'end', report };
  };
  const finished = Promise.resolve(native.finished()).then(end);
  return {
    push: (chunk) => native.push(toBuffer(chunk)),
    end: () => native.end(),
    fail: () => native.fail(),
    abort: () => native.abort(),
    // No events left: the call has ended, and its result is the last event.
    next: async () => {
      const answer = native.next();
      const events = answer instanceof Promise ? await answer : answer;
      return events.length > 0 ? events.map(event) : [await finished];
    },
    finished,
  };
}
