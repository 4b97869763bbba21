#!/usr/bin/env node
// In-process latency of a 100-byte echo on the wasmtime addon, a fresh store per call:
//   node host/native/bench-echo.mjs [calls=20000]
// Prints p50/p99 of the JS round trip for `call` straight to the executor (`inlineBudgetMs: 0`,
// a thread hop and a promise) and started on the JS thread (`inlineBudgetMs: 1`, answered
// synchronously), and of the addon's own instantiate+call time (`durationUs`).
// Needs scripts/build-native.sh.
// `wafer bench` is the benchmark of record; this isolates the addon for engine work.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse } from '@bytecodealliance/jco';

const here = dirname(fileURLToPath(import.meta.url));
const calls = Number(process.argv[2] ?? 20_000);
const addon = createRequire(import.meta.url)(join(here, 'wafer_native.node'));

const echo = await parse(`(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "cabi_realloc") (param i32 i32 i32) (param $size i32) (result i32)
      (local $p i32) (local.set $p (global.get $bump))
      (global.set $bump (i32.add (local.get $p) (local.get $size))) (local.get $p))
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 0))
      (i32.store (i32.const 20) (local.get $ptr))
      (i32.store (i32.const 24) (local.get $len))
      (i32.const 16)))
  (core instance $i (instantiate $m))
  (func (export "handle") (param "request" (list u8)) (result (result (list u8) (error string)))
    (canon lift (core func $i "handle") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc")))))`);

const dir = mkdtempSync(join(tmpdir(), 'wafer-bench-echo-'));
const engine = new addon.NativeEngine({ maxMemoryBytes: 1024 ** 3 });
const loaded = await engine.load('echo', Buffer.from(echo), join(dir, 'echo.cwasm'));
if (!loaded.ok) throw new Error(loaded.message);

const input = Buffer.alloc(100, 7);
const limits = { timeoutMs: 5_000, memoryBytes: 256 * 1024 * 1024 };
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))].toFixed(1);

const modes = { executor: { ...limits, inlineBudgetMs: 0 }, inline: { ...limits, inlineBudgetMs: 1 } };

async function run(mode) {
  const roundTrip = [];
  const native = [];
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    const r = await engine.call('echo', input, modes[mode]);
    roundTrip.push(Number(process.hrtime.bigint() - t) / 1e3);
    native.push(r.durationUs);
    if (!r.ok || r.output.length !== 100) throw new Error(`${mode}: ${r.errorKind} ${r.message}`);
  }
  roundTrip.sort((a, b) => a - b);
  native.sort((a, b) => a - b);
  console.log(
    `${mode.padEnd(8)} round trip p50 ${pct(roundTrip, 0.5)} µs  p99 ${pct(roundTrip, 0.99)} µs` +
      ` | instantiate+call p50 ${pct(native, 0.5)} µs  p99 ${pct(native, 0.99)} µs`,
  );
}

console.log(`wasmtime ${addon.version()}, ${calls} calls of a 100-byte echo, fresh store per call`);
for (const mode of Object.keys(modes)) {
  for (let i = 0; i < 2_000; i++) await engine.call('echo', input, modes[mode]); // warm up
  await run(mode);
}
engine.close();
rmSync(dir, { recursive: true, force: true });
