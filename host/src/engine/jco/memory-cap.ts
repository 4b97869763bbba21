/**
 * @module engine/jco/memory-cap
 * The jco engine's memory quota. V8 cannot limit a wasm memory from outside (worker
 * `resourceLimits` do not cover it), but it honours a memory's declared maximum: a `memory.grow`
 * past it returns -1 and the guest's allocator fails. So before compiling, every core module's
 * memories — defined ones (section 5) and imported ones (section 2) — get their maximum lowered.
 * Only the limits are re-encoded; every other byte is copied as is.
 *
 * One quota covers all of a component's memories and tables together, not each one: `splitQuota`
 * (quota-split.ts) gives each its share, and this file writes the shares in as maxima (a table's
 * in elements of `TABLE_ELEMENT_BYTES`).
 * Imported memories are another module's memory: their declared maximum only needs to admit it,
 * so it is lowered to the quota.
 */

const PAGE_LOG2 = 16;
const SECTION_IMPORT = 2;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;
const KIND_FUNC = 0x00;
const KIND_TABLE = 0x01;
const KIND_MEMORY = 0x02;
const KIND_GLOBAL = 0x03;
const KIND_TAG = 0x04;
/** Reference-type prefixes of the GC / function-references proposals: `(ref null? ht)`. */
const REF_NULL = 0x63;
const REF = 0x64;

/** What capping one core module did. */
export interface CappedModule {
  /** The module with every memory's maximum at most the quota. */
  bytes: Uint8Array;
  /** Memories seen (defined and imported). */
  memories: number;
  /** Bytes the module's memories ask for at instantiation (sum of their minimums). */
  initialBytes: number;
  /** True when some memory's minimum alone exceeds the quota: the module cannot run under it. */
  minExceedsCap: boolean;
}

/** A memory or table a core module defines, measured in bytes (a table element costs `TABLE_ELEMENT_BYTES`). */
export interface Growable {
  minBytes: number;
  /** Its declared maximum, if any. */
  maxBytes?: number;
  /** The unit it grows by: a page for a memory, an element for a table. */
  unitBytes: number;
}

/** What a core module defines that a guest can grow, in definition order. */
export interface Growables {
  memories: Growable[];
  tables: Growable[];
}

/**
 * What one table element costs the host: a pointer, as on wasmtime (call.rs `TABLE_ELEMENT_BYTES`),
 * so both engines charge tables to the quota at the same rate.
 */
export const TABLE_ELEMENT_BYTES = 8;

/** The memories and tables a core module defines; imported ones are counted where they are defined. */
export function growables(module: Uint8Array): Growables {
  checkMagic(module);
  const found: Growables = { memories: [], tables: [] };
  const r = new Reader(module, 8);
  while (r.pos < module.length) {
    const id = r.u8();
    const payload = r.bytes(r.u32());
    if (id !== SECTION_MEMORY && id !== SECTION_TABLE) continue;
    const m = new Reader(payload, 0);
    const count = m.u32();
    for (let i = 0; i < count; i++) {
      if (id === SECTION_MEMORY) {
        const flags = m.u8();
        const min = m.leb();
        const max = flags & 0x01 ? m.leb() : undefined;
        const unit = 2 ** (flags & 0x08 ? m.leb() : PAGE_LOG2);
        found.memories.push({ minBytes: min * unit, maxBytes: max === undefined ? undefined : max * unit, unitBytes: unit });
      } else {
        const t = readTable(m);
        const unit = TABLE_ELEMENT_BYTES;
        found.tables.push({ minBytes: t.min * unit, maxBytes: t.max === undefined ? undefined : t.max * unit, unitBytes: unit });
      }
    }
  }
  return found;
}

function checkMagic(module: Uint8Array): void {
  if (module.length < 8 || module[0] !== 0x00 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d) {
    throw new Error('not a WebAssembly core module');
  }
}

/** Caps of what one core module defines, in bytes, in definition order. */
export interface DefinedCaps {
  memories: number[];
  tables: number[];
}

/**
 * Rewrites the memory and table maxima of a core module: each memory and table it defines to its
 * entry in `definedCaps` (bytes; memories default to the whole quota, tables keep theirs), each
 * memory it imports to `capBytes`. Imported tables keep their declared limits: the table they
 * stand for only ever gets a lower maximum, which still matches them.
 */
export function capMemories(module: Uint8Array, capBytes: number, definedCaps?: DefinedCaps): CappedModule {
  checkMagic(module);
  const state: CapState = { capBytes, definedCaps, memories: 0, initialBytes: 0, minExceedsCap: false };
  const out: Uint8Array[] = [module.subarray(0, 8)];
  const r = new Reader(module, 8);
  while (r.pos < module.length) {
    const sectionStart = r.pos;
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    const payload = r.bytes(size);
    if (id === SECTION_TABLE && state.definedCaps) {
      const rewritten = rewriteTables(payload, state.definedCaps.tables);
      out.push(Uint8Array.of(id), encodeU32(rewritten.length), rewritten);
    } else if (id === SECTION_IMPORT || id === SECTION_MEMORY) {
      const rewritten = id === SECTION_IMPORT ? rewriteImports(payload, state) : rewriteMemories(payload, state);
      out.push(Uint8Array.of(id), encodeU32(rewritten.length), rewritten);
    } else {
      out.push(module.subarray(sectionStart, start + size));
    }
  }
  return { bytes: concat(out), memories: state.memories, initialBytes: state.initialBytes, minExceedsCap: state.minExceedsCap };
}

interface CapState {
  capBytes: number;
  definedCaps?: DefinedCaps;
  memories: number;
  initialBytes: number;
  minExceedsCap: boolean;
}

function rewriteMemories(payload: Uint8Array, state: CapState): Uint8Array {
  const r = new Reader(payload, 0);
  const count = r.u32();
  const out: Uint8Array[] = [encodeU32(count)];
  for (let i = 0; i < count; i++) out.push(rewriteLimits(r, state, state.definedCaps?.memories[i] ?? state.capBytes));
  r.expectEnd('memory');
  return concat(out);
}

function rewriteImports(payload: Uint8Array, state: CapState): Uint8Array {
  const r = new Reader(payload, 0);
  const count = r.u32();
  const out: Uint8Array[] = [encodeU32(count)];
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    r.bytes(r.u32()); // module name
    r.bytes(r.u32()); // field name
    const kind = r.u8();
    switch (kind) {
      case KIND_FUNC:
        r.u32();
        break;
      case KIND_TABLE:
        skipRefType(r);
        skipLimits(r);
        break;
      case KIND_MEMORY:
        out.push(payload.subarray(start, r.pos), rewriteLimits(r, state, state.capBytes));
        continue;
      case KIND_GLOBAL:
        skipRefType(r);
        r.u8(); // mutability
        break;
      case KIND_TAG:
        r.u8();
        r.u32();
        break;
      default:
        throw new Error(`unknown import kind 0x${kind.toString(16)}`);
    }
    out.push(payload.subarray(start, r.pos));
  }
  r.expectEnd('import');
  return concat(out);
}

/**
 * Memory limits: a flags byte (bit 0 has-max, bit 1 shared, bit 2 memory64, bit 3 custom page
 * size), the minimum, the maximum if any, then the page size's log2 if custom.
 */
function rewriteLimits(r: Reader, state: CapState, capBytes: number): Uint8Array {
  const flags = r.u8();
  const min = r.leb();
  const max = flags & 0x01 ? r.leb() : undefined;
  const pageLog2 = flags & 0x08 ? r.leb() : PAGE_LOG2;
  const pageBytes = 2 ** pageLog2;
  const capPages = Math.floor(capBytes / pageBytes);
  state.memories += 1;
  state.initialBytes += min * pageBytes;
  if (min > capPages) state.minExceedsCap = true;
  // A minimum above the quota keeps its own maximum so the module still compiles; the engine
  // refuses to run it (minExceedsCap) instead.
  const newMax = min > capPages ? (max ?? min) : Math.min(max ?? capPages, capPages);
  const parts = [Uint8Array.of(flags | 0x01), encodeLeb(min), encodeLeb(newMax)];
  if (flags & 0x08) parts.push(encodeLeb(pageLog2));
  return concat(parts);
}

/** A table entry: `reftype limits`, or `0x40 0x00 reftype limits init-expr` (function references). */
function readTable(r: Reader): { min: number; max?: number; prefix: Uint8Array; flags: number; init: Uint8Array } {
  const start = r.pos;
  const withInit = r.peek() === 0x40;
  if (withInit) {
    r.u8();
    if (r.u8() !== 0x00) throw new Error('malformed table entry');
  }
  skipRefType(r);
  const prefix = r.slice(start, r.pos);
  const flags = r.u8();
  const min = r.leb();
  const max = flags & 0x01 ? r.leb() : undefined;
  const initStart = r.pos;
  if (withInit) skipConstExpr(r);
  return { min, max, prefix, flags, init: r.slice(initStart, r.pos) };
}

/** Skips a constant expression of the forms a table initializer uses; anything else is refused. */
function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.u8();
    if (op === 0x0b) return; // end
    if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2 || op === 0xd0) r.leb(); // *.const, global.get, ref.func, ref.null
    else if (op === 0x6a || op === 0x6b || op === 0x6c || op === 0x7c || op === 0x7d || op === 0x7e) continue; // extended const
    else throw new Error(`unsupported table initializer (opcode 0x${op.toString(16)})`);
  }
}

function rewriteTables(payload: Uint8Array, caps: number[]): Uint8Array {
  const r = new Reader(payload, 0);
  const count = r.u32();
  const out: Uint8Array[] = [encodeU32(count)];
  for (let i = 0; i < count; i++) {
    const t = readTable(r);
    const cap = caps[i];
    const capElements = cap === undefined ? undefined : Math.floor(cap / TABLE_ELEMENT_BYTES);
    const max = capElements === undefined ? t.max : Math.max(t.min, Math.min(t.max ?? Infinity, capElements));
    const parts = [t.prefix, Uint8Array.of(max === undefined ? t.flags : t.flags | 0x01), encodeLeb(t.min)];
    if (max !== undefined) parts.push(encodeLeb(max));
    parts.push(t.init);
    out.push(concat(parts));
  }
  r.expectEnd('table');
  return concat(out);
}

function skipLimits(r: Reader): void {
  const flags = r.u8();
  r.leb();
  if (flags & 0x01) r.leb();
  if (flags & 0x08) r.leb();
}

function skipRefType(r: Reader): void {
  const b = r.u8();
  if (b === REF || b === REF_NULL) r.leb(); // heap type (s33; its length is what matters)
}

class Reader {
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
  ) {}

  u8(): number {
    if (this.pos >= this.buf.length) throw new Error('unexpected end of module');
    return this.buf[this.pos++]!;
  }

  /** An unsigned LEB128 of up to 64 bits, as a Number (exact below 2^53). */
  leb(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('malformed LEB128');
  }

  peek(): number {
    if (this.pos >= this.buf.length) throw new Error('unexpected end of module');
    return this.buf[this.pos]!;
  }

  slice(from: number, to: number): Uint8Array {
    return this.buf.subarray(from, to);
  }

  u32(): number {
    const v = this.leb();
    if (v > 0xffffffff) throw new Error('u32 out of range');
    return v;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('unexpected end of module');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  expectEnd(section: string): void {
    if (this.pos !== this.buf.length) throw new Error(`trailing bytes in the ${section} section`);
  }
}

function encodeLeb(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Uint8Array.from(out);
}

const encodeU32 = encodeLeb;

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
