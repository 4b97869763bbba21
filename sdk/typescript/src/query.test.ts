import { describe, expect, it } from 'vitest';
import { queryParam } from './query.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const bytes = (b: Uint8Array | undefined) => (b === undefined ? undefined : [...b]);

describe('queryParam (samples/README.md definition)', () => {
  it.each([
    ['name=Ada', 'name', 'Ada'],
    ['a=1&name=Ada&name=Bob', 'name', 'Ada'], // the first match wins
    ['name=&name=Bob', 'name', ''], // ...even when empty
    ['name', 'name', ''], // no "=": the whole part is the key, the value is empty
    ['name=a=b', 'name', 'a=b'], // split on the first "=" only
    ['x=1', 'name', undefined],
    ['', 'name', undefined],
    ['', '', ''], // the empty query has one part, "", whose key is ""
    ['=v', '', 'v'],
    ['&&name=x&&', 'name', 'x'],
    ['name=J%C3%BCrgen', 'name', 'Jürgen'],
    ['name=a+b%20c', 'name', 'a b c'],
    ['name=%2B', 'name', '+'], // %2B is a literal plus, not a space
    ['name=%41%4a%4A%6a', 'name', 'AJJj'], // hex digits in either case
    ['name=100%', 'name', '100%'], // a "%" without two hex digits stays
    ['name=%4', 'name', '%4'],
    ['name=%zz%4g', 'name', '%zz%4g'],
    ['name=%%41', 'name', '%A'],
    ['na%6De=x', 'name', undefined], // keys are compared undecoded
    ['na%6De=x', 'na%6De', 'x'],
    ['a+b=1', 'a b', undefined],
    ['name=héllo', 'name', 'héllo'], // raw non-ASCII passes through as UTF-8
    ['NAME=x', 'name', undefined], // keys are case-sensitive
  ])('%j, %j → %j', (query, key, want) => {
    expect(text(queryParam(query, key))).toBe(want);
  });

  it('returns raw bytes, not necessarily UTF-8', () => {
    expect(bytes(queryParam('v=%FF%00%e9+', 'v'))).toEqual([0xff, 0x00, 0xe9, 0x20]);
  });
});
