/**
 * @module adapter-realloc
 * Adds a `cabi_realloc_adapter` export to a core module built by Go for wasip1.
 *
 * The WASI preview1 adapter allocates its state and stack on its first call, which a Go
 * module makes from inside `_initialize`, before Go's runtime can run a //go:wasmexport
 * function; growing memory instead would corrupt Go's heap. The SDK reserves an arena in
 * BSS (sdk/go/adapter_wasip1.go) and describes it in a statically laid-out record that
 * starts with ARENA_MAGIC; this module finds the record in the data segments and appends
 * a wasm function that bump-allocates from the arena. wit-component hands
 * `cabi_realloc_adapter` to the adapter in place of `cabi_realloc`.
 *
 * Only appends (a type, a function, a global, an export, a body), so no existing index
 * moves.
 */

/** The bytes "wafer-adapter-v1": adapterArenaRecord.magic in adapter_wasip1.go. */
const ARENA_MAGIC = Buffer.from('wafer-adapter-v1', 'latin1');

const SECTION = { type: 1, import: 2, function: 3, global: 6, export: 7, code: 10, data: 11 };

/**
 * Returns a copy of `core` (a Go wasip1 core module) with `cabi_realloc_adapter` added.
 * @param {Uint8Array} core
 * @returns {Uint8Array}
 */
export function addAdapterRealloc(core) {
  const bytes = Buffer.from(core.buffer, core.byteOffset, core.byteLength);
  const sections = parseSections(bytes);
  const find = (id) => sections.find((s) => s.id === id);
  for (const name of ['type', 'function', 'global', 'export', 'code', 'data']) {
    if (!find(SECTION[name])) throw new Error(`core module has no ${name} section; not a Go wasip1 module?`);
  }
  if (hasExport(find(SECTION.export).body, 'cabi_realloc_adapter')) {
    throw new Error('core module already exports cabi_realloc_adapter');
  }

  const { base, size } = findArena(find(SECTION.data).body);
  const imported = countImports(find(SECTION.import)?.body);
  const typeIndex = vecCount(find(SECTION.type).body);
  const funcIndex = imported.funcs + vecCount(find(SECTION.function).body);
  const globalIndex = imported.globals + vecCount(find(SECTION.global).body);

  const i32 = 0x7f;
  appendToVec(find(SECTION.type), Buffer.from([0x60, 4, i32, i32, i32, i32, 1, i32]));
  appendToVec(find(SECTION.function), uleb(typeIndex));
  appendToVec(find(SECTION.global), Buffer.concat([Buffer.from([i32, 1, 0x41]), sleb(base), Buffer.from([0x0b])]));
  appendToVec(
    find(SECTION.export),
    Buffer.concat([uleb(20), Buffer.from('cabi_realloc_adapter'), Buffer.from([0x00]), uleb(funcIndex)]),
  );
  const body = bumpAllocatorBody(globalIndex, base + size);
  appendToVec(find(SECTION.code), Buffer.concat([uleb(body.length), body]));

  const out = [bytes.subarray(0, 8)];
  for (const s of sections) out.push(Buffer.from([s.id]), uleb(s.body.length), s.body);
  return new Uint8Array(Buffer.concat(out));
}

/**
 * (func (param $old i32 $old_size i32 $align i32 $size i32) (result i32) (local $p i32)
 *   p = (next + align - 1) & -align; trap unless old == 0 and p + size <= end;
 *   next = p + size; return p)
 */
function bumpAllocatorBody(next, end) {
  const op = {
    unreachable: 0x00, if: 0x04, end: 0x0b, localGet: 0x20, localSet: 0x21, globalGet: 0x23,
    globalSet: 0x24, i32Const: 0x41, gtU: 0x4b, add: 0x6a, sub: 0x6b, and: 0x71,
  };
  const [OLD, , ALIGN, SIZE, P] = [0, 1, 2, 3, 4];
  const code = [
    1, 1, 0x7f, // one i32 local: $p
    op.localGet, OLD, op.if, 0x40, op.unreachable, op.end, // the adapter never grows a block
    op.globalGet, ...uleb(next), op.localGet, ALIGN, op.add, op.i32Const, 1, op.sub,
    op.i32Const, 0, op.localGet, ALIGN, op.sub, op.and, op.localSet, P,
    op.localGet, P, op.i32Const, ...sleb(end), op.gtU, op.if, 0x40, op.unreachable, op.end,
    op.localGet, SIZE, op.i32Const, ...sleb(end), op.localGet, P, op.sub, op.gtU,
    op.if, 0x40, op.unreachable, op.end, // arena exhausted: trap rather than corrupt Go's heap
    op.localGet, P, op.localGet, SIZE, op.add, op.globalSet, ...uleb(next),
    op.localGet, P,
    op.end,
  ];
  return Buffer.from(code);
}

/** Reads the arena's address and size from the record after ARENA_MAGIC. */
function findArena(dataSection) {
  const memory = new Map(); // address -> byte, only for the few bytes we read
  const segments = [];
  let pos = 0;
  const count = readUleb(dataSection, pos);
  pos = count.next;
  for (let i = 0; i < count.value; i++) {
    const flags = readUleb(dataSection, pos);
    pos = flags.next;
    if (flags.value !== 0) throw new Error(`unexpected data segment kind ${flags.value} in a Go module`);
    if (dataSection[pos] !== 0x41) throw new Error('unexpected data segment offset expression');
    const offset = readSleb(dataSection, pos + 1);
    if (dataSection[offset.next] !== 0x0b) throw new Error('unexpected data segment offset expression');
    const len = readUleb(dataSection, offset.next + 1);
    segments.push({ address: offset.value >>> 0, data: dataSection.subarray(len.next, len.next + len.value) });
    pos = len.next + len.value;
  }
  const hits = [];
  for (const s of segments) {
    for (let at = s.data.indexOf(ARENA_MAGIC); at >= 0; at = s.data.indexOf(ARENA_MAGIC, at + 1)) {
      hits.push(s.address + at);
    }
  }
  if (hits.length !== 1) {
    throw new Error(
      hits.length === 0
        ? 'the wafer Go SDK is not linked in (no adapter arena record found): does the program import github.com/wafer-dev/wafer/sdk/go and call wafer.Handle?'
        : 'found several adapter arena records; link only one copy of the wafer Go SDK',
    );
  }
  const byteAt = (address) => {
    if (!memory.has(address)) {
      const s = segments.find((x) => address >= x.address && address < x.address + x.data.length);
      memory.set(address, s ? s.data[address - s.address] : 0);
    }
    return memory.get(address);
  };
  const u64 = (address) => {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(byteAt(address + i));
    return v;
  };
  const base = u64(hits[0] + 16);
  const size = u64(hits[0] + 24);
  if (base === 0n || size === 0n || base + size > 0xffffffffn) throw new Error('adapter arena record is malformed');
  return { base: Number(base), size: Number(size) };
}

function parseSections(bytes) {
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== 0x6d736100 || bytes.readUInt32LE(4) !== 1) {
    throw new Error('not a core WebAssembly module');
  }
  const sections = [];
  for (let pos = 8; pos < bytes.length; ) {
    const id = bytes[pos];
    const size = readUleb(bytes, pos + 1);
    sections.push({ id, body: bytes.subarray(size.next, size.next + size.value) });
    pos = size.next + size.value;
  }
  return sections;
}

function countImports(body) {
  const counts = { funcs: 0, globals: 0 };
  if (!body) return counts;
  let { value: n, next: pos } = readUleb(body, 0);
  const skipName = () => {
    const len = readUleb(body, pos);
    pos = len.next + len.value;
  };
  const skipLimits = () => {
    const flags = body[pos++];
    pos = readUleb(body, pos).next;
    if (flags & 1) pos = readUleb(body, pos).next;
  };
  while (n-- > 0) {
    skipName();
    skipName();
    const kind = body[pos++];
    if (kind === 0) {
      counts.funcs++;
      pos = readUleb(body, pos).next;
    } else if (kind === 1) {
      pos++; // reftype
      skipLimits();
    } else if (kind === 2) {
      skipLimits();
    } else if (kind === 3) {
      counts.globals++;
      pos += 2; // valtype, mutability
    } else {
      throw new Error(`unexpected import kind ${kind}`);
    }
  }
  return counts;
}

function hasExport(body, name) {
  let { value: n, next: pos } = readUleb(body, 0);
  while (n-- > 0) {
    const len = readUleb(body, pos);
    const exportName = body.subarray(len.next, len.next + len.value).toString('utf8');
    if (exportName === name) return true;
    pos = readUleb(body, len.next + len.value + 1).next;
  }
  return false;
}

function vecCount(body) {
  return readUleb(body, 0).value;
}

/** Appends one encoded item to a section whose body is a vector, fixing its count. */
function appendToVec(section, item) {
  const count = readUleb(section.body, 0);
  section.body = Buffer.concat([uleb(count.value + 1), section.body.subarray(count.next), item]);
}

function readUleb(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('truncated LEB128 in core module');
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return { value, next: pos };
  }
}

function readSleb(buf, pos) {
  let value = 0n;
  let shift = 0n;
  let b;
  do {
    b = buf[pos++];
    if (b === undefined) throw new Error('truncated LEB128 in core module');
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  } while (b >= 0x80);
  if (b & 0x40) value -= 1n << shift;
  return { value: Number(BigInt.asIntN(32, value)), next: pos };
}

function uleb(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** Signed LEB128 of n as an i32 (addresses above 2 GiB encode as negative). */
function sleb(n) {
  let v = n | 0;
  const out = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return Buffer.from(out);
    }
    out.push(b | 0x80);
  }
}
