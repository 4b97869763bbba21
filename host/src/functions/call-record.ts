/**
 * @module functions/call-record
 * What one call leaves behind for the pipeline's `meter` and `log` steps: who ran, how it ended,
 * what it cost, and what the guest wrote. The usage meter (usage.ts) and the per-function log
 * (logs.ts) read it; neither sees the engine or the HTTP request.
 */

/** `cold`: this call loaded the component; `warm`: it was loaded already. */
export type StartKind = 'warm' | 'cold';

export interface CallRecord {
  /** The function's name. */
  name: string;
  /** The version that ran (0 when none was resolved: the function went while the body arrived). */
  version: number;
  invocationId: string;
  /** When the call started (after its body arrived), Unix milliseconds. */
  startedAt: number;
  /** The HTTP status the call was answered with. */
  status: number;
  /** `ok`, or the error code it was answered with. */
  code: string;
  /** Undefined when the call never reached the load step. */
  start?: StartKind;
  /** Microseconds from the start (after the body arrived) to the answer being ready: load, run and mapping. */
  wallUs: number;
  /** Microseconds the guest ran, as its engine measured it; the host's wall time when the engine reported none (a failed call). */
  durationUs: number;
  /** Highest memory the guest reached, when the engine reported it (successful calls). */
  peakMemoryBytes?: number;
  /** The memory quota the call ran under. */
  memoryQuotaBytes: number;
  /** Fuel the call used, when fuel metering was on. */
  fuelUsed?: number;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
}
