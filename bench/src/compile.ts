/**
 * @module bench/compile
 * `compile`: upload until ready, compile included. A host starts on an empty data directory and
 * an empty compiled cache; each sample PUTs a salted copy of the component (see `salted`), so
 * every upload is validated, compiled and stored from scratch, timed at the client from the
 * first byte sent to the 201. Variant `first-response`: from the same first byte to the end of the
 * answer to one call (POST, 100 bytes) sent right after the 201: what a user waits between
 * uploading a function and seeing it answer (issue 9's target: ≤ 1.5 s for TS and Python).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineName } from '../../host/src/engine/engine.js';
import type { BenchContext } from './context.js';
import { deploy, send } from './http-client.js';
import { startHostProcess } from './servers.js';
import { httpSubjects, LARGE_COMPONENT_BYTES, readSubject, salted } from './subjects.js';

/** Issue 9: upload to first response for the TS and Python samples. */
const FIRST_RESPONSE_TARGET_MS = 1_500;
const FIRST_CALL_BODY = new Uint8Array(100).fill(0x61);

const NOTES: Record<EngineName, string> = {
  wasmtime: 'PUT until 201 on a host with an empty compiled cache: upload, validation, compile (Winch for uploads of 1 MiB or more, tiered start, with Cranelift following in the background; Cranelift for smaller ones), serialize to the disk cache, publish; each upload is salted with a custom section so nothing is cached',
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
      const firstResponses: number[] = [];
      try {
        for (let i = 0; i < n; i++) {
          const name = `${s.deployName}-c${i}`;
          const start = performance.now();
          samples.push(await deploy(host.url, name, salted(bytes)));
          const reply = await send(`${host.url}/fn/${name}`, 'POST', FIRST_CALL_BODY, { 'content-type': 'text/plain' }, false);
          if (reply.status !== 200) throw new Error(`the first call of ${name} answered ${reply.status}: ${reply.body.toString('utf8', 0, 300)}`);
          firstResponses.push(performance.now() - start);
        }
      } catch (err) {
        ctx.fail({ scenario: 'compile', language: s.language, engine }, err);
        continue;
      }
      const row = { scenario: 'compile', language: s.language, engine, function: s.function, unit: 'ms', size_bytes: s.size } as const;
      ctx.addSamples({ ...row, note: NOTES[engine] }, samples);
      const target = s.language === 'ts' || s.language === 'python' ? { target_ms: FIRST_RESPONSE_TARGET_MS } : {};
      ctx.addSamples({ ...row, variant: 'first-response', ...target, note: 'from the first byte of the PUT to the end of the answer to one POST (100 bytes) sent right after the 201' }, firstResponses);
    }
  } finally {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
