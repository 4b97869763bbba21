/**
 * @module engine/jco/component-imports
 * What a component imports, read from its binary: each imported instance (a WASI interface) and
 * the functions and resources it expects in it. jco cannot say: its transpiled JS names only the
 * imports the guest's code lowers, so a component importing functions nobody calls transpiles
 * and instantiates fine, while wasmtime's linker refuses it (it checks every import). The engine
 * compares this list with what its WASI shim provides (`import-check.ts`).
 *
 * Only what that needs is decoded: the top-level type index space (type, alias, import and
 * export sections) and the instance types of imported instances. Anything this reader does not
 * know (a future encoding) makes `componentImports` answer `undefined`, and the caller falls back
 * to jco's own check at instantiation (which refuses the imports the JS uses).
 */

/** An export of an imported instance: a function (`[method]r.m` etc. included), a resource, or another type. */
export interface ImportedItem {
  name: string;
  kind: 'func' | 'resource' | 'type' | 'other';
}

export interface ImportedInstance {
  /** The import's name, e.g. `wasi:cli/environment@0.2.0`. */
  name: string;
  /** What the component expects in it; undefined when its type could not be resolved. */
  items?: ImportedItem[];
}

/** The binary uses an encoding this reader does not know. */
class Unknown extends Error {}

const PRIMITIVES = new Set([0x64, ...Array.from({ length: 13 }, (_, i) => 0x73 + i)]);
const decoder = new TextDecoder('utf-8', { fatal: true });

class Reader {
  at: number;
  constructor(
    readonly bytes: Uint8Array,
    at = 0,
    readonly end = bytes.length,
  ) {
    this.at = at;
  }
  byte(): number {
    if (this.at >= this.end) throw new Unknown('unexpected end');
    return this.bytes[this.at++]!;
  }
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Unknown('bad LEB128');
  }
  name(): string {
    const len = this.u32();
    if (this.at + len > this.end) throw new Unknown('name past the end');
    const text = decoder.decode(this.bytes.subarray(this.at, this.at + len));
    this.at += len;
    return text;
  }
  vec(each: () => void): void {
    for (let n = this.u32(); n > 0; n--) each();
  }
}

/**
 * The instances a component imports and what it expects in each, or undefined when the binary
 * uses an encoding this reader does not know (or is not a component).
 */
export function componentImports(bytes: Uint8Array): ImportedInstance[] | undefined {
  try {
    return readImports(bytes);
  } catch (err) {
    // TypeError: bad UTF-8 in a name; RangeError: types nested deeper than the stack.
    if (err instanceof Unknown || err instanceof TypeError || err instanceof RangeError) return undefined;
    throw err;
  }
}

function readImports(bytes: Uint8Array): ImportedInstance[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d || bytes[6] !== 1) {
    throw new Unknown('not a component');
  }
  /** The top-level type index space: an instance type's items, or null for any other type. */
  const types: (ImportedItem[] | null)[] = [];
  const imports: ImportedInstance[] = [];
  const top = new Reader(bytes, 8);
  while (top.at < top.end) {
    const id = top.byte();
    const size = top.u32();
    const r = new Reader(bytes, top.at, top.at + size);
    if (r.end > bytes.length) throw new Unknown('section past the end');
    top.at += size;
    if (id === 7) {
      r.vec(() => types.push(typeDef(r)));
    } else if (id === 6) {
      r.vec(() => {
        if (alias(r) === 'type') types.push(null);
      });
    } else if (id === 10) {
      r.vec(() => {
        const name = externName(r);
        const desc = externDesc(r);
        if (desc.sort === 'type') types.push(null);
        if (desc.sort === 'instance') {
          const resolved = types[desc.index];
          imports.push({ name, items: resolved ?? undefined });
        }
      });
    } else if (id === 11) {
      r.vec(() => {
        externName(r);
        const sort = sortOf(r);
        r.u32();
        if (r.byte() === 0x01) externDesc(r);
        if (sort === 'type') types.push(null);
      });
    }
  }
  return imports;
}

type Sort = 'core' | 'func' | 'value' | 'type' | 'component' | 'instance';

function sortOf(r: Reader): Sort {
  const b = r.byte();
  if (b === 0x00) {
    r.byte(); // the core sort
    return 'core';
  }
  const sort = (['core', 'func', 'value', 'type', 'component', 'instance'] as const)[b];
  if (!sort) throw new Unknown(`sort ${b}`);
  return sort;
}

function alias(r: Reader): Sort {
  const sort = sortOf(r);
  const target = r.byte();
  if (target === 0x00 || target === 0x01) {
    r.u32();
    r.name();
  } else if (target === 0x02) {
    r.u32();
    r.u32();
  } else {
    throw new Unknown(`alias target ${target}`);
  }
  return sort;
}

function externName(r: Reader): string {
  const kind = r.byte();
  if (kind !== 0x00 && kind !== 0x01) throw new Unknown(`extern name ${kind}`);
  return r.name();
}

/** An externdesc: its sort, the type index it names (instances, funcs), and a resource flag for types. */
function externDesc(r: Reader): { sort: Sort; index: number; resource?: boolean } {
  const b = r.byte();
  switch (b) {
    case 0x00:
      if (r.byte() !== 0x11) throw new Unknown('core extern');
      return { sort: 'core', index: r.u32() };
    case 0x01:
      return { sort: 'func', index: r.u32() };
    case 0x02:
      if (r.byte() === 0x00) r.u32();
      else valType(r);
      return { sort: 'value', index: -1 };
    case 0x03: {
      const bound = r.byte();
      if (bound === 0x00) return { sort: 'type', index: r.u32(), resource: false };
      if (bound === 0x01) return { sort: 'type', index: -1, resource: true };
      throw new Unknown(`type bound ${bound}`);
    }
    case 0x04:
      return { sort: 'component', index: r.u32() };
    case 0x05:
      return { sort: 'instance', index: r.u32() };
    default:
      throw new Unknown(`externdesc ${b}`);
  }
}

function valType(r: Reader): void {
  const b = r.bytes[r.at];
  if (b !== undefined && PRIMITIVES.has(b)) r.at++;
  else r.u32();
}

function optionalValType(r: Reader): void {
  if (r.byte() === 0x01) valType(r);
}

/** Reads one type definition; answers the items of an instance type, null for any other type. */
function typeDef(r: Reader): ImportedItem[] | null {
  const b = r.byte();
  if (PRIMITIVES.has(b)) return null;
  switch (b) {
    case 0x72: // record
      r.vec(() => (r.name(), valType(r)));
      return null;
    case 0x71: // variant
      r.vec(() => {
        r.name();
        optionalValType(r);
        if (r.byte() !== 0x00) throw new Unknown('variant refines');
      });
      return null;
    case 0x70: // list
    case 0x6b: // option
      valType(r);
      return null;
    case 0x67: // fixed-size list
      valType(r);
      r.u32();
      return null;
    case 0x6f: // tuple
      r.vec(() => valType(r));
      return null;
    case 0x6e: // flags
    case 0x6d: // enum
      r.vec(() => r.name());
      return null;
    case 0x6a: // result
      optionalValType(r);
      optionalValType(r);
      return null;
    case 0x69: // own
    case 0x68: // borrow
      r.u32();
      return null;
    case 0x66: // stream
    case 0x65: // future
      optionalValType(r);
      return null;
    case 0x40: // func
      r.vec(() => (r.name(), valType(r)));
      {
        const results = r.byte();
        if (results === 0x00) valType(r);
        else if (results !== 0x01 || r.byte() !== 0x00) throw new Unknown('result list');
      }
      return null;
    case 0x3f: // resource
      if (r.byte() !== 0x7f) throw new Unknown('resource rep');
      if (r.byte() === 0x01) r.u32();
      return null;
    case 0x41: // component type
      r.vec(() => {
        const decl = r.byte();
        if (decl === 0x03) {
          externName(r);
          externDesc(r);
        } else {
          instanceDecl(r, decl, []);
        }
      });
      return null;
    case 0x42: {
      // instance type: what a component importing it expects
      const items: ImportedItem[] = [];
      r.vec(() => instanceDecl(r, r.byte(), items));
      return items;
    }
    default:
      throw new Unknown(`type ${b}`);
  }
}

function instanceDecl(r: Reader, decl: number, items: ImportedItem[]): void {
  if (decl === 0x01) {
    typeDef(r);
  } else if (decl === 0x02) {
    alias(r);
  } else if (decl === 0x04) {
    const name = externName(r);
    const desc = externDesc(r);
    const kind = desc.sort === 'func' ? 'func' : desc.sort === 'type' ? (desc.resource ? 'resource' : 'type') : 'other';
    items.push({ name, kind });
  } else {
    // 0x00 core types (module types) never appear in WASI interfaces; not decoded.
    throw new Unknown(`instance declaration ${decl}`);
  }
}
