/**
 * @module executors/types
 * A component's imports and exports as the validator reads them from its binary (the addon's
 * `inspectComponent`): plain data, so it crosses a worker boundary and executors can match it
 * without a WIT parser. Value types are rendered structurally in WIT syntax: `list<u8>`,
 * `result<list<u8>, string>`, `option<u32>`, `tuple<u8, string>`; named types by their kind.
 */

/** One function's signature. */
export interface FuncType {
  kind: 'func';
  params: Array<{ name: string; type: string }>;
  /** The result's type, or undefined for none. */
  result?: string;
  /** True for a component-model async function. */
  async?: boolean;
}

/** One import or export: a function, an interface instance (with its functions), or another kind. */
export type ItemType =
  | FuncType
  | { kind: 'instance'; exports: Record<string, ItemType> }
  | { kind: 'module' | 'component' | 'type' | 'value' | 'resource' };

export interface ComponentTypes {
  imports: Record<string, ItemType>;
  exports: Record<string, ItemType>;
}

/** Renders a function signature as WIT: `func(request: list<u8>) -> result<list<u8>, string>`. */
export function describeFunc(func: FuncType): string {
  const params = func.params.map((p) => `${p.name}: ${p.type}`).join(', ');
  return `${func.async ? 'async ' : ''}func(${params})${func.result === undefined ? '' : ` -> ${func.result}`}`;
}
