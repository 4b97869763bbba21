/**
 * Settings reach the host from flags, `WAFER_*` variables and defaults, in that order, and a
 * value out of range is refused with a message that names it (config.ts). Checked here for the
 * executor's settings (issue 9) and the cluster URL (issue 12).
 */
import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../host/src/config.js';
import { DEFAULT_TIERED_START_BYTES, DEFAULT_WARM_CONCURRENCY } from '../../host/src/limits.js';

const MiB = 1024 * 1024;
const base = { dataDir: '/tmp/wafer-config-test' };

describe('executor settings', () => {
  it('default to one executor thread per core, two background loads and tiered start from 1 MiB', () => {
    const c = loadConfig(base, {});
    expect(c.executorThreads).toBe(0);
    expect(c.warmConcurrency).toBe(DEFAULT_WARM_CONCURRENCY);
    expect(c.tieredStartBytes).toBe(DEFAULT_TIERED_START_BYTES);
  });

  it('take flags over WAFER_* variables', () => {
    const env = { WAFER_EXECUTOR_THREADS: '3', WAFER_WARM_CONCURRENCY: '4', WAFER_TIERED_START_MB: '8' };
    expect(loadConfig(base, env)).toMatchObject({ executorThreads: 3, warmConcurrency: 4, tieredStartBytes: 8 * MiB });
    expect(loadConfig({ ...base, executorThreads: '1', warmConcurrency: '1', tieredStartBytes: '0' }, env)).toMatchObject({
      executorThreads: 1,
      warmConcurrency: 1,
      tieredStartBytes: 0,
    });
  });

  it.each([
    ['executorThreads', '-1', /executor threads/],
    ['executorThreads', '1.5', /executor threads/],
    ['warmConcurrency', '0', /warm concurrency/],
    ['tieredStartBytes', 'lots', /tiered start mb/],
  ])('refuses %s=%s', (key, value, message) => {
    expect(() => loadConfig({ ...base, [key]: value }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, [key]: value }, {})).toThrow(message);
  });
});

describe('the cluster setting', () => {
  it('is off by default, and read from WAFER_CLUSTER or --cluster (the flag wins)', () => {
    expect(loadConfig(base, {}).cluster).toBeUndefined();
    expect(loadConfig(base, { WAFER_CLUSTER: 'nats://10.0.0.5:4222' }).cluster).toBe('nats://10.0.0.5:4222');
    expect(loadConfig({ ...base, cluster: 'nats://a:4222, tls://b:4222' }, { WAFER_CLUSTER: 'nats://c:4222' }).cluster).toBe('nats://a:4222,tls://b:4222');
  });

  it('refuses anything but nats:// or tls:// URLs, naming the setting', () => {
    for (const bad of ['10.0.0.5:4222', 'http://a:4222', 'nats://', 'nats://a:4222,oops']) {
      expect(() => loadConfig({ ...base, cluster: bad }, {}), bad).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, cluster: bad }, {}), bad).toThrow(/invalid cluster/);
    }
  });
});
