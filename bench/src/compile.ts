/**
 * @module bench/compile
 * `compile`: upload until ready, compile included. A host starts on an empty data directory and
 * an empty compiled cache; each sample PUTs a salted copy of the component (see `salted`), so
 * every upload is validated, compiled and stored from scratch, timed at the client from the
 * first byte sent to the 201.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineName } from '../../host/src/engine/engine.js';
import type { BenchContext } from './context.js';
import { deploy } from './http-client.js';
import { startHostProcess } from './servers.js';
import { httpSubjects, LARGE_COMPONENT_BYTES, readSubject, salted } from './subjects.js';

const NOTES: Record<EngineName, string> = {
  wasmtime: 'PUT until 201 on a host with an empty compiled cache: upload, validation, Cranelift compile, serialize to the disk cache, publish; each upload is salted with a custom section so nothing is cached',
  jco: 'PUT until 201 on a host with an empty compiled cache: upload, validation, jco transpile, V8 compile of the core modules, publish; each upload is salted with a custom section so nothing is cached',
};

export async function runCompile(ctx: BenchContext, engine: EngineName): Promise<void> {
  const subjects = httpSubjects(ctx.sizes.languages).filter((s) => ctx.selected('compile', s.language, engine));
  if (subjects.length === 0) return;
  const dir = await mkdtemp(join(tmpdir(), 'wafer-bench-compile-'));
  ctx.progress(`compile on ${engine}: starting a host with an empty cache`);
  const host = await startHostProcess({ engine, dataDir: join(dir, 'data'), cacheDir: join(dir, 'cache') });
  try {
    // The first upload of a process also loads the validator and the engine's compiler: keep it out.
    const first = subjects[0]!;
    await deploy(host.url, 'warm-up', salted(readSubject(first)));
    for (const s of subjects) {
      const large = s.size >= LARGE_COMPONENT_BYTES;
      const n = large ? ctx.sizes.compileLarge : ctx.sizes.compileSmall;
      const bytes = readSubject(s);
      ctx.progress(`compile ${s.function} on ${engine}: ${n} upload${n === 1 ? '' : 's'} of ${(s.size / 1048576).toFixed(2)} MiB`);
      const samples: number[] = [];
      try {
        for (let i = 0; i < n; i++) samples.push(await deploy(host.url, `${s.deployName}-c${i}`, salted(bytes)));
      } catch (err) {
        ctx.fail({ scenario: 'compile', language: s.language, engine }, err);
        continue;
      }
      ctx.addSamples({ scenario: 'compile', language: s.language, engine, function: s.function, unit: 'ms', size_bytes: s.size, note: NOTES[engine] }, samples);
    }
  } finally {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
