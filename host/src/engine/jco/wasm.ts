/**
 * @module engine/jco/wasm
 * The global `WebAssembly` object, typed with just what this engine uses: the project compiles
 * against ES2023 and Node 20's types, which leave `WebAssembly` to TypeScript's DOM library.
 */

/** A compiled core module (`WebAssembly.Module`): opaque here, posted to worker threads as is. */
export interface WasmModule {
  readonly __wasmModule?: never;
}

interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  validate(bytes: Uint8Array): boolean;
}

export const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
