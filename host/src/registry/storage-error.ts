/**
 * @module registry/storage-error
 * Turns an I/O failure of the data directory into the error a client sees: a full disk (or a
 * quota, or a file-size limit) is 507 `insufficient_storage`, anything else 500 `internal`.
 * The message names the errno code only, never a path of the host's disk.
 */
import { WaferError } from '../errors.js';

/** errno codes that mean "the store cannot hold more". */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** Wraps `err` (from storing `what`) as a `WaferError`; wafer's own errors pass through unchanged. */
export function storageError(err: unknown, what: string): WaferError {
  if (err instanceof WaferError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  if (FULL.has(code)) return new WaferError('insufficient_storage', 507, `no space left to store ${what} (${code})`, { cause: err });
  return new WaferError('internal', 500, `could not store ${what} (${code})`, { cause: err });
}
