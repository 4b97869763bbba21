/**
 * @module engine/jco/lift-guard
 * Makes jco's lift of `handle`'s result as strict as the canonical ABI. jco's generated code
 * trusts the guest: it copies an ok list with `buffer.slice`, which silently clamps a pointer or
 * length past the end of memory (or wrapping past 4 GiB) to whatever is there; it reads the
 * result at a misaligned pointer; and it decodes the err string with a lossy `TextDecoder`. The
 * canonical ABI (and wasmtime) traps on all of these. So at transpile time a check is spliced in
 * front of the lift: it reads the return area itself and throws a `WebAssembly.RuntimeError` (a
 * trap: the worker then discards the instance) unless the result is one jco lifts faithfully.
 *
 * `handle`'s type is fixed by the ABI (`func(list<u8>) -> result<list<u8>, string>`), so its lift
 * is the same template in every component for one jco version; the manifest binds the output to
 * that version. A template this code does not recognise is refused, never run unguarded.
 */

/** The return area of `result<list<u8>, string>`: discriminant u8 at 0, pointer at 4, length at 8. */
const CHECK_FN = '__waferCheckHandleResult';

/** Injected once at the end of the module (a function declaration, so hoisted). */
const CHECK_SOURCE = `
function ${CHECK_FN}(memory, ret, utf8) {
  const size = memory.buffer.byteLength;
  const at = ret >>> 0;
  const fail = (why) => { throw new WebAssembly.RuntimeError('invalid canonical ABI result of handle: ' + why); };
  if (at % 4 !== 0) fail('the result pointer ' + at + ' is not aligned to 4');
  if (at + 12 > size) fail('the result pointer ' + at + ' is out of bounds of memory (' + size + ' bytes)');
  const view = new DataView(memory.buffer);
  const tag = view.getUint8(at);
  if (tag > 1) fail('result discriminant ' + tag);
  const ptr = view.getUint32(at + 4, true);
  const len = view.getUint32(at + 8, true);
  if (ptr + len > size) fail('the ' + (tag === 0 ? 'ok list' : 'err string') + ' at ' + ptr + ' of ' + len + ' bytes is out of bounds of memory (' + size + ' bytes)');
  if (tag === 1 && utf8) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(memory.buffer, ptr, len));
    } catch {
      fail('the err string is not valid UTF-8');
    }
  }
  return ret;
}
`;

/** Where jco's lift reads the discriminant of `handle`'s result. */
const LIFT_SWITCH = /switch \(dataView\((memory\d+)\)\.getUint8\(ret \+ 0, true\)\)/;
const HANDLE_FN = 'function handle(arg0)';

/** A transpiled module whose lift of `handle` is not the template this guard knows. */
export class UnguardedLiftError extends Error {}

/** Returns jco's transpiled JS with the check spliced in front of `handle`'s lift. */
export function guardHandleLift(js: string): string {
  const start = js.indexOf(HANDLE_FN);
  if (start < 0 || js.indexOf(HANDLE_FN, start + 1) >= 0) throw new UnguardedLiftError('jco emitted no single handle function');
  const body = js.slice(start);
  const match = LIFT_SWITCH.exec(body);
  if (!match) throw new UnguardedLiftError('jco lifted handle\'s result in a way the lift guard does not know');
  const memory = match[1]!;
  // The err string is UTF-8 unless the lift says otherwise (string-encoding=utf16 decodes differently).
  const utf8 = /TEXT_DECODER_UTF8\.decode\(/.test(body.slice(match.index, match.index + 4000));
  const at = start + match.index;
  const guarded = `switch (dataView(${memory}).getUint8(${CHECK_FN}(${memory}, ret, ${utf8}) + 0, true))`;
  return `${js.slice(0, at)}${guarded}${js.slice(at + match[0].length)}\n${CHECK_SOURCE}`;
}
