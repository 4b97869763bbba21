/**
 * @module engine/wasmtime/fixtures.testkit
 * Tiny hand-written components for this folder's unit tests, built in-process from component
 * text with jco's `parse` (a few hundred bytes each, milliseconds to compile). Test-only.
 */
import { createHash } from 'node:crypto';

import { parse } from '@bytecodealliance/jco';

import type { LoadUnit } from '../engine.js';
import { ALLOC, LIFT, LIFT_HANDLE } from '../../../../test/fixtures/kit.mjs';

// The shared allocator, `$ok` and lift (test/fixtures/kit.mjs), plus an `$err` writer and a call counter.
const CORE = `${ALLOC}
    (data (i32.const 64) "boom")
    (global $calls (mut i32) (i32.const 0))
    (func $err (result i32)
      (i32.store8 (i32.const 16) (i32.const 1))
      (i32.store (i32.const 20) (i32.const 64))
      (i32.store (i32.const 24) (i32.const 4))
      (i32.const 16))`;

/** A component of wafer's world whose `handle` body is `body` (params: ptr, len; result: i32). */
function handler(body: string, extraCore = ''): string {
  return `(component
  (core module $m ${CORE} ${extraCore}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32) ${body}))
  ${LIFT})`;
}

export const SOURCES = {
  echo: handler('(call $ok (local.get $ptr) (local.get $len))'),
  /** Returns one byte: how many calls this instance has seen (1 with a fresh store per call). */
  counter: handler(`
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.store8 (i32.const 32) (global.get $calls))
      (call $ok (i32.const 32) (i32.const 1))`),
  loop: handler('(loop $l (br $l)) (unreachable)'),
  trap: handler('(unreachable)'),
  err: handler('(call $err)'),
  /** Spins a million iterations per input byte, then answers ok(empty): fast or slow on demand. */
  spin: handler(`(local $n i32)
      (local.set $n (i32.mul (local.get $len) (i32.const 1000000)))
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (call $ok (local.get $ptr) (i32.const 0))`),
  /** Loads past the end of its memory: a trap the signal handler (or a bounds check) catches. */
  oob: handler('(drop (i32.load (i32.const -4))) (unreachable)'),
  /** Grows by 1 MiB at a time until something stops it. */
  grow: handler('(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (unreachable)'),
  /** Recurses without end: a stack overflow, which must not take Node down. */
  stack: handler('(call $deep (i32.const 0)) (unreachable)', `
    (func $deep (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))`),
  /** Declares a 4 MiB initial memory: over a 1 MiB quota before any code runs. */
  bigmem: handler('(call $ok (local.get $ptr) (local.get $len))').replace(
    '(memory (export "memory") 1)',
    '(memory (export "memory") 64)',
  ),
  wrongSignature: `(component
  (core module $m (func (export "handle") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m))
  (func (export "handle") (param "x" u32) (result u32) (canon lift (core func $i "handle"))))`,
  noHandle: `(component
  (core module $m (func (export "run")))
  (core instance $i (instantiate $m))
  (func (export "run") (canon lift (core func $i "run"))))`,
  /** Imports an interface no wafer host provides. */
  unknownImport: `(component
  (import "acme:thing/api" (instance $api (export "f" (func))))
  (core func $f (canon lower (func $api "f")))
  (core instance $h (export "f" (func $f)))
  (core module $m (import "host" "f" (func $f)) ${CORE}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (call $f) (call $ok (local.get $ptr) (local.get $len))))
  (core instance $i (instantiate $m (with "host" (instance $h))))
  ${LIFT_HANDLE})`,
  coreModule: '(module (func (export "handle")))',
  /** A core module for V8 itself: an out-of-bounds load its own trap handler must catch. */
  v8oob: '(module (memory 1) (func (export "f") (result i32) (i32.load (i32.const 70000))))',
} as const;

export type FixtureName = keyof typeof SOURCES;

const built = new Map<FixtureName, Uint8Array>();

/** The binary of a fixture (built once per test file). */
export async function fixture(name: FixtureName): Promise<Uint8Array> {
  let bytes = built.get(name);
  if (bytes === undefined) {
    bytes = await parse(SOURCES[name]);
    built.set(name, bytes);
  }
  return bytes;
}

/** A `LoadUnit` for raw bytes, counting how often the bytes were read. */
export function unitOf(bytes: Uint8Array): LoadUnit & { reads: number } {
  const unit = {
    digest: createHash('sha256').update(bytes).digest('hex'),
    reads: 0,
    bytes: async () => {
      unit.reads++;
      return bytes;
    },
  };
  return unit;
}
