/**
 * @module abi/validate
 * Checks an upload is a component of a world the host runs before any engine sees it, so both
 * engines refuse the same things with the same codes: not wasm, a core module, or bytes that do
 * not validate as a component → `invalid_component`; a component that fits no world (no
 * `handle: func(list<u8>) -> result<list<u8>, string>`, or imports other than WASI) →
 * `abi_mismatch`. The component's types are read from its binary by the addon's inspector
 * (wasmparser, the engine's wasm features) in a worker thread (`inspect-worker.ts`), so an input
 * that brings the inspector down costs only its own validation; the executors judge the types.
 */
import { ComponentError } from '../errors.js';
import { detectExecutor, type ComponentTypes } from '../executors/index.js';
import { InspectWorker } from './inspect-worker.js';

/** One inspector per process, replaced whenever it crashes or times out. */
const inspector = new InspectWorker();

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
/** Bytes 4..8 of the binary: the version and layer fields (core module: 1, 0, 0, 0). */
const CORE_MODULE_LAYER = [0x01, 0x00, 0x00, 0x00];
const COMPONENT_LAYER_BYTES = [6, 7]; // layer field = 1 marks a component

/** What the validator learnt about a component. */
export interface ComponentInfo {
  /** The world it was accepted as, e.g. `wafer:function/handler@1.0.0`. */
  world: string;
  /** The names it imports (all WASI), e.g. `wasi:cli/stdout@0.2.0`. */
  imports: string[];
  /** Its imports and exports with their types. */
  types: ComponentTypes;
}

/** Refuses anything that is not a component of a world some executor runs. */
export async function validateComponent(bytes: Uint8Array): Promise<ComponentInfo> {
  if (bytes.length === 0) throw new ComponentError('invalid_component', 'the upload is empty; send a WebAssembly component as the body');
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ComponentError('invalid_component', 'the upload is not WebAssembly (no \\0asm magic number)');
  }
  if (CORE_MODULE_LAYER.every((b, i) => bytes[4 + i] === b)) {
    throw new ComponentError(
      'invalid_component',
      'the upload is a core WebAssembly module, not a component; wrap it with a component tool (see docs/)',
    );
  }
  if (bytes[COMPONENT_LAYER_BYTES[0]!] !== 0x01 || bytes[COMPONENT_LAYER_BYTES[1]!] !== 0x00) {
    throw new ComponentError('invalid_component', 'the upload has an unknown WebAssembly layer; expected a component');
  }
  let types: ComponentTypes;
  try {
    types = await inspector.inspect(bytes);
  } catch (err) {
    const reason = String((err as Error)?.message ?? err).split('\n')[0];
    throw new ComponentError('invalid_component', `the component could not be decoded: ${reason}`, err);
  }
  const executor = detectExecutor(types);
  return { world: executor.world, imports: Object.keys(types.imports), types };
}
