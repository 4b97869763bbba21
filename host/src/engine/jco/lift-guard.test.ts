/**
 * The lift guard refuses jco output it does not recognise; what it does to a real guest's results
 * is tested end to end in test/hostile/guests-abi.test.ts (malformed canonical-ABI results).
 */
import { describe, expect, it } from 'vitest';
import { guardHandleLift, UnguardedLiftError } from './lift-guard.js';

const LIFT = `function handle(arg0) {
  let ret = exports0Handle(ptr0, len0);
  switch (dataView(memory0).getUint8(ret + 0, true)) {
    case 1: { var result2 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr2, len2)); }
  }
}`;

describe('guardHandleLift', () => {
  it('splices the check into the read of the discriminant and defines it once', () => {
    const js = guardHandleLift(LIFT);
    expect(js).toContain('switch (dataView(memory0).getUint8(__waferCheckHandleResult(memory0, ret, true) + 0, true))');
    expect(js.match(/function __waferCheckHandleResult/g)).toHaveLength(1);
  });

  it('refuses a lift template it does not know, and a module with no or two handle functions', () => {
    expect(() => guardHandleLift(LIFT.replace('getUint8(ret + 0', 'getUint8(ret'))).toThrow(UnguardedLiftError);
    expect(() => guardHandleLift('export const x = 1;')).toThrow(UnguardedLiftError);
    expect(() => guardHandleLift(`${LIFT}\n${LIFT}`)).toThrow(UnguardedLiftError);
  });
});
