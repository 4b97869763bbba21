/**
 * @module registry/registry
 * The function store, behind one interface so a distributed store can replace the embedded
 * data directory later. It knows names, versions and blobs; it never imports an engine.
 */

/** Per-function quotas, fixed at upload. */
export interface FunctionLimits {
  timeoutMs: number;
  memoryBytes: number;
}

/** One immutable uploaded version of a function. */
export interface FunctionVersion {
  name: string;
  /** 1, 2, 3, … per name; never reused, even after a delete. */
  version: number;
  /** sha256 hex of the component bytes; the blob's address. */
  digest: string;
  size: number;
  limits: FunctionLimits;
  createdAt: string;
}

/** A blob written to the store but not yet published under a name. */
export interface StagedBlob {
  digest: string;
  size: number;
  /** Reads the staged bytes. */
  read(): Promise<Uint8Array>;
  /** Moves the blob into the content-addressed store (idempotent). */
  commit(): Promise<void>;
  /** Forgets the staged bytes; the store is unchanged. */
  discard(): Promise<void>;
}

export interface Registry {
  /** Streams an upload into a staging area, hashing as it goes; rejects past `maxBytes`. */
  stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob>;
  /** Reads a committed blob. */
  readBlob(digest: string): Promise<Uint8Array>;
  /** Records a new version of `name` pointing at a committed blob, atomically. */
  publish(name: string, blob: { digest: string; size: number }, limits: FunctionLimits): Promise<FunctionVersion>;
  /** The current version of every function. */
  list(): Promise<FunctionVersion[]>;
  /** The current version of `name`, if deployed. */
  get(name: string): Promise<FunctionVersion | undefined>;
  /** Removes `name`; resolves false if it was not deployed. */
  remove(name: string): Promise<boolean>;
}
