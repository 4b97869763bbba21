/**
 * A short, fixed-seed run of the mutation fuzzer (`npm run fuzz`, scripts/fuzz.mjs) against a
 * real host process: mutated components and mutated raw HTTP requests. The host must never die
 * (crashes 0), a valid upload after every mutated one must be accepted (poisonings 0, issue 8 #2),
 * and /healthz and a healthy function must answer after every batch. Uses the built host in
 * dist/ (`npm test` builds it first).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../host/src/paths.js';
import { runFuzz, summary } from '../../scripts/fuzz.mjs';

const built = existsSync(join(ROOT, 'dist', 'host', 'src', 'cli', 'main.js'));

describe('mutation fuzzing', () => {
  it.runIf(built).each([
    ['wasmtime', 200],
    ['jco', 60],
  ] as const)('survives %s mutated uploads and raw requests: no crash, no poisoning, healthy after every batch', async (engine, iterations) => {
    const report = await runFuzz({ engine, iterations, seed: 8, durationS: 45 });
    console.log(summary(report));
    expect(report.crashes).toBe(0);
    expect(report.poisonings).toBe(0);
    expect(report.unhealthyBatches).toBe(0);
    expect(report.iterations).toBeGreaterThanOrEqual(Math.min(iterations, 50));
    // The mutations reached the validator: most are refused, each with a code.
    expect(report.uploadCodes.invalid_component).toBeGreaterThan(report.iterations / 2);
    expect(Object.keys(report.uploadCodes).every((code) => !code.startsWith('fetch_failed'))).toBe(true);
  }, 120_000);
});
