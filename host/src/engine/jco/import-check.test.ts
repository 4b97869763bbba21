/**
 * The jco engine's upload check of a component's imports: read from the binary, compared with
 * what the worker's WASI import object really provides.
 */
import { readFile, readdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { parse } from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOC, LIFT_HANDLE } from '../../../../test/fixtures/kit.mjs';
import { componentImports } from './component-imports.js';
import { checkImports, missingImports, type ShimShape } from './import-check.js';

const SAMPLES = new URL('../../../../samples/dist/', import.meta.url);

/** A component answering nothing, importing `imports` (component-text import declarations). */
const importing = (imports: string) =>
  parse(`(component
  ${imports}
  (core module $m ${ALLOC} (func (export "handle") (param i32 i32) (result i32) (call $ok (i32.const 64) (i32.const 0))))
  (core instance $i (instantiate $m))
  ${LIFT_HANDLE})`);

/** The shape the engine's worker describes: the real preview2-shim import object. */
let shape: ShimShape;
let worker: Worker;
beforeAll(async () => {
  worker = new Worker(new URL('./worker.js', import.meta.url));
  shape = await new Promise<ShimShape>((resolve) => {
    worker.once('message', (msg: { shape: ShimShape }) => resolve(msg.shape));
    worker.postMessage({ type: 'describe' });
  });
});
afterAll(() => worker?.terminate());

describe('component imports against the jco engine WASI', () => {
  it('finds nothing missing in any sample (Rust, Go, Python, TypeScript guests)', async () => {
    const names = (await readdir(SAMPLES)).filter((n) => n.endsWith('.wasm'));
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      const imports = componentImports(new Uint8Array(await readFile(new URL(name, SAMPLES))));
      expect(imports, name).toBeDefined();
      expect(imports!.every((i) => i.items !== undefined), name).toBe(true);
      expect(missingImports(imports!, shape), name).toEqual([]);
    }
  });

  it('reads every function, resource, method and type of an imported instance', async () => {
    const imports = componentImports(
      await importing(`(import "wasi:io/streams@0.2.0" (instance
      (export "output-stream" (type (sub resource)))
      (export "stream-alias" (type (eq 0)))
      (export "made-up-stream" (type (sub resource)))
      (export "[method]output-stream.check-write" (func))
      (export "[method]output-stream.fly" (func))
      (export "[static]output-stream.make" (func))))`),
    );
    expect(imports).toEqual([
      {
        name: 'wasi:io/streams@0.2.0',
        items: [
          { name: 'output-stream', kind: 'resource' },
          { name: 'stream-alias', kind: 'type' },
          { name: 'made-up-stream', kind: 'resource' },
          { name: '[method]output-stream.check-write', kind: 'func' },
          { name: '[method]output-stream.fly', kind: 'func' },
          { name: '[static]output-stream.make', kind: 'func' },
        ],
      },
    ]);
    expect(missingImports(imports!, shape)).toEqual([
      'wasi:io/streams@0.2.0#made-up-stream',
      'wasi:io/streams@0.2.0#[method]output-stream.fly',
      'wasi:io/streams@0.2.0#[static]output-stream.make',
    ]);
  });

  it('refuses made-up functions of a real interface, and made-up interfaces, with abi_mismatch naming them', async () => {
    const funcs = Array.from({ length: 1000 }, (_, i) => `(export "f${i}" (func))`).join(' ');
    const made = componentImports(await importing(`(import "wasi:cli/environment@0.2.0" (instance (export "get-environment" (func)) ${funcs}))`))!;
    expect(missingImports(made, shape)).toHaveLength(1000);
    expect(() => checkImports(made, shape)).toThrow(
      expect.objectContaining({ code: 'abi_mismatch', status: 400, message: expect.stringMatching(/wasi:cli\/environment@0\.2\.0#f0, .*and 995 more/) }),
    );
    const iface = componentImports(await importing('(import "wasi:hostile/api@0.2.0" (instance (export "f" (func))))'))!;
    expect(missingImports(iface, shape)).toEqual(['wasi:hostile/api@0.2.0']);
  });

  it('answers undefined (no opinion) for bytes it cannot read', () => {
    expect(componentImports(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 7, 0xff]))).toBeUndefined();
    expect(componentImports(new Uint8Array([1, 2, 3]))).toBeUndefined();
    // Component types nested 200,000 deep: deeper than the stack, still no crash.
    const depth = 200_000;
    const body = [0x01, ...Array.from({ length: depth }, () => [0x41, 0x01, 0x01]).flat(), 0x41, 0x00];
    const size = [];
    for (let n = body.length; ; n >>>= 7) {
      size.push(n > 0x7f ? (n & 0x7f) | 0x80 : n);
      if (n <= 0x7f) break;
    }
    expect(componentImports(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 7, ...size, ...body]))).toBeUndefined();
  });
});
