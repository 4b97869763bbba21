/**
 * @module bench/restart
 * `restart`: restart to first response, from the on-disk cache. The host is stopped and a new
 * one started on the same data and cache directories; the clock starts when the new process
 * reports it is listening and stops at the last byte of the first call's answer (on a new
 * connection). That call loads the component from the compiled cache and instantiates it.
 */
import type { EngineName } from '../../host/src/engine/engine.js';
import type { BenchContext } from './context.js';
import { send } from './http-client.js';
import { startHostProcess } from './servers.js';
import { msSince, percentile, round } from './stats.js';
import { HTTP_BODY, HTTP_HEADERS, type Subject } from './subjects.js';

const NOTES: Record<EngineName, string> = {
  wasmtime: 'from "listening" (reported by the new host process) to the first response, measured at the client; the call deserializes the compiled component from the disk cache, builds its InstancePre, instantiates and calls',
  jco: 'from "listening" (reported by the new host process) to the first response, measured at the client; the call reads the transpiled component from the disk cache, compiles its core modules on V8, starts a worker, instantiates and calls',
};

export async function runRestart(ctx: BenchContext, engine: EngineName, dirs: { dataDir: string; cacheDir: string }, subjects: readonly Subject[]): Promise<void> {
  for (const s of subjects) {
    if (!ctx.selected('restart', s.language, engine)) continue;
    ctx.progress(`restart ${s.function} on ${engine}: ${ctx.sizes.restarts} restarts`);
    const samples: number[] = [];
    const starts: number[] = [];
    for (let i = 0; i < ctx.sizes.restarts; i++) {
      const host = await startHostProcess({ engine, ...dirs });
      try {
        const reply = await send(`${host.url}/fn/${s.deployName}`, 'POST', HTTP_BODY, { ...HTTP_HEADERS }, false);
        const ms = msSince(host.listeningAt);
        if (reply.status !== 200) throw new Error(`the first call of ${s.deployName} answered ${reply.status}: ${reply.body.toString('utf8', 0, 300)}`);
        samples.push(ms);
        starts.push(host.startMs);
      } finally {
        await host.stop();
      }
    }
    const sorted = [...starts].sort((a, b) => a - b);
    ctx.addSamples(
      { scenario: 'restart', language: s.language, engine, function: s.function, unit: 'ms', process_start_ms_p50: round(percentile(sorted, 50)), note: NOTES[engine] },
      samples,
    );
  }
}
