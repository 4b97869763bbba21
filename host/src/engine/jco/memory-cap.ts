/**
 * @module engine/jco/memory-cap
 * The jco engine's memory quota. V8 cannot limit a wasm memory from outside (worker
 * `resourceLimits` do not cover it), but it honours a memory's declared maximum: a `memory.grow`
 * past it returns -1 and the guest's allocator fails. So before compiling, every core module's
 * memories — defined ones (section 5) and imported ones (section 2) — get their maximum lowered
 * to the quota. Only the limits are re-encoded; every other byte is copied as is.
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

/** Rewrites the memory maxima of a core module so that no memory can grow past `capBytes`. */
export function capMemories(module: Uint8Array, capBytes: number): CappedModule {
  if (module.length < 8 || module[0] !== 0x00 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d) {
    throw new Error('not a WebAssembly core module');
  }
  const state: CapState = { capBytes, memories: 0, initialBytes: 0, minExceedsCap: false };
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
  memories: number;
  initialBytes: number;
  minExceedsCap: boolean;
}

function rewriteMemories(payload: Uint8Array, state: CapState): Uint8Array {
  const r = new Reader(payload, 0);
  const count = r.u32();
  const out: Uint8Array[] = [encodeU32(count)];
  for (let i = 0; i < count; i++) out.push(rewriteLimits(r, state));
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
        out.push(payload.subarray(start, r.pos), rewriteLimits(r, state));
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
function rewriteLimits(r: Reader, state: CapState): Uint8Array {
  const flags = r.u8();
  const min = r.leb();
  const max = flags & 0x01 ? r.leb() : undefined;
  const pageLog2 = flags & 0x08 ? r.leb() : PAGE_LOG2;
  const pageBytes = 2 ** pageLog2;
  const capPages = Math.floor(state.capBytes / pageBytes);
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
