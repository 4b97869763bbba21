/**
 * @module functions/metrics
 * Prometheus metrics for GET /metrics: calls by function and outcome, call durations,
 * and the engine's load counters.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import type { Engine } from '../engine/engine.js';

interface Series {
  calls: Map<string, Counter.Internal>;
  duration: Histogram.Internal<'function'>;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'function' | 'outcome'>;
  private readonly duration: Histogram<'function'>;
  private readonly uploads: Counter<'outcome'>;
  private readonly series = new Map<string, Series>();

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
    const series = this.seriesOf(fn);
    let counter = series.calls.get(outcome);
    if (counter === undefined) {
      counter = this.calls.labels({ function: fn, outcome });
      series.calls.set(outcome, counter);
    }
    counter.inc();
    if (durationUs !== undefined) series.duration.observe(durationUs / 1e6);
  }

  /**
   * The labelled series of `fn`, looked up once: prom-client otherwise hashes the label set on
   * every `inc` and `observe`, once per call on the invoke path. The children stay valid since
   * no series is ever removed or reset here.
   */
  private seriesOf(fn: string): Series {
    let series = this.series.get(fn);
    if (series === undefined) {
      series = { calls: new Map(), duration: this.duration.labels({ function: fn }) };
      this.series.set(fn, series);
    }
    return series;
  }

  upload(outcome: string): void {
    this.uploads.inc({ outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
