//! One call of `handle`: a fresh `Store` from the cached `InstancePre` (or a warm one, reuse.rs), WASI sandboxed, limits
//! applied, and the outcome sorted into wafer's closed set of reasons.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{ComponentExportIndex, Instance, InstancePre, ResourceTable};
use wasmtime::{Engine, PoolConcurrencyLimitError, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::engines::Engines;
use crate::outbound::{CallContext, Outbound};
use crate::pipe::CappedPipe;
use crate::stream::Io;
use crate::reuse::{Pools, Warm, DEFAULT_KEEP_RESIDENT_BYTES, DEFAULT_REUSE_CALLS};
use crate::world::{Answer, World};

/// Captured stdout/stderr per call; the rest is dropped (limits.ts `DEFAULT_MAX_LOG_BYTES`).
pub const LOG_CAP: usize = 64 * 1024;
/// Table growth ceiling per table; the pool's `table_elements` bounds pooled tables anyway.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;
/// Bytes one table element costs the host: a funcref slot is one pointer. Table growth is
/// charged at this rate against the same quota as linear memory.
pub const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();
/// A guest's `err(message)` is cut to this many bytes (the rest is never copied out).
pub const ERROR_MESSAGE_CAP: usize = 64 * 1024;

/// Per-store data: WASI state plus the memory accountant. The limiter stays a plain
/// `ResourceLimiter` under async calls: it only does arithmetic, never waits, so it has no use
/// for `ResourceLimiterAsync`.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    /// wasi:http state (the http world only uses it; cheap to build for every store).
    http: WasiHttpCtx,
    hooks: Outbound,
}

impl State {
    /// What the running call's outbound requests and function calls may do (outbound.rs).
    pub fn outbound_call(&self) -> &CallContext {
        &self.hooks.call
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Raised by the limiter so the outcome is `memory_limit`, not a generic trap.
#[derive(Debug)]
pub struct MemoryLimitExceeded {
    pub quota: usize,
    pub requested: usize,
}

impl fmt::Display for MemoryLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "guest memory would grow to {} bytes, over its quota of {} bytes",
            self.requested, self.quota
        )
    }
}

impl std::error::Error for MemoryLimitExceeded {}

/// Enforces one quota over everything a guest can grow, the sum of all linear memories and all
/// tables (elements x `TABLE_ELEMENT_BYTES`), and records the peak.
struct Limiter {
    quota: usize,
    total: usize,
    peak: usize,
    /// The last growth allowed, undone if wasmtime then fails to perform it.
    pending: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|m| desired > m) {
            // Beyond the memory's own declared maximum: `memory.grow` fails normally (-1).
            return Ok(false);
        }
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.quota {
            return Err(wasmtime::Error::new(MemoryLimitExceeded { quota: self.quota, requested: total }));
        }
        self.pending = desired.saturating_sub(current);
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.total = self.total.saturating_sub(self.pending);
        self.pending = 0;
        Ok(())
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|m| desired > m) {
            // Beyond the table's own declared maximum: `table.grow` fails normally (-1).
            return Ok(false);
        }
        let grown = desired.saturating_sub(current).saturating_mul(TABLE_ELEMENT_BYTES);
        let total = self.total.saturating_add(grown);
        // Past the quota, or past the host's cap on one table: the guest asked for more memory
        // than it may have, so the outcome is `memory_limit` (also at instantiation, where a
        // refused table would otherwise surface as an opaque instantiation error).
        if total > self.quota || desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(MemoryLimitExceeded { quota: self.quota, requested: total }));
        }
        self.pending = grown;
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.total = self.total.saturating_sub(self.pending);
        self.pending = 0;
        Ok(())
    }
}

/// What a call asks for.
pub struct Limits {
    pub timeout_ms: u64,
    pub memory_bytes: usize,
    pub fuel: Option<u64>,
    /// Largest `ok` output accepted; longer output is refused before it reaches JavaScript.
    pub max_output_bytes: usize,
    /// The guest's environment (wasi:cli/environment), set when its store is made: a warm
    /// instance keeps the environment it was made with, so a pool must serve one environment.
    pub env: Vec<(String, String)>,
    /// Outbound HTTP and function calls (outbound.rs); its `deadline` is set when the call starts.
    pub outbound: CallContext,
}

/// The closed set of ways a call can fail, as the TS side names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    MemoryLimit,
    OutOfFuel,
    Trap,
    FunctionError,
    /// The key is not loaded (never loaded, unloaded, or the engine was closed).
    NotLoaded,
    /// Every instance slot of the pooling allocator is taken: retry later.
    Overloaded,
    /// The guest's output is over the call's `max_output_bytes`.
    BadResponse,
    /// The host could not run the call at all.
    Internal,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::MemoryLimit => "memory_limit",
            Failure::OutOfFuel => "out_of_fuel",
            Failure::Trap => "trap",
            Failure::FunctionError => "function_error",
            Failure::NotLoaded => "not_loaded",
            Failure::Overloaded => "overloaded",
            Failure::BadResponse => "bad_response",
            Failure::Internal => "internal",
        }
    }
}

pub struct Outcome {
    pub result: Result<Vec<u8>, (Failure, String)>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub duration_us: f64,
    pub fuel_used: Option<u64>,
    pub peak_memory_bytes: usize,
    /// The call ran on a warm instance taken from its pool (no instantiation).
    pub reused: bool,
}

/// A loaded component, ready to instantiate.
pub struct Loaded {
    /// Keeps the epoch ticker alive while any call of this component is in flight.
    pub engines: Arc<Engines>,
    pub engine: Engine,
    pub pre: InstancePre<State>,
    /// The world the component runs as, and the export its calls enter by (world.rs).
    pub world: World,
    pub entry: ComponentExportIndex,
    pub fuel_enabled: bool,
    /// Set when the on-demand engine had to take a component too large for the pool.
    pub pooled: bool,
    /// Idle instances kept for `instance=reuse` functions of this component (reuse.rs).
    pub pools: Arc<Pools>,
}

fn classify(err: &wasmtime::Error, limits: &Limits) -> (Failure, String) {
    // A full pool: no instance slot, or (between instantiating and calling, which each take a
    // fiber stack) no free stack.
    if err.downcast_ref::<PoolConcurrencyLimitError>().is_some() {
        return (Failure::Overloaded, format!("no free instance slot: {err}"));
    }
    if let Some(m) = err.downcast_ref::<MemoryLimitExceeded>() {
        return (Failure::MemoryLimit, m.to_string());
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => timed_out(limits),
        Some(Trap::OutOfFuel) => (Failure::OutOfFuel, "guest ran out of fuel".to_string()),
        Some(trap) => (Failure::Trap, trap.to_string()),
        None => (Failure::Trap, format!("{err:#}")),
    }
}

/// A call that has run this long (wall clock, from its start) is moved to the executor's
/// low-priority threads at its next epoch tick; see executor.rs.
pub const LONG_CALL: Duration = Duration::from_millis(5);

fn timed_out(limits: &Limits) -> (Failure, String) {
    (Failure::Timeout, format!("guest ran past its time limit of {} ms", limits.timeout_ms))
}

/// Where a call's instance comes from: a fresh store (`instance=fresh`), or the pool of a
/// function (`instance=reuse`) with the idle instance taken from it, if there was one.
pub enum Reuse {
    Fresh,
    Pool { name: String, warm: Option<Warm> },
}

/// A fresh store with its own capture pipes, WASI sandboxed, no instance yet.
fn fresh_store(loaded: &Loaded, memory_bytes: usize, env: &[(String, String)]) -> (Store<State>, CappedPipe, CappedPipe) {
    let stdout = CappedPipe::new(LOG_CAP);
    let stderr = CappedPipe::new(LOG_CAP);
    let mut wasi = WasiCtx::builder();
    wasi.stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .envs(env);
    let state = State {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limiter: Limiter { quota: memory_bytes, total: 0, peak: 0, pending: 0 },
        http: WasiHttpCtx::new(),
        hooks: Outbound { stderr: stderr.clone(), call: CallContext::default() },
    };
    let mut store = Store::new(&loaded.engine, state);
    store.limiter(|s| &mut s.limiter);
    (store, stdout, stderr)
}

/// Runs one call, in a fresh store or a reused one. Never panics on guest behaviour; every
/// failure is an `Outcome`.
///
/// The returned future is the whole call: it yields at every epoch tick (so the executor can
/// run other calls, and a long call can be moved), awaits WASI calls that block (a sleep, a
/// poll), and ends at `timeout_ms` of wall clock either way: in guest code through the epoch
/// callback (a `Trap::Interrupt`), in a blocked WASI call through `timeout_at`, which drops the
/// call mid-flight. A fresh store is dropped after the call; a reused one goes back to its pool
/// only after an `ok` or `function_error` call (reuse.rs). `long` is raised the first
/// time the call yields after running `LONG_CALL`; `first_ticks` is how many epoch ticks the
/// call may run before its first yield (the inline budget on the JS thread). `io`: a streamed
/// call's channels (stream.rs; the http world only), whose `ok` output is then empty.
pub async fn run(loaded: Arc<Loaded>, input: impl AsRef<[u8]>, limits: Limits, first_ticks: u64, long: Arc<AtomicBool>, reuse: Reuse, io: Option<Io>) -> Outcome {
    let started = Instant::now();
    let deadline = started + Duration::from_millis(limits.timeout_ms);
    let (pool, warm) = match reuse {
        Reuse::Fresh => (None, None),
        Reuse::Pool { name, warm } => (Some(name), warm),
    };
    // A warm instance already over this call's quota is dropped: the call runs fresh.
    let warm = warm.filter(|w| w.store.data().limiter.total <= limits.memory_bytes);
    let reused = warm.is_some();
    let (mut store, stdout, stderr, mut instance, calls) = match warm {
        Some(w) => (w.store, w.stdout, w.stderr, Some(w.instance), w.calls),
        None => {
            let (store, stdout, stderr) = fresh_store(&loaded, limits.memory_bytes, &limits.env);
            (store, stdout, stderr, None, 0)
        }
    };
    {
        // Each call its own quota and peak; what the instance already holds counts against it.
        let limiter = &mut store.data_mut().limiter;
        limiter.quota = limits.memory_bytes;
        limiter.peak = limiter.total;
        limiter.pending = 0;
    }
    // This call's outbound rules and deadline, also on a warm instance made for an earlier call.
    store.data_mut().hooks.call = CallContext { deadline, ..limits.outbound.clone() };
    store.set_epoch_deadline(first_ticks.max(1));
    store.epoch_deadline_callback(move |_| {
        let now = Instant::now();
        if now >= deadline {
            return Ok(UpdateDeadline::Interrupt);
        }
        if now.duration_since(started) >= LONG_CALL {
            long.store(true, Ordering::Relaxed);
        }
        // tokio's `yield_now` (as wasmtime recommends under tokio) puts the call behind the
        // tasks already waiting and behind the I/O and timers the worker has to poll.
        Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
    });
    let fuel_budget = limits.fuel.unwrap_or(u64::MAX);
    let mut internal = None;
    if loaded.fuel_enabled {
        if let Err(e) = store.set_fuel(fuel_budget) {
            internal = Some(format!("cannot set fuel: {e:#}"));
        }
    }
    let mut finished = true;
    let result = match internal {
        Some(msg) => Err((Failure::Internal, msg)),
        None => match tokio::time::timeout_at(deadline.into(), invoke(&mut store, &mut instance, &loaded, input.as_ref(), &limits, io)).await {
            Ok(r) => r,
            Err(_) => {
                finished = false;
                Err(timed_out(&limits))
            }
        },
    };
    let duration_us = started.elapsed().as_secs_f64() * 1e6;

    // A call dropped mid-flight leaves its store fit only to be dropped: read nothing from wasmtime.
    let fuel_used = match (finished, loaded.fuel_enabled, limits.fuel) {
        (true, true, Some(_)) => store.get_fuel().ok().map(|left| fuel_budget.saturating_sub(left)),
        _ => None,
    };
    let peak_memory_bytes = store.data().limiter.peak;
    let out = Outcome {
        stdout: stdout.take(),
        stderr: stderr.take(),
        result,
        duration_us,
        fuel_used,
        peak_memory_bytes,
        reused,
    };
    let reusable = finished
        && matches!(&out.result, Ok(_) | Err((Failure::FunctionError, _)))
        && calls + 1 < DEFAULT_REUSE_CALLS
        && store.data().limiter.total <= limits.memory_bytes.min(DEFAULT_KEEP_RESIDENT_BYTES);
    match (pool, instance) {
        (Some(name), Some(instance)) if reusable => {
            loaded.pools.give(&name, Warm { store, instance, stdout, stderr, calls: calls + 1 });
        }
        _ => drop(store),
    }
    out
}

async fn invoke(store: &mut Store<State>, slot: &mut Option<Instance>, loaded: &Loaded, input: &[u8], limits: &Limits, io: Option<Io>) -> Result<Vec<u8>, (Failure, String)> {
    let instance = match *slot {
        Some(i) => i,
        None => {
            let mut first = loaded.pre.instantiate_async(&mut *store).await;
            // A full instance pool may be full of idle warm instances: free them and try once more.
            if first.as_ref().err().is_some_and(|e| e.downcast_ref::<PoolConcurrencyLimitError>().is_some()) && crate::reuse::drop_all_idle() > 0 {
                first = loaded.pre.instantiate_async(&mut *store).await;
            }
            let i = first.map_err(|e| {
                let (kind, msg) = classify(&e, limits);
                // A plain error out of instantiation (not a trap, not the quota) is the host's problem.
                if kind == Failure::Trap && e.downcast_ref::<Trap>().is_none() {
                    (Failure::Internal, format!("cannot instantiate: {msg}"))
                } else {
                    (kind, msg)
                }
            })?;
            *slot = Some(i);
            i
        }
    };
    let answer = loaded.world.enter(store, instance, &loaded.entry, input, limits.max_output_bytes, io).await.map_err(|e| (Failure::Internal, e))?;
    match answer {
        // The lift copied the output out of guest memory (bounded by the memory quota, since it
        // came from there); past the limit it is dropped here and never reaches JavaScript.
        Ok(Answer::Output(output)) if output.len() > limits.max_output_bytes => Err((
            Failure::BadResponse,
            format!("the guest's output is {} bytes, over the limit of {} bytes", output.len(), limits.max_output_bytes),
        )),
        Ok(Answer::Output(output)) => Ok(output),
        Ok(Answer::FunctionError(message)) => Err((Failure::FunctionError, truncate(&message, ERROR_MESSAGE_CAP))),
        Ok(Answer::BadResponse(message)) => Err((Failure::BadResponse, message)),
        Err(e) => Err(classify(&e, limits)),
    }
}

/// `text` cut to at most `cap` bytes, on a character boundary.
fn truncate(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_string();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
}
