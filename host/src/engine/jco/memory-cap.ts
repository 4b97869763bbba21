/**
 * @module engine/jco/memory-cap
 * The jco engine's memory quota. V8 cannot limit a wasm memory from outside (worker
 * `resourceLimits` do not cover it), but it honours a memory's declared maximum: a `memory.grow`
 * past it returns -1 and the guest's allocator fails. So before compiling, every core module's
 * memories — defined ones (section 5) and imported ones (section 2) — get their maximum lowered.
 * Only the limits are re-encoded; every other byte is copied as is.
 *
 * One quota covers all of a component's memories together, not each one: `splitQuota` gives every
 * memory the component defines its minimum plus a share of the headroom (quota minus the sum of
 * the minimums), so the maxima add up to at most the quota. A memory that declares a smaller
 * maximum than its share passes the rest on, so the usual component with one real memory still
 * gets the whole quota for it. This split assumes each core module is instantiated once; the
 * worker checks that at instantiation (a module instantiated twice would double its memories)
 * and refuses with `memory_limit` if the instances' maxima would pass the quota.
 * Imported memories are another module's memory: their declared maximum only needs to admit it,
 * so it is lowered to the quota.
 */

const PAGE_LOG2 = 16;
const SECTION_IMPORT = 2;
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

/** A memory a core module defines (its memory section), in bytes. */
export interface DefinedMemory {
  minBytes: number;
  /** Its declared maximum, if any. */
  maxBytes?: number;
  pageBytes: number;
}

/** The memories a core module defines, in order; imported ones are counted where they are defined. */
export function definedMemories(module: Uint8Array): DefinedMemory[] {
  checkMagic(module);
  const found: DefinedMemory[] = [];
  const r = new Reader(module, 8);
  while (r.pos < module.length) {
    const id = r.u8();
    const payload = r.bytes(r.u32());
    if (id !== SECTION_MEMORY) continue;
    const m = new Reader(payload, 0);
    const count = m.u32();
    for (let i = 0; i < count; i++) {
      const flags = m.u8();
      const min = m.leb();
      const max = flags & 0x01 ? m.leb() : undefined;
      const pageBytes = 2 ** (flags & 0x08 ? m.leb() : PAGE_LOG2);
      found.push({ minBytes: min * pageBytes, maxBytes: max === undefined ? undefined : max * pageBytes, pageBytes });
    }
  }
  return found;
}

/** How one quota is shared by a component's memories. */
export interface QuotaSplit {
  /** Per module name, the cap in bytes of each memory it defines, in definition order. */
  caps: Map<string, number[]>;
  /** Per module name, the sum of its memories' caps: what one instance of it may grow to. */
  budget: Record<string, number>;
  /** Sum of every memory's minimum: more than the quota means the component cannot start. */
  initialBytes: number;
}

/**
 * Shares `capBytes` among every memory of `modules`: each keeps its minimum, and the headroom is
 * handed out evenly, smallest wants first, so a memory that declares a small maximum leaves its
 * unused share to the others. The caps add up to at most `capBytes` whenever the minimums fit.
 */
export function splitQuota(modules: Map<string, DefinedMemory[]>, capBytes: number): QuotaSplit {
  const all: { name: string; index: number; mem: DefinedMemory; cap: number }[] = [];
  let initialBytes = 0;
  for (const [name, memories] of modules) {
    memories.forEach((mem, index) => {
      all.push({ name, index, mem, cap: mem.minBytes });
      initialBytes += mem.minBytes;
    });
  }
  let headroom = Math.max(0, capBytes - initialBytes);
  const want = (e: (typeof all)[number]) => Math.max(0, (e.mem.maxBytes ?? Infinity) - e.mem.minBytes);
  const byWant = [...all].sort((a, b) => want(a) - want(b));
  byWant.forEach((e, i) => {
    const fair = Math.floor(headroom / (byWant.length - i));
    const give = Math.floor(Math.min(want(e), fair) / e.mem.pageBytes) * e.mem.pageBytes;
    e.cap += give;
    headroom -= give;
  });
  const caps = new Map<string, number[]>();
  const budget: Record<string, number> = {};
  for (const name of modules.keys()) {
    caps.set(name, []);
    budget[name] = 0;
  }
  for (const e of all) {
    caps.get(e.name)![e.index] = e.cap;
    budget[e.name]! += e.cap;
  }
  return { caps, budget, initialBytes };
}

function checkMagic(module: Uint8Array): void {
  if (module.length < 8 || module[0] !== 0x00 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d) {
    throw new Error('not a WebAssembly core module');
  }
}

/**
 * Rewrites the memory maxima of a core module: each memory it defines to its entry in
 * `definedCaps` (bytes; the whole quota when absent), each memory it imports to `capBytes`.
 */
export function capMemories(module: Uint8Array, capBytes: number, definedCaps?: number[]): CappedModule {
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
    if (id === SECTION_IMPORT || id === SECTION_MEMORY) {
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
  definedCaps?: number[];
  memories: number;
  initialBytes: number;
  minExceedsCap: boolean;
}

function rewriteMemories(payload: Uint8Array, state: CapState): Uint8Array {
  const r = new Reader(payload, 0);
  const count = r.u32();
  const out: Uint8Array[] = [encodeU32(count)];
  for (let i = 0; i < count; i++) out.push(rewriteLimits(r, state, state.definedCaps?.[i] ?? state.capBytes));
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
