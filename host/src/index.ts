/**
 * @module wafer
 * The host's public API: re-exports only.
 */
export { startHost, type RunningHost } from './server/host.js';
export { loadConfig, type Config } from './config.js';
export { createEngine } from './engine/index.js';
export type { Engine, EngineName, CallLimits, CallReport, LoadInfo } from './engine/engine.js';
export { FunctionService } from './functions/service.js';
export { FsRegistry } from './registry/fs.js';
export type { Registry, FunctionVersion, FunctionLimits } from './registry/registry.js';
export { encodeRequest, decodeResponse, encodeResponse, decodeRequest, ABI_VERSION } from './abi/envelope.js';
export { validateComponent } from './abi/validate.js';
export * from './errors.js';
export { silentLogger, createLogger } from './logger.js';
