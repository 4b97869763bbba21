/**
 * @module engine/jco/import-check
 * Refuses, at upload, a component importing something the jco engine's WASI shim does not
 * provide, as wasmtime's linker does: every imported interface, function and resource (with its
 * constructor, methods and static functions) must exist in the import object the worker passes
 * to the component. jco itself would only notice the imports the guest's code uses, and only
 * when a call instantiates it.
 */
import { ComponentError } from '../../errors.js';
import type { ImportedInstance } from './component-imports.js';

/**
 * What the worker's import object provides: interface (without version) → name (jco's
 * camelCase or PascalCase) → a function, or a resource class with its method and static names.
 */
export type ShimShape = Record<string, Record<string, { methods?: string[]; statics?: string[] }>>;

/** How many missing imports an error message names before it says "and N more". */
const NAMES_IN_MESSAGE = 5;

/** jco's spelling of a WIT name: `get-environment` → `getEnvironment`, `output-stream` → `OutputStream`. */
function camel(kebab: string, upperFirst = false): string {
  return kebab
    .split('-')
    .map((part, i) => (i === 0 && !upperFirst ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('');
}

/** The imports of `imports` that `shape` lacks, as `interface#item` strings. */
export function missingImports(imports: ImportedInstance[], shape: ShimShape): string[] {
  const missing: string[] = [];
  for (const instance of imports) {
    const iface = instance.name.replace(/@[^@/]*$/, '');
    const provided = Object.hasOwn(shape, iface) ? shape[iface]! : undefined;
    if (!provided) {
      missing.push(instance.name);
      continue;
    }
    const has = (name: string) => Object.hasOwn(provided, name);
    const resource = (name: string) => (has(camel(name, true)) ? provided[camel(name, true)] : undefined);
    for (const item of instance.items ?? []) {
      let ok: boolean;
      const method = /^\[(method|static)\]([^.]+)\.(.+)$/.exec(item.name);
      const ctor = /^\[constructor\](.+)$/.exec(item.name);
      if (item.kind === 'type') {
        ok = true; // a record, enum or alias: nothing to provide at run time
      } else if (item.kind === 'resource') {
        ok = resource(item.name) !== undefined;
      } else if (item.kind !== 'func') {
        ok = false;
      } else if (method) {
        const found = resource(method[2]!);
        ok = (method[1] === 'method' ? found?.methods : found?.statics)?.includes(camel(method[3]!)) ?? false;
      } else if (ctor) {
        ok = resource(ctor[1]!) !== undefined;
      } else {
        ok = has(camel(item.name));
      }
      if (!ok) missing.push(`${instance.name}#${item.name}`);
    }
  }
  return missing;
}

/** Throws `abi_mismatch` naming the imports `shape` lacks, if any. */
export function checkImports(imports: ImportedInstance[], shape: ShimShape): void {
  const missing = missingImports(imports, shape);
  if (missing.length === 0) return;
  const host = missing.find((name) => name.startsWith('wafer:function/host@'));
  if (host !== undefined) {
    throw new ComponentError('abi_mismatch', `the component imports ${host} (ABI 1.1 function calls), which the jco engine does not run; run the host with --engine wasmtime for it`);
  }
  const named = missing.slice(0, NAMES_IN_MESSAGE).join(', ');
  const more = missing.length > NAMES_IN_MESSAGE ? ` and ${missing.length - NAMES_IN_MESSAGE} more` : '';
  throw new ComponentError('abi_mismatch', `the component imports ${named}${more}, which the jco engine's WASI does not provide`);
}
