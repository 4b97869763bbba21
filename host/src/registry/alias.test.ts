/**
 * The alias rules and the weighted pick, with the random number given, so every branch is exact.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ALIAS_TARGETS, MAX_ALIAS_WEIGHT } from '../limits.js';
import { pickTarget, targetsProblem } from './alias.js';

describe('pickTarget', () => {
  const split = [
    { version: 1, weight: 1 },
    { version: 2, weight: 0 },
    { version: 3, weight: 3 },
  ];

  it('maps [0, 1) onto the versions in proportion to their weights, never picking weight 0', () => {
    expect(pickTarget(split, () => 0)).toBe(1);
    expect(pickTarget(split, () => 0.2499)).toBe(1);
    expect(pickTarget(split, () => 0.25)).toBe(3);
    expect(pickTarget(split, () => 0.9999999)).toBe(3);
  });

  it('picks the last positive version when rounding leaves a sliver past the end', () => {
    expect(pickTarget([{ version: 4, weight: 0.1 }, { version: 5, weight: 0.2 }, { version: 6, weight: 0 }], () => 1)).toBe(5);
  });
});

describe('targetsProblem', () => {
  it('accepts distinct versions with finite, non-negative weights, one of them positive', () => {
    expect(targetsProblem([{ version: 1, weight: 0 }, { version: 2, weight: 0.5 }])).toBeUndefined();
  });

  it.each([
    ['no versions', []],
    ['too many versions', Array.from({ length: MAX_ALIAS_TARGETS + 1 }, (_, i) => ({ version: i + 1, weight: 1 }))],
    ['a version twice', [{ version: 1, weight: 1 }, { version: 1, weight: 2 }]],
    ['version 0', [{ version: 0, weight: 1 }]],
    ['a fractional version', [{ version: 1.5, weight: 1 }]],
    ['a negative weight', [{ version: 1, weight: -1 }]],
    ['NaN', [{ version: 1, weight: Number.NaN }]],
    ['Infinity', [{ version: 1, weight: Number.POSITIVE_INFINITY }]],
    ['a weight over the maximum', [{ version: 1, weight: MAX_ALIAS_WEIGHT + 1 }]],
    ['only zero weights', [{ version: 1, weight: 0 }, { version: 2, weight: 0 }]],
  ])('refuses %s', (_, targets) => {
    expect(targetsProblem(targets)).toMatch(/./);
  });
});
