/**
 * @module executors
 * The worlds the host accepts, one executor each. Adding a world is one file beside this one and
 * one line in `EXECUTORS`; detection picks the first executor that recognises a component.
 */
import { ComponentError } from '../errors.js';
import type { Executor } from './executor.js';
import type { ComponentTypes } from './types.js';
import { WAFER_HANDLER_WORLD, waferHandler } from './wafer-handler.js';
import { wasiHttp } from './wasi-http.js';

export type { BodyStream, CallContext, Executor, Header, HttpAnswer, HttpCall } from './executor.js';
export type { ComponentTypes, FuncType, ItemType } from './types.js';
export { WAFER_HANDLER_WORLD } from './wafer-handler.js';
export { WASI_HTTP_WORLD } from './wasi-http.js';

/** Every world the host accepts, in detection order. */
export const EXECUTORS: readonly Executor[] = [waferHandler, wasiHttp];

/** The world of a function record written before records named one. */
export const DEFAULT_WORLD = WAFER_HANDLER_WORLD;

/**
 * Finds the executor whose world the component is meant for and checks it fits: `abi_mismatch`
 * when it fits none (judged, for the message, against the default world).
 */
export function detectExecutor(types: ComponentTypes): Executor {
  const executor = EXECUTORS.find((e) => e.detect(types)) ?? executorFor(DEFAULT_WORLD);
  executor.validate(types);
  return executor;
}

/** The executor of a stored world; records with none are of the default world. */
export function executorFor(world: string | undefined): Executor {
  const executor = EXECUTORS.find((e) => e.world === (world ?? DEFAULT_WORLD));
  if (!executor) throw new ComponentError('abi_mismatch', `this host does not run world ${world}`);
  return executor;
}
