/**
 * @module engine/jco/wasm-features
 * Wasm proposals that real guests use but Node 20's V8 (11.3) still keeps behind flags. Python
 * (componentize-py) and QuickJS guests use extended constant expressions; without the flag V8
 * refuses them with "opcode i32.add is not allowed in constant expressions". Each feature is
 * probed with a tiny module and its flag set only when V8 lacks it, so newer Nodes are untouched.
 * V8 flags are process-wide: worker threads started afterwards see them too.
 */
import { setFlagsFromString } from 'node:v8';
import { wasm } from './wasm.js';

interface Feature {
  flag: string;
  /** A minimal module that validates only when the feature is on. */
  probe: Uint8Array;
}

const FEATURES: Feature[] = [
  {
    flag: '--experimental-wasm-extended-const',
    // (module (global i32 (i32.add (i32.const 1) (i32.const 2))))
    probe: Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 6, 9, 1, 127, 0, 65, 1, 65, 2, 106, 11),
  },
];

let enabled: string[] | undefined;

/** Turns on the wasm features V8 lacks by default; idempotent. Returns the flags it set. */
export function enableWasmFeatures(): string[] {
  if (enabled) return enabled;
  enabled = [];
  for (const { flag, probe } of FEATURES) {
    if (wasm.validate(probe)) continue;
    setFlagsFromString(flag);
    if (wasm.validate(probe)) enabled.push(flag);
  }
  return enabled;
}
