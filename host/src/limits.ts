/**
 * @module limits
 * Every limit and default in one place, each with the reason for its value.
 * Config (file → WAFER_* env → flags) overrides these once at start-up; nothing else hard-codes them.
 */

const MiB = 1024 * 1024;

/** A call that runs longer than this is cut off with `timeout`: generous for a function, short for a stuck loop. */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** No function may ask for more wall time than this per call. */
export const MAX_TIMEOUT_MS = 60_000;
/** Linear memory per instance: JavaScript and Python runtimes need tens of MiB; 256 leaves room. */
export const DEFAULT_MEMORY_BYTES = 256 * MiB;
/**
 * How a function's calls get their instance (`PUT ?instance=`): `fresh` builds one per call (no
 * state survives a call), `reuse` keeps warm instances per function (memory, globals and WASI
 * state survive between calls; see README.md, deploy). Records without it read as this.
 */
export const DEFAULT_INSTANCE_MODE = 'fresh' as const;
/** No function may ask for more memory than this; the pooling allocator reserves address space for it. */
export const MAX_MEMORY_BYTES = 1024 * MiB;
/** Upload size cap: the largest guests (Python) are ~40 MiB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * MiB;
/** Request body cap for invocations: 16 MiB keeps a call's envelope comfortably in memory. */
export const DEFAULT_MAX_REQUEST_BYTES = 16 * MiB;
/** Guest output cap: a `Response` larger than this is refused with `bad_response`. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * MiB;
/** Captured stdout/stderr per call; the rest is dropped, never buffered. */
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024;
/** Calls running at once per function: two cores run at most two guests usefully; a few more hide I/O. */
export const DEFAULT_MAX_CONCURRENCY = 8;
/** Calls waiting per function beyond the running ones; past this the host answers `overloaded`. */
export const DEFAULT_MAX_QUEUE = 64;
/**
 * Calls running at once, host-wide. Calls are CPU-bound and the machine has 2 cores: 16 keeps
 * both busy while some calls wait on WASI or their body, and bounds memory to 16 live instances.
 */
export const DEFAULT_MAX_CALLS = 16;
/** Calls waiting host-wide beyond the running ones: ~16 rounds of slots, a second or two of short calls. */
export const DEFAULT_MAX_QUEUED_CALLS = 256;
/** The fraction of the host-wide running and queued slots one function may hold: half leaves the rest room. */
export const DEFAULT_CALL_SHARE = 0.5;
/** Functions loaded at once in the background at start: loads are mostly disk and CPU, and there are 2 cores. */
export const DEFAULT_WARM_CONCURRENCY = 2;
/** Compiled code kept loaded, in bytes (jco: capped core wasm; wasmtime: compiled artifacts, engine/wasmtime/resident.ts); the on-disk cache backs the rest. */
export const DEFAULT_MODULE_CACHE_BYTES = 512 * MiB;
/** Where `wafer serve` listens with no flags: loopback only, so nothing is exposed by default. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

// ---- Hardening (issue 8): every size and time at the edge is bounded. ----

/** Request headers must arrive whole within this: a slowloris client is cut off, a real one needs milliseconds. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** A whole request (headers and body, uploads included) must arrive within this: 64 MiB at ~1 MiB/s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/** An idle keep-alive connection is closed after this (longer than common proxies' 60 s). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * After answering a request whose body it did not read (413, 404, 401, 503), the host reads and
 * discards what the client still sends for up to this long before closing, so the client reads
 * the answer instead of a reset. Bounded in time and bytes (below).
 */
export const DEFAULT_LINGER_MS = 5_000;
/** Bytes discarded while lingering; a client still sending past this has its connection closed. */
export const DEFAULT_LINGER_BYTES = 64 * MiB;
/** Open client connections the host holds at once; past this Node accepts new ones and closes them at once. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Versions of a function kept (blobs and compiled artifacts); older ones are collected. */
export const DEFAULT_KEEP_VERSIONS = 10;
/** A compile or transpile taking longer than this is stopped and the upload refused (Cranelift takes ~10 s for 18 MB). */
export const DEFAULT_COMPILE_TIMEOUT_MS = 120_000;
/** Compiles and transpiles running at once, host-wide; the rest wait, so a burst cannot start one per function. */
export const DEFAULT_COMPILE_CONCURRENCY = 1;
/**
 * Tiered start (wasmtime): an upload at least this large is compiled by Winch first, answered and
 * served at once, and compiled by Cranelift in the background (one at a time, at lower priority);
 * calls move to the Cranelift build between calls. Smaller uploads compile with Cranelift in well
 * under a second and skip the fast tier. 0 turns tiered start off.
 */
export const DEFAULT_TIERED_START_BYTES = 1 * MiB;
/** Nice value of the background (tier-up) compile processes. */
export const BACKGROUND_COMPILE_NICE = 10;
/** Memory a compile or transpile may use before it is stopped. */
export const DEFAULT_COMPILE_MEMORY_BYTES = 2048 * MiB;
/** Validating an upload's types takes milliseconds; anything slower is hostile. */
export const DEFAULT_VALIDATE_TIMEOUT_MS = 15_000;
/** JS heap of the validator's worker: the WIT text of the largest guests is well under a MiB. */
export const DEFAULT_VALIDATE_HEAP_BYTES = 256 * MiB;
/** Seconds a client is told to wait (`Retry-After`) after `overloaded`. */
export const DEFAULT_RETRY_AFTER_S = 1;

// ---- Versions and aliases (issue 10). ----

/** A JSON body of the management API (an alias): a few hundred bytes in practice; 64 KiB is generous and still cheap to parse. */
export const DEFAULT_MAX_JSON_BYTES = 64 * 1024;
/** Aliases per function: each keeps its versions from collection, so their number is bounded. */
export const MAX_ALIASES = 32;
/** Versions one alias may split calls between: a canary needs two; a few more allow staged rollouts. */
export const MAX_ALIAS_TARGETS = 8;
/** Largest weight of one version in an alias: weights are relative, so this only keeps sums finite and exact. */
export const MAX_ALIAS_WEIGHT = 1_000_000;

// ---- Logs and usage (issue 10). ----

/**
 * Guest output kept on disk per function (all its log segments together): a few thousand calls'
 * worth of ordinary output, and 64 flooding calls at the 64 KiB capture cap. Older segments go first.
 */
export const DEFAULT_FUNCTION_LOG_BYTES = 4 * MiB;
/** Log segments per function's cap: the oldest quarter goes at once when the cap is passed, not line by line. */
export const LOG_SEGMENTS_PER_CAP = 4;
/** Log entries wait this long in memory so a busy function's are written in one batch (followers see them at once; a crash loses at most this much more). */
export const LOG_WRITE_DELAY_MS = 100;
/** Entries one GET …/logs answers when `limit` is not given. */
export const DEFAULT_LOG_LIMIT = 100;
/** Most entries one GET …/logs answers (`limit` above this is refused): at most a few MiB of JSON. */
export const MAX_LOG_LIMIT = 1_000;
/** Open `?follow=1` streams, host-wide: each holds a connection and a listener; past this, 503 overloaded. */
export const MAX_LOG_FOLLOWERS = 64;
/** A following stream sends a comment this often, so proxies keep it open and a gone client is noticed. */
export const LOG_HEARTBEAT_MS = 15_000;
/** Usage counters are written to the data directory this often (and at close): a crash loses at most this much metering. */
export const DEFAULT_USAGE_FLUSH_MS = 10_000;
/** Minute buckets kept: a day answers "what happened in the last hours" to the minute. */
export const USAGE_MINUTE_RETENTION_MS = 24 * 3_600_000;
/** Hour buckets kept: 90 days covers a billing period and the one before it. */
export const USAGE_HOUR_RETENTION_MS = 90 * 24 * 3_600_000;

// ---- Per-function settings (issue 10). ----

/** Whether invoking a function needs a token (`invoke_auth`): none, as before the setting existed. */
export const DEFAULT_INVOKE_AUTH = 'none' as const;
/** Most fuel one call may be given: ~10^12 wasm instructions is minutes of CPU, past any time quota. */
export const MAX_FUEL = 1_000_000_000_000;
/** Environment variables per function: a dozen is typical; 64 bounds what every store is built with. */
export const MAX_ENV_VARS = 64;
/** An environment variable's name: what POSIX shells accept, bounded. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** One environment value, in UTF-8 bytes: a key, a URL or a small certificate fits. */
export const MAX_ENV_VALUE_BYTES = 4 * 1024;
/** All names and values together, in UTF-8 bytes: copied into every call's store, so kept small. */
export const MAX_ENV_BYTES = 32 * 1024;
/** Invoke tokens per function: one per client or environment, and each costs a hash compare per call. */
export const MAX_INVOKE_TOKENS = 32;
/** A token's label, in characters: a name for people, not a place for data. */
export const MAX_TOKEN_LABEL_CHARS = 128;

// ---- Outbound HTTP and function calls (issue 11). ----

/** Host patterns in a function's `outbound` setting: a short allow-list, checked on every outbound request. */
export const MAX_OUTBOUND_HOSTS = 32;
/**
 * One `outbound` pattern: `*`, or a host name (optionally `*.` for any subdomain), an IPv4
 * address or a bracketed IPv6 address, with an optional `:port`. Lower case.
 */
export const OUTBOUND_PATTERN = /^(\*|(\*\.)?[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*(:[0-9]{1,5})?|\[[0-9a-f:.]{2,45}\](:[0-9]{1,5})?)$/;
/**
 * How deep a chain of function calls (`http://{fn}.wafer.internal`, the ABI 1.1 `invoke`) may go:
 * a call at this depth calling again is answered 508 `loop_detected`, which stops cycles long
 * before their deadlines would. Each level holds a slot and an instance while it waits.
 */
export const MAX_CALL_DEPTH = 8;
/** The host name suffix of function calls: `http://{fn}.wafer.internal/…` calls function `fn` in-process. */
export const INTERNAL_HOST_SUFFIX = '.wafer.internal';

// ---- Triggers (issue 12). ----

/** Triggers per function: each is a timer or a consumer the host keeps running, so their number is bounded. */
export const MAX_TRIGGERS = 16;
/** A cron schedule's length: five or six fields, or a nickname, never needs more. */
export const MAX_CRON_SCHEDULE_CHARS = 128;
/** The time zone a cron trigger's schedule is read in when the trigger names none. */
export const DEFAULT_CRON_TIMEZONE = 'UTC';
/** A NATS subject's length: routing keys, not data; the server itself is fine with far longer. */
export const MAX_SUBJECT_CHARS = 256;
/** Attempts of one queue message before it goes to the dead-letter subject: a few retries ride out a redeploy. */
export const DEFAULT_QUEUE_MAX_DELIVER = 5;
/** Most attempts a trigger may ask for: each is a call, so a poison message costs at most this many. */
export const MAX_QUEUE_MAX_DELIVER = 100;
/** Wait before each retry of a failed message (the last value repeats): quick first, then backing off. */
export const DEFAULT_QUEUE_BACKOFF_MS: readonly number[] = [1_000, 5_000, 30_000];
/** Values in `backoff_ms`, and the longest wait one may ask for (an hour). */
export const MAX_QUEUE_BACKOFF_STEPS = 10;
export const MAX_QUEUE_BACKOFF_MS = 3_600_000;
/** Messages of one queue trigger processed at once on one host: the function's own concurrency limit bounds it too. */
export const DEFAULT_QUEUE_CONCURRENCY = 4;
export const MAX_QUEUE_CONCURRENCY = 64;
/**
 * How long a host owns a queue message it holds before JetStream gives it to another host: a
 * host killed mid-batch loses its messages to the others after this. The host tells JetStream
 * it is still working every third of it, so a call may take longer (up to its time quota).
 */
export const QUEUE_ACK_WAIT_MS = 10_000;
/** Cron leases (which host runs a tick) are kept this long in the cluster's KV bucket, then expire. */
export const CRON_LEASE_TTL_MS = 3_600_000;
/** How often the trigger runner compares what runs with the triggers the registry holds (changes also apply at once). */
export const TRIGGER_RECONCILE_MS = 2_000;
