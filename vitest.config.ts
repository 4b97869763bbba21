import { defineConfig } from 'vitest/config';

// Tests start real hosts and compile real components on a 2-core machine: generous timeouts,
// at most two files at once, and a shared compiled-artifact cache (see test/helpers/host.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'host/**/*.test.ts', 'sdk/typescript/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
