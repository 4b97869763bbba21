/**
 * @module engine/index
 * Chooses an engine backend by name, and warms it up (warmup.ts). Backends are imported lazily
 * so the jco engine runs on a machine where the wasmtime addon was never built.
 */
import type { CompileObserver, Engine, EngineName } from './engine.js';
import type { Logger } from '../logger.js';
import { warmUp } from './warmup.js';

export interface EngineConfig {
  cacheDir: string;
  maxMemoryBytes: number;
  moduleCacheBytes: number;
  /** wasmtime only; see Config.inlineBudgetMs. */
  inlineBudgetMs?: number;
  /** wasmtime only; see Config.executorThreads (0: one per core). */
  executorThreads?: number;
  /** See Config.compileTimeoutMs: a compile or transpile running longer is stopped. */
  compileTimeoutMs?: number;
  /** See Config.compileConcurrency: compiles and transpiles running at once, host-wide. */
  compileConcurrency?: number;
  /** See Config.compileMemoryBytes: memory one compile or transpile may use. */
  compileMemoryBytes?: number;
  /** wasmtime only; see Config.tieredStartBytes. */
  tieredStartBytes?: number;
  logger: Logger;
  /** Told of each compile's duration (/metrics). */
  onCompile?: CompileObserver;
  /** Warm the execute path with a built-in tiny component before resolving (warmup.ts); default true. */
  warmUp?: boolean;
}

/** Creates the engine `name`, warmed up (warmup.ts) unless `config.warmUp` is false. */
export async function createEngine(name: EngineName, config: EngineConfig): Promise<Engine> {
  const engine = await create(name, config);
  if (config.warmUp !== false) await warmUp(engine, config.logger);
  return engine;
}

async function create(name: EngineName, config: EngineConfig): Promise<Engine> {
  switch (name) {
    case 'wasmtime': {
      const { WasmtimeEngine } = await import('./wasmtime/index.js');
      return new WasmtimeEngine(config);
    }
    case 'jco': {
      const { JcoEngine } = await import('./jco/index.js');
      return new JcoEngine(config);
    }
    default: {
      const unknown: never = name;
      throw new Error(`unknown engine ${String(unknown)}`);
    }
  }
}
