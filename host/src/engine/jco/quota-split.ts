/**
 * @module engine/jco/quota-split
 * How one memory quota is shared by everything a component can grow on V8. V8 cannot count a
 * guest's growth against a budget; it only honours each memory's and table's declared maximum.
 * So the quota is split into maxima that add up to at most the quota: every memory and table
 * keeps its minimum, and the headroom (quota minus the minimums) is handed out evenly, smallest
 * wants first, so one that declares a small maximum passes its unused share on. The usual
 * component, with one real memory and fixed-size tables, still gets the whole quota for its
 * memory. A table without a declared maximum wants at most `TABLE_GROWTH_ELEMENTS` more elements
 * (as a wasmtime pool slot holds), so it cannot take a memory's share at ordinary quotas.
 *
 * A core module instantiated k times has k copies of each memory and table, all with the one
 * maximum its compiled module declares, so each counts k times (`instances`, read from jco's JS).
 * The worker checks the real count at instantiation: if the instances' maxima would pass the
 * quota together, instantiation fails with `memory_limit`.
 */
import { TABLE_ELEMENT_BYTES, type DefinedCaps, type Growable, type Growables } from './memory-cap.js';

/** Growth a table without a declared maximum may get, in elements (wasmtime's pool slot size). */
export const TABLE_GROWTH_ELEMENTS = 65_536;

/** How one quota is shared by a component's memories and tables. */
export interface QuotaSplit {
  /** Per core module name, the caps (bytes) of the memories and tables it defines. */
  caps: Map<string, DefinedCaps>;
  /** Per core module name, the sum of its caps: what one instance of it may grow to. */
  budget: Record<string, number>;
  /** Sum of every minimum: more than the quota means the component cannot start under it. */
  initialBytes: number;
}

/**
 * Shares `capBytes` among every memory and table of `modules` (see the module comment);
 * `instances` says how many core instances each module gets (default 1).
 */
export function splitQuota(modules: Map<string, Growables>, capBytes: number, instances: Record<string, number> = {}): QuotaSplit {
  interface Item {
    name: string;
    kind: keyof Growables;
    index: number;
    g: Growable;
    cap: number;
    copies: number;
  }
  const all: Item[] = [];
  let initialBytes = 0;
  for (const [name, defined] of modules) {
    const copies = Math.max(1, instances[name] ?? 1);
    for (const kind of ['memories', 'tables'] as const) {
      defined[kind].forEach((g, index) => {
        all.push({ name, kind, index, g, cap: g.minBytes, copies });
        initialBytes += g.minBytes * copies;
      });
    }
  }
  const want = ({ kind, g }: Item) => {
    const max = g.maxBytes ?? (kind === 'tables' ? g.minBytes + TABLE_GROWTH_ELEMENTS * TABLE_ELEMENT_BYTES : Infinity);
    return Math.max(0, max - g.minBytes);
  };
  let headroom = Math.max(0, capBytes - initialBytes);
  const byWant = [...all].sort((a, b) => want(a) - want(b));
  let copiesLeft = byWant.reduce((n, item) => n + item.copies, 0);
  for (const item of byWant) {
    // Per copy: every copy of this memory or table gets the same maximum.
    const fair = Math.floor(headroom / copiesLeft);
    const give = Math.floor(Math.min(want(item), fair) / item.g.unitBytes) * item.g.unitBytes;
    item.cap += give;
    headroom -= give * item.copies;
    copiesLeft -= item.copies;
  }
  const caps = new Map<string, DefinedCaps>();
  const budget: Record<string, number> = {};
  for (const name of modules.keys()) {
    caps.set(name, { memories: [], tables: [] });
    budget[name] = 0;
  }
  for (const item of all) {
    caps.get(item.name)![item.kind][item.index] = item.cap;
    budget[item.name]! += item.cap;
  }
  return { caps, budget, initialBytes };
}
