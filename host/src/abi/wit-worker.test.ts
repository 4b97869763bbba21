/**
 * The isolated `componentWit` runner: a trap, a timeout or a crash costs one validation, and the
 * worker that failed is replaced before the next one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../paths.js';
import { WitFailure, WitWorker } from './wit-worker.js';

const read = (...parts: string[]) => readFile(join(ROOT, ...parts));

describe('WitWorker', () => {
  let worker: WitWorker | undefined;
  afterEach(() => worker?.close());

  it('answers the WIT of a valid component, many times from one worker', async () => {
    worker = new WitWorker();
    const bytes = await read('samples', 'dist', 'hello-rust.wasm');
    for (let i = 0; i < 3; i++) expect(await worker.wit(bytes)).toMatch(/export handle: func/);
    expect(worker.started).toBe(1);
  });

  it('issue 8 #2: replaces the worker after the decoder traps, and the next validation succeeds', async () => {
    worker = new WitWorker();
    const failure = await worker.wit(await read('test', 'hostile', 'fixtures', 'poison-insert.wasm')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WitFailure);
    expect((failure as WitFailure).kind).toBe('trap');
    expect(await worker.wit(await read('samples', 'dist', 'hello-rust.wasm'))).toMatch(/export handle: func/);
    expect(worker.started).toBe(2);
  });

  it('stops a validation past its timeout and answers the next one from a fresh worker', async () => {
    // hello-python is ~40 MB: decoding it takes ~100 ms warm; a 500-byte fixture, ~10 ms.
    worker = new WitWorker({ timeoutMs: 60 });
    const failure = await worker.wit(await read('samples', 'dist', 'hello-python.wasm')).catch((err: unknown) => err);
    expect((failure as WitFailure).kind).toBe('timeout');
    expect((failure as WitFailure).message).toBe('validation took longer than 60 ms');
    expect(await worker.wit(await read('test', 'fixtures', 'dist', 'respond.wasm'))).toMatch(/export handle/);
    expect(worker.started).toBe(2);
  });

  it('refuses undecodable bytes with the decoder message, keeping the worker', async () => {
    worker = new WitWorker();
    const bytes = await read('samples', 'dist', 'hello-rust.wasm');
    const failure = await worker.wit(bytes.subarray(0, 100)).catch((err: unknown) => err);
    expect((failure as WitFailure).kind).toBe('decode');
    expect(await worker.wit(bytes)).toMatch(/export handle/);
    expect(worker.started).toBe(1);
  });
});
