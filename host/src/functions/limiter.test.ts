import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../errors.js';
import { DEFAULT_RETRY_AFTER_S } from '../limits.js';
import { Limiter } from './limiter.js';

describe('Limiter', () => {
  it('refuses past its slots and queue with overloaded and a Retry-After hint', async () => {
    const limiter = new Limiter('f', 1, 0);
    const release = await limiter.acquire();
    const refused = await limiter.acquire().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OverloadedError);
    expect((refused as OverloadedError).retryAfterSeconds).toBe(DEFAULT_RETRY_AFTER_S);
    release();
    const again = await limiter.acquire();
    again();
    expect(limiter.load).toEqual({ running: 0, queued: 0 });
  });

  it('hands a released slot to the first waiter, and a second release gives back nothing', async () => {
    const limiter = new Limiter('f', 1, 2);
    const first = await limiter.acquire();
    const order: string[] = [];
    const a = limiter.acquire().then((release) => (order.push('a'), release));
    const b = limiter.acquire().then((release) => (order.push('b'), release));
    expect(limiter.load).toEqual({ running: 1, queued: 2 });
    first();
    first();
    const releaseA = await a;
    expect(order).toEqual(['a']);
    expect(limiter.load).toEqual({ running: 1, queued: 1 });
    releaseA();
    (await b)();
    expect(order).toEqual(['a', 'b']);
    expect(limiter.load).toEqual({ running: 0, queued: 0 });
  });
});
