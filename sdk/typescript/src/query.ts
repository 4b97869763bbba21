/**
 * @module query
 * Query parameters exactly as samples/README.md defines them, identical in every wafer SDK:
 * the query is split on `&`; the first part whose raw key (text before the first `=`, or the
 * whole part) equals the name wins; its value (text after the first `=`, `""` if none) is
 * decoded with `+` → space and `%XY` (two hex digits) → byte 0xXY, any other `%` kept as is.
 * The result is bytes, not necessarily UTF-8. Keys are compared undecoded.
 */

const encoder = new TextEncoder();
const PLUS = 0x2b;
const PERCENT = 0x25;
const SPACE = 0x20;

/** The decoded bytes of query parameter `name` in the raw query `query`, or undefined if absent. */
export function queryParam(query: string, name: string): Uint8Array | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === name) return decodeValue(eq < 0 ? '' : part.slice(eq + 1));
  }
  return undefined;
}

function decodeValue(value: string): Uint8Array {
  const src = encoder.encode(value);
  const out = new Uint8Array(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === PLUS) {
      out[n++] = SPACE;
    } else if (c === PERCENT && i + 2 < src.length && isHex(src[i + 1]!) && isHex(src[i + 2]!)) {
      out[n++] = (hexValue(src[i + 1]!) << 4) | hexValue(src[i + 2]!);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}
