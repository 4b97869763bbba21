//! The objects that cross the napi boundary, in the shapes `host/src/engine/wasmtime/native.ts`
//! declares. napi-rs turns the snake_case fields into camelCase properties; `None` fields are
//! left out.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

/// Options of `new NativeEngine(…)`. Only `maxMemoryBytes` is required.
#[napi(object)]
pub struct EngineOptions {
    /// Ceiling on any one linear memory; each pool slot reserves this much address space.
    pub max_memory_bytes: f64,
    /// Compile fuel metering in (slower calls); needed for per-call `fuel` limits.
    pub fuel: Option<bool>,
    pub epoch_tick_ms: Option<u32>,
    /// `false`: on-demand allocation only (no pool).
    pub pooling: Option<bool>,
    pub pool_component_instances: Option<u32>,
    pub pool_core_instances: Option<u32>,
    pub pool_memories: Option<u32>,
    pub pool_tables: Option<u32>,
    pub pool_table_elements: Option<u32>,
    pub max_wasm_stack_bytes: Option<u32>,
    /// Leave wasmtime's signal handlers on (default); `false` traps by explicit checks only.
    pub signals_based_traps: Option<bool>,
    /// Worker threads of each executor runtime (default: one per core). The runtimes are
    /// process-wide: the first engine that runs a call sizes them.
    pub executor_threads: Option<u32>,
    /// `cranelift` (default: optimised code, 6-10 s for a 12-18 MB component) or `winch` (a
    /// baseline compiler, 4-5x faster to compile, slower code): the fast tier of a tiered start.
    pub compiler: Option<String>,
}

/// Limits of one call.
#[napi(object)]
pub struct NativeCallLimits {
    pub timeout_ms: f64,
    pub memory_bytes: f64,
    pub fuel: Option<f64>,
    /// Largest `ok` output accepted; absent means no limit.
    pub max_output_bytes: Option<f64>,
    /// Run the call on the JS thread for at least this long (up to one epoch tick more) before it
    /// moves to the executor; absent or 0: straight to the executor.
    pub inline_budget_ms: Option<f64>,
    /// Reuse a warm instance of this pool (the function's name; pools are per component, so an
    /// instance never serves two functions). Absent: a fresh instance for this call only.
    pub reuse_pool: Option<String>,
    /// The guest's environment as `KEY=VALUE` strings (wasi:cli/environment); absent: empty.
    /// Read when a store is made, so a warm instance keeps the one it was made with.
    pub env: Option<Vec<String>>,
    /// Hosts outbound HTTP may reach (the function's `outbound` setting: names, `*.suffix`,
    /// `host:port`, or `*`); absent: none. Function calls (`*.wafer.internal`) are not governed by it.
    pub outbound: Option<Vec<String>>,
    /// How deep in a chain of function calls this call is; absent: 0 (called from outside).
    pub depth: Option<u32>,
}

#[napi(object)]
pub struct NativeLoadResult {
    pub ok: bool,
    /// `memory` | `disk` | `compiled` when ok.
    pub source: Option<String>,
    pub ms: f64,
    /// `invalid_component` | `abi_mismatch` | `needs_bytes` | `internal` when not ok.
    pub error_kind: Option<String>,
    pub message: Option<String>,
    /// Set when a corrupt or incompatible cache file was deleted on the way.
    pub discarded: Option<String>,
    /// Set when the compiled artifact could not be written to disk (the load still succeeded).
    pub cache_error: Option<String>,
    /// False when the component was too large for the pool and runs with on-demand allocation.
    pub pooled: bool,
}

#[napi(object)]
pub struct NativeCallResult {
    pub ok: bool,
    pub output: Option<Buffer>,
    /// `timeout` | `memory_limit` | `out_of_fuel` | `trap` | `function_error` | `overloaded` |
    /// `bad_response` | `not_loaded` | `internal`.
    pub error_kind: Option<String>,
    pub message: Option<String>,
    /// Absent when the guest wrote nothing (saves two buffer allocations per call).
    pub stdout: Option<Buffer>,
    pub stderr: Option<Buffer>,
    pub duration_us: f64,
    pub fuel_used: Option<f64>,
    pub peak_memory_bytes: f64,
    /// The call ran on a warm instance of its pool (`reusePool`), not a fresh one.
    pub reused: bool,
}

/// One event of a streamed call's response (stream.rs): `head` (status, headers as flat
/// name/value latin1 strings, the declared content length if any) or `data` (a chunk).
#[napi(object)]
pub struct NativeStreamEvent {
    pub kind: String,
    pub status: Option<u32>,
    pub headers: Option<Vec<String>>,
    pub content_length: Option<f64>,
    /// `data`: the chunk; `head`: the start of the body, when it was already written.
    pub chunk: Option<Buffer>,
    /// `head`: the body was complete with `chunk` (no `data` follows).
    pub complete: Option<bool>,
}

#[napi(object)]
pub struct NativeStats {
    pub compiled: f64,
    pub loaded_from_disk: f64,
    pub loaded_from_memory: f64,
    pub instances_created: f64,
    /// Calls that ran on a warm instance taken from a pool (`instance=reuse`).
    pub instances_reused: f64,
    pub loaded: f64,
    /// Warm instances held idle now (`instance=reuse`), process-wide: every engine of the process shares one bound.
    pub instances_idle: f64,
}
