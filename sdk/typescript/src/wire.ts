/**
 * @module wire
 * The protobuf wire format, by hand: varints and length-delimited fields for the envelope, plus
 * skipping every other wire type, so fields added by a newer host are ignored (abi/ABI.md,
 * compatibility rule 2). protobufjs would add ~100 KB of JavaScript to every guest.
 *
 * Written as plain functions over (buffer, position) rather than a reader object: the guest's
 * JavaScript runs in SpiderMonkey's interpreter, where each property access and call costs
 * tens to hundreds of nanoseconds, and this code runs on every call.
 */

/** Wire types of the protobuf encoding. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;

/** Thrown for bytes that are not a well-formed protobuf message. */
export class WireError extends Error {
  override name = 'WireError';
}

/** Position just after the varint that `readVarint` last read. */
export let next = 0;

/** Reads a varint of up to 64 bits at `pos` as a number (exact up to 2^53); sets `next`. */
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireError('truncated varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      next = pos;
      return value;
    }
    scale *= 128;
  }
  throw new WireError('varint longer than 10 bytes');
}

/** Reads a field key (field number × 8 + wire type) at `pos`; sets `next`. */
export function readKey(buf: Uint8Array, pos: number, end: number): number {
  const key = readVarint(buf, pos, end);
  if (key < 8 || key > 0xffffffff) throw new WireError(`invalid field key ${key}`);
  return key;
}

/** Reads the length of a length-delimited field at `pos` and checks it fits; sets `next` to the payload start. */
export function readLength(buf: Uint8Array, pos: number, end: number): number {
  const len = pos < end && buf[pos]! < 0x80 ? ((next = pos + 1), buf[pos]!) : readVarint(buf, pos, end);
  if (len > end - next) throw new WireError('length-delimited field overruns the message');
  return len;
}

/** Skips the value of a field whose key was read (value starts at `pos`); returns the position after it. */
export function skipField(buf: Uint8Array, pos: number, end: number, key: number): number {
  const field = key >>> 3;
  switch (key & 7) {
    case VARINT:
      readVarint(buf, pos, end);
      return next;
    case I64:
      return fixed(pos, end, 8);
    case LEN: {
      const len = readLength(buf, pos, end); // sets `next`: read it only after the call
      return next + len;
    }
    case I32:
      return fixed(pos, end, 4);
    case SGROUP:
      // A group runs until the EGROUP key with the same field number; groups may nest.
      for (;;) {
        if (pos >= end) throw new WireError('unterminated group');
        const k = readKey(buf, pos, end);
        if ((k & 7) === EGROUP) {
          if (k >>> 3 !== field) throw new WireError('mismatched end of group');
          return next;
        }
        pos = skipField(buf, next, end, k);
      }
    default:
      throw new WireError(`invalid wire type ${key & 7}`);
  }
}

function fixed(pos: number, end: number, n: number): number {
  if (n > end - pos) throw new WireError('truncated fixed-width field');
  return pos + n;
}

/** Number of bytes a varint takes. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes a varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 128) {
    buf[pos++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}
