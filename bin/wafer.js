#!/usr/bin/env node
// wafer's command-line entry. The wasmtime engine runs calls on libuv's thread pool, whose
// size is fixed when the pool first starts: set it before anything else loads.
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() * 2));

const entry = new URL('../dist/host/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('wafer: the host is not built yet; run `npm install` (or `npm run build`) in the repository first.');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
