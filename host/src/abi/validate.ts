/**
 * @module abi/validate
 * Checks an upload is a component of wafer's world before any engine sees it, so both engines
 * refuse the same things with the same codes: not wasm or a core module → `invalid_component`;
 * a component without `handle: func(list<u8>) -> result<list<u8>, string>`, or importing
 * something other than WASI → `abi_mismatch`. The component is decoded in a worker thread
 * (`wit-worker.ts`), so an input that makes the decoder trap costs only its own validation.
 */
import { ComponentError } from '../errors.js';
import { WAFER_HANDLER_WORLD } from '../executors/index.js';
import { WitWorker } from './wit-worker.js';

/** One decoder per process, replaced whenever it traps, times out or crashes. */
const decoder = new WitWorker();

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
/** Bytes 4..8 of the binary: the version and layer fields (core module: 1, 0, 0, 0). */
const CORE_MODULE_LAYER = [0x01, 0x00, 0x00, 0x00];
const COMPONENT_LAYER_BYTES = [6, 7]; // layer field = 1 marks a component

const HANDLE_EXPORT = /^\s*export handle: func\([a-z][a-z0-9-]*: list<u8>\) -> result<list<u8>, string>;$/m;
const ANY_HANDLE_EXPORT = /^\s*export handle\b.*$/m;
const IMPORT_LINE = /^\s*import ([^;]+);$/gm;

/** What the validator learnt about a component. */
export interface ComponentInfo {
  /** The component's world, as WIT text. */
  wit: string;
  /** The interfaces it imports (all WASI). */
  imports: string[];
  /** The world it was accepted as. */
  world: string;
}

/** Refuses anything that is not a component of the `wafer:function/handler` world. */
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
  let wit: string;
  try {
    wit = await decoder.wit(bytes);
  } catch (err) {
    const reason = String((err as Error)?.message ?? err).split('\n')[0];
    throw new ComponentError('invalid_component', `the component could not be decoded: ${reason}`, err);
  }
  if (!HANDLE_EXPORT.test(wit)) {
    const found = wit.match(ANY_HANDLE_EXPORT);
    throw new ComponentError(
      'abi_mismatch',
      found
        ? `the component exports ${found[0].trim().replace(/;$/, '')}, but wafer ABI 1 needs handle: func(request: list<u8>) -> result<list<u8>, string>`
        : 'the component does not export handle: func(request: list<u8>) -> result<list<u8>, string> (world wafer:function/handler@1.0.0)',
    );
  }
  const imports = [...wit.matchAll(IMPORT_LINE)].map((m) => m[1]!.trim());
  const foreign = imports.filter((name) => !name.startsWith('wasi:'));
  if (foreign.length > 0) {
    throw new ComponentError('abi_mismatch', `the component imports ${foreign.join(', ')}; wafer provides only WASI 0.2 interfaces`);
  }
  return { wit, imports, world: WAFER_HANDLER_WORLD };
}
