/**
 * @module functions/metrics
 * Prometheus metrics for GET /metrics: calls by function and outcome, call durations,
 * and the engine's load counters.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import type { Engine } from '../engine/engine.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'function' | 'outcome'>;
  private readonly duration: Histogram<'function'>;
  private readonly uploads: Counter<'outcome'>;

  constructor(engine: Engine) {
    collectDefaultMetrics({ register: this.registry });
    this.calls = new Counter({
      name: 'wafer_calls_total',
      help: 'Function calls by outcome (ok or an error code).',
      labelNames: ['function', 'outcome'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'wafer_call_duration_seconds',
      help: 'Guest run time per call, as measured by the engine.',
      labelNames: ['function'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    this.uploads = new Counter({
      name: 'wafer_uploads_total',
      help: 'Uploads by outcome (ok or an error code).',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'wafer_engine_events',
      help: 'Engine counters: compiled, loaded from disk or memory, instances created, ...',
      labelNames: ['engine', 'event'],
      registers: [this.registry],
      collect() {
        for (const [event, value] of Object.entries(engine.stats())) this.set({ engine: engine.name, event }, value);
      },
    });
  }

  call(fn: string, outcome: string, durationUs?: number): void {
    this.calls.inc({ function: fn, outcome });
    if (durationUs !== undefined) this.duration.observe({ function: fn }, durationUs / 1e6);
  }

  upload(outcome: string): void {
    this.uploads.inc({ outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
