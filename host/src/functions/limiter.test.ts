import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../errors.js';
import { DEFAULT_RETRY_AFTER_S } from '../limits.js';
import { capsOf, Limiter, type LimiterBounds } from './limiter.js';

const roomy: LimiterBounds = { maxCalls: 100, maxQueuedCalls: 100, share: 1, concurrency: 100, queue: 100 };
const refusedBy = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err as OverloadedError);

describe('Limiter', () => {
  it('refuses past a function\'s slots and queue with overloaded and a Retry-After hint', async () => {
    const limiter = new Limiter({ ...roomy, concurrency: 1, queue: 0 });
    const release = await limiter.acquire('f');
    const refused = await refusedBy(limiter.acquire('f'));
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(refused!.retryAfterSeconds).toBe(DEFAULT_RETRY_AFTER_S);
    expect(refused!.message).toMatch(/function f is overloaded/);
    release();
    const again = await limiter.acquire('f');
    again();
    expect(limiter.load()).toEqual({ running: 0, queued: 0 });
  });

  it('runs a function at its own concurrency when a call gives one, never past the host\'s share', async () => {
    const limiter = new Limiter({ maxCalls: 8, maxQueuedCalls: 100, share: 0.5, concurrency: 8, queue: 100 });
    expect(limiter.ceiling).toBe(4);
    expect(limiter.capFor(undefined)).toBe(4);
    expect(limiter.capFor(1)).toBe(1);
    expect(limiter.capFor(100)).toBe(4);
    const first = limiter.tryAcquire('f', 1)!;
    expect(first).toBeDefined();
    expect(limiter.tryAcquire('f', 1)).toBeUndefined();
    const waiting = limiter.acquire('f', 1);
    expect(limiter.load('f')).toEqual({ running: 1, queued: 1 });
    // Another function is not held back by f's cap.
    const other = limiter.tryAcquire('g', 2)!;
    expect(other).toBeDefined();
    first();
    (await waiting)();
    other();
    expect(limiter.load()).toEqual({ running: 0, queued: 0 });
  });

  it('hands a released slot to the first waiter, and a second release gives back nothing', async () => {
    const limiter = new Limiter({ ...roomy, concurrency: 1, queue: 2 });
    const first = await limiter.acquire('f');
    const order: string[] = [];
    const a = limiter.acquire('f').then((release) => (order.push('a'), release));
    const b = limiter.acquire('f').then((release) => (order.push('b'), release));
    expect(limiter.load('f')).toEqual({ running: 1, queued: 2 });
    first();
    first();
    const releaseA = await a;
    expect(order).toEqual(['a']);
    expect(limiter.load('f')).toEqual({ running: 1, queued: 1 });
    releaseA();
    (await b)();
    expect(order).toEqual(['a', 'b']);
    expect(limiter.load()).toEqual({ running: 0, queued: 0 });
  });

  it('lets one function hold at most its share of the host, so another always finds a slot', async () => {
    const limiter = new Limiter({ maxCalls: 4, maxQueuedCalls: 4, share: 0.5, concurrency: 100, queue: 100 });
    expect(capsOf({ maxCalls: 4, maxQueuedCalls: 4, share: 0.5, concurrency: 100, queue: 100 })).toEqual({ running: 2, queued: 2 });
    const flood = Array.from({ length: 10 }, () => refusedBy(limiter.acquire('flood')));
    expect(limiter.load('flood')).toEqual({ running: 2, queued: 2 });
    const refusals = (await Promise.all(flood.slice(4))).filter((err) => err instanceof OverloadedError);
    expect(refusals).toHaveLength(6);
    expect(refusals[0]!.message).toMatch(/function flood has its share of the host's queue/);
    const other = await limiter.acquire('other');
    expect(limiter.load()).toEqual({ running: 3, queued: 2 });
    other();
  });

  it('refuses a call of any function once the host-wide slots and queue are full', async () => {
    const limiter = new Limiter({ maxCalls: 2, maxQueuedCalls: 2, share: 0.5, concurrency: 100, queue: 100 });
    const held = [await limiter.acquire('a'), await limiter.acquire('b')];
    const waiting = [limiter.acquire('a'), limiter.acquire('b')];
    const refused = await refusedBy(limiter.acquire('c'));
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(refused!.message).toMatch(/the host is overloaded: 2 calls running and 2 queued/);
    expect(refused!.retryAfterSeconds).toBe(DEFAULT_RETRY_AFTER_S);
    for (const release of held) release();
    for (const release of await Promise.all(waiting)) release();
    expect(limiter.load()).toEqual({ running: 0, queued: 0 });
  });

  it('gives a freed host slot to the oldest waiter whose function is under its cap', async () => {
    const limiter = new Limiter({ maxCalls: 2, maxQueuedCalls: 10, share: 0.5, concurrency: 100, queue: 100 });
    const a1 = await limiter.acquire('a');
    const b1 = await limiter.acquire('b');
    const order: string[] = [];
    const a2 = limiter.acquire('a').then((release) => (order.push('a2'), release));
    const c1 = limiter.acquire('c').then((release) => (order.push('c1'), release));
    b1(); // frees a host slot: `a` is at its cap of 1, so `c` (queued later) runs first
    (await c1)();
    expect(order).toEqual(['c1']);
    a1();
    (await a2)();
    expect(order).toEqual(['c1', 'a2']);
    expect(limiter.load()).toEqual({ running: 0, queued: 0 });
  });
});
