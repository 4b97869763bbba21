#!/usr/bin/env node
// Times the addon compiling components in process with one compiler, as the compile process does
// (compile, write the artifact, map it), then mapping the artifact again from disk. Used for the
// tiered-start figures in bench/RESULTS.md. Run `npm run build` first.
//   node scripts/compile-tier.mjs winch|cranelift [sample ...]   (default: hello-ts hello-python)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAddonPath, loadAddon } from '../dist/host/src/engine/wasmtime/native.js';

const [compiler = 'winch', ...names] = process.argv.slice(2);
if (!['winch', 'cranelift'].includes(compiler)) {
  console.error('usage: node scripts/compile-tier.mjs winch|cranelift [sample ...]');
  process.exit(2);
}
const addon = loadAddon(defaultAddonPath());
const engine = new addon.NativeEngine({ maxMemoryBytes: 256 * 1024 * 1024, pooling: false, compiler });
const dir = mkdtempSync(join(tmpdir(), 'wafer-compile-tier-'));
try {
  for (const name of names.length > 0 ? names : ['hello-ts', 'hello-python']) {
    const bytes = readFileSync(new URL(`../samples/dist/${name}.wasm`, import.meta.url));
    const key = randomBytes(8).toString('hex');
    const started = performance.now();
    const compiled = await engine.load(key, bytes, join(dir, `${key}.cwasm`));
    const compileMs = performance.now() - started;
    engine.unload(key);
    const mapped = performance.now();
    await engine.load(key, null, join(dir, `${key}.cwasm`));
    if (!compiled.ok) throw new Error(`${name}: ${compiled.message}`);
    console.log(`${compiler} ${name}: compile + write + map ${Math.round(compileMs)} ms, map again from disk ${(performance.now() - mapped).toFixed(1)} ms`);
  }
} finally {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
}
