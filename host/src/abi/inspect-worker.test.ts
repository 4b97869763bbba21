/**
 * The isolated inspector: it answers a component's types from its binary; a timeout or a crash
 * costs one validation, and the worker that failed is replaced before the next one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../paths.js';
import { InspectFailure, InspectWorker } from './inspect-worker.js';

const read = (...parts: string[]) => readFile(join(ROOT, ...parts));
const HANDLE = { kind: 'func', params: [{ name: 'request', type: 'list<u8>' }], result: 'result<list<u8>, string>', async: false };

describe('InspectWorker', () => {
  let worker: InspectWorker | undefined;
  afterEach(() => worker?.close());

  it('answers the imports and exports of a valid component with their types, many times from one worker', async () => {
    worker = new InspectWorker();
    const bytes = await read('samples', 'dist', 'hello-rust.wasm');
    for (let i = 0; i < 3; i++) {
      const types = await worker.inspect(bytes);
      expect(types.exports.handle).toEqual(HANDLE);
      expect(Object.keys(types.imports).every((name) => name.startsWith('wasi:'))).toBe(true);
    }
    expect(worker.started).toBe(1);
  });

  it('renders WASI interfaces as instances of functions', async () => {
    worker = new InspectWorker();
    const types = await worker.inspect(await read('samples', 'dist', 'hello-rust.wasm'));
    const stdout = Object.entries(types.imports).find(([name]) => name.startsWith('wasi:cli/stdout@'))?.[1];
    expect(stdout).toMatchObject({ kind: 'instance', exports: { 'get-stdout': { kind: 'func', params: [] } } });
  });

  it('issue 8 #2: refuses the input that trapped jco\'s decoder, and the next validation succeeds', async () => {
    worker = new InspectWorker();
    const failure = await worker.inspect(await read('test', 'hostile', 'fixtures', 'poison-insert.wasm')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(InspectFailure);
    expect((failure as InspectFailure).kind).toBe('decode');
    expect((await worker.inspect(await read('samples', 'dist', 'hello-rust.wasm'))).exports.handle).toEqual(HANDLE);
  });

  it('stops a validation past its timeout and answers the next one from a fresh worker', async () => {
    // hello-python is ~18 MB: validating it takes ~65 ms warm; a 500-byte fixture, ~0.1 ms.
    worker = new InspectWorker({ timeoutMs: 20 });
    const failure = await worker.inspect(await read('samples', 'dist', 'hello-python.wasm')).catch((err: unknown) => err);
    expect((failure as InspectFailure).kind).toBe('timeout');
    expect((failure as InspectFailure).message).toBe('validation took longer than 20 ms');
    expect((await worker.inspect(await read('test', 'fixtures', 'dist', 'respond.wasm'))).exports).toHaveProperty('handle');
    expect(worker.started).toBe(2);
  });

  it('refuses undecodable bytes with the validator\'s message, keeping the worker', async () => {
    worker = new InspectWorker();
    const bytes = await read('samples', 'dist', 'hello-rust.wasm');
    const failure = await worker.inspect(bytes.subarray(0, 100)).catch((err: unknown) => err);
    expect((failure as InspectFailure).kind).toBe('decode');
    expect((failure as InspectFailure).message.length).toBeGreaterThan(5);
    expect((await worker.inspect(bytes)).exports).toHaveProperty('handle');
    expect(worker.started).toBe(1);
  });
});
