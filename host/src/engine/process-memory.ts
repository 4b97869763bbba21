/**
 * @module engine/process-memory
 * Reads a child process's resident memory, for the compile and transpile memory ceilings. Linux
 * only (`/proc/<pid>/status`); elsewhere it answers undefined and only the time limit applies.
 */
import { readFile } from 'node:fs/promises';

/** How often a compiling child's resident memory is read. */
export const RSS_POLL_MS = 25;

/** Resident memory of a process in bytes, or undefined when it cannot be read. */
export async function residentBytes(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
