import { describe, expect, it } from 'vitest';

import { fixture, SOURCES, type FixtureName } from './fixtures.testkit.js';

describe('wasmtime test fixtures', () => {
  it.each(Object.keys(SOURCES) as FixtureName[])('%s parses to a binary', async (name) => {
    const bytes = await fixture(name);
    expect(bytes.byteLength).toBeGreaterThan(8);
    // Components have layer 1 in the preamble; the core module fixtures have layer 0.
    expect(bytes[6]).toBe(name === 'coreModule' || name === 'v8oob' ? 0 : 1);
  });
});
