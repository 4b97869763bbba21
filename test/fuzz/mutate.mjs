/**
 * Mutators for the fuzzer (`scripts/fuzz.mjs`): a seeded PRNG, component mutations (byte flips,
 * inserts, deletes, section splices, lying section sizes, truncation) and raw HTTP request
 * mutations (request line, headers, chunked framing, Content-Length). Deterministic for a seed.
 */

/** mulberry32: a small, well-spread 32-bit PRNG; the same seed gives the same run. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)], bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))) };
}

/** The top-level sections of a component or module: id, start of the section, start and end of its body. */
export function sections(b) {
  const out = [];
  let p = 8;
  while (p < b.length) {
    const start = p;
    const id = b[p++];
    let size = 0;
    let shift = 0;
    let x;
    do {
      x = b[p++];
      size += (x & 0x7f) * 2 ** shift;
      shift += 7;
    } while (x & 0x80 && p < b.length);
    out.push({ id, start, body: p, end: Math.min(b.length, p + size) });
    p += size;
  }
  return out;
}

const LEB_HUGE = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);

/** One mutation of a valid component; `name` says which, for the report. */
export function mutateComponent(rand, src) {
  const secs = sections(src);
  const at = 8 + rand.int(Math.max(1, src.length - 8));
  const sec = rand.pick(secs);
  const other = rand.pick(secs);
  const cat = (...parts) => Buffer.concat(parts);
  switch (rand.int(10)) {
    case 0: {
      const b = Buffer.from(src);
      for (let k = 1 + rand.int(4); k > 0; k--) b[8 + rand.int(b.length - 8)] = rand.int(256);
      return { name: 'flip', bytes: b };
    }
    case 1: {
      // Flips inside the component-level sections, where the decoder (not Cranelift) reads.
      const b = Buffer.from(src);
      const small = secs.filter((s) => s.end - s.body < 4096);
      const s = rand.pick(small.length ? small : secs);
      for (let k = 1 + rand.int(3); k > 0; k--) b[s.body + rand.int(Math.max(1, s.end - s.body))] = rand.int(256);
      return { name: 'flip-section', bytes: b };
    }
    case 2:
      return { name: 'insert', bytes: cat(src.subarray(0, at), rand.bytes(1 + rand.int(8)), src.subarray(at)) };
    case 3:
      return { name: 'delete', bytes: cat(src.subarray(0, at), src.subarray(at + 1 + rand.int(16))) };
    case 4:
      return { name: 'duplicate-section', bytes: cat(src.subarray(0, other.start), src.subarray(sec.start, sec.end), src.subarray(other.start)) };
    case 5:
      return { name: 'drop-section', bytes: cat(src.subarray(0, sec.start), src.subarray(sec.end)) };
    case 6:
      return { name: 'truncate', bytes: src.subarray(0, 8 + rand.int(src.length - 8)) };
    case 7:
      // A section that claims to be 4 GiB long.
      return { name: 'huge-size', bytes: cat(src.subarray(0, sec.start + 1), LEB_HUGE, src.subarray(sec.body)) };
    case 8: {
      if (sec === other) return { name: 'swap-sections', bytes: Buffer.from(src) };
      const [a, b] = sec.start < other.start ? [sec, other] : [other, sec];
      return {
        name: 'swap-sections',
        bytes: cat(src.subarray(0, a.start), src.subarray(b.start, b.end), src.subarray(a.end, b.start), src.subarray(a.start, a.end), src.subarray(b.end)),
      };
    }
    default: {
      // A run of bytes overwritten with boundary values the decoders count with.
      const b = Buffer.from(src);
      const fill = rand.pick([0x00, 0x7f, 0x80, 0xff]);
      b.fill(fill, at, Math.min(b.length, at + 1 + rand.int(32)));
      return { name: 'fill', bytes: b };
    }
  }
}

/** A well-formed request to mutate: method, path, headers and body. */
export function baseRequests(token, wasm) {
  const auth = `Bearer ${token}`;
  return [
    { method: 'PUT', path: '/v1/functions/fz-raw', headers: [['authorization', auth], ['content-type', 'application/wasm']], body: wasm },
    { method: 'PUT', path: '/v1/functions/fz-raw', headers: [['authorization', auth]], body: wasm, chunked: true },
    { method: 'POST', path: '/fn/healthy/echo?x=1', headers: [['content-type', 'text/plain']], body: Buffer.from('hello fuzz') },
    { method: 'POST', path: '/fn/healthy', headers: [], body: Buffer.from('x'.repeat(300)), chunked: true },
    { method: 'GET', path: '/fn/healthy', headers: [], body: Buffer.alloc(0) },
    { method: 'DELETE', path: '/v1/functions/fz-raw', headers: [['authorization', auth]], body: Buffer.alloc(0) },
    { method: 'GET', path: '/v1/functions', headers: [['authorization', auth]], body: Buffer.alloc(0) },
  ];
}

function chunk(body, sizes) {
  const parts = [];
  let p = 0;
  for (const n of sizes) {
    if (p >= body.length) break;
    const piece = body.subarray(p, p + n);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    p += piece.length;
  }
  if (p < body.length) parts.push(Buffer.from(`${(body.length - p).toString(16)}\r\n`), body.subarray(p), Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Serializes a request, with one structural mutation, then maybe byte-level noise. */
export function mutateRequest(rand, base) {
  let method = base.method;
  let path = base.path;
  let version = 'HTTP/1.1';
  const headers = base.headers.map(([k, v]) => [k, v]);
  let body = base.body;
  let chunked = Boolean(base.chunked);
  let length = body.length;
  let framing = 'normal';
  const kind = rand.int(14);
  let name;
  switch (kind) {
    case 0: name = 'method'; method = rand.pick(['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'CONNECT', 'TRACE', 'put', 'P\x00T', 'X'.repeat(200)]); break;
    case 1: name = 'path'; path = rand.pick([`${path}/..`, path.toUpperCase(), `${path}%00`, `/${'a/'.repeat(500)}`, path.replace(/\//g, '//'), `${path}?${'q='.repeat(2000)}`, '*', `http://evil${path}`, path.replace('/', '/%2e%2e/')]); break;
    case 2: name = 'version'; version = rand.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/0.9', '', 'HTTP/1.1 extra']); break;
    case 3: name = 'content-length-lie'; length = body.length + rand.pick([-1, 1, 1000, -body.length]); chunked = false; break;
    case 4: name = 'content-length-bad'; framing = rand.pick(['-1', '1e3', '0x10', ' 5', '99999999999999999999', `${length}, ${length + 1}`]); chunked = false; break;
    case 5: name = 'content-length-and-chunked'; chunked = true; framing = 'both'; break;
    case 6: name = 'chunk-size-bad'; chunked = true; framing = rand.pick(['zz', '-1', 'ffffffffffffffff', '1;ext=' + 'x'.repeat(5000), '']); break;
    case 7: name = 'chunk-unterminated'; chunked = true; framing = 'unterminated'; break;
    case 8: name = 'header-huge'; headers.push(['x-big', 'x'.repeat(rand.pick([8_000, 20_000, 100_000]))]); break;
    case 9: name = 'header-many'; for (let i = 0; i < rand.pick([100, 2000]); i++) headers.push([`x-h${i}`, 'v']); break;
    case 10: name = 'header-malformed'; headers.push(rand.pick([['bad header', 'v'], ['x', 'a\rb'], ['', 'empty'], ['transfer-encoding', 'gzip, chunked'], ['host', ''], ['authorization', 'Bearer ' + 'x'.repeat(9000)]])); break;
    case 11: name = 'body-truncated'; body = body.subarray(0, rand.int(body.length + 1)); break;
    case 12: name = 'expect-continue'; headers.push(['expect', rand.pick(['100-continue', '200-ok'])]); break;
    default: name = 'bytes'; break;
  }
  const lines = [`${method} ${path} ${version}`.trimEnd(), 'host: localhost'];
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  let payload;
  if (chunked) {
    lines.push('transfer-encoding: chunked');
    if (framing === 'both') lines.push(`content-length: ${body.length}`);
    if (framing === 'normal' || framing === 'both') payload = chunk(body, [1 + rand.int(64), 1 + rand.int(4096)]);
    else if (framing === 'unterminated') payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body]);
    else payload = Buffer.concat([Buffer.from(`${framing}\r\n`), body.subarray(0, 10), Buffer.from('\r\n0\r\n\r\n')]);
  } else {
    lines.push(`content-length: ${framing === 'normal' ? Math.max(0, length) : framing}`);
    payload = body;
  }
  let bytes = Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]);
  if (kind === 13 || rand.int(8) === 0) {
    bytes = Buffer.from(bytes);
    const head = Math.max(1, bytes.indexOf('\r\n\r\n') + 4);
    for (let k = 1 + rand.int(3); k > 0; k--) bytes[rand.int(Math.min(bytes.length, head + 64))] = rand.int(256);
  }
  return { name, bytes };
}
