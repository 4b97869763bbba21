//! wafer's wasmtime engine as a Node addon. `NativeEngine` loads components (memory → disk
//! artifact → compile) and calls `handle` in a fresh store per call. Loads run on the libuv
//! threadpool as napi `AsyncTask`s. Calls are async wasmtime calls: started on the JS thread
//! under a budget of about one epoch tick, then run to the end on the addon's own tokio
//! runtimes (executor.rs). Guest failures are results, not exceptions: every call answers
//! `{ ok, errorKind, … }`, synchronously or through a promise.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod call;
mod engines;
mod executor;
mod http;
mod inspect;
mod js;
mod load;
mod outbound;
mod pipe;
mod reuse;
mod stream;
mod world;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::{AsyncTask, Buffer, Either, Object};
use napi::{Env, Error, Result, Status, Task};
use napi_derive::napi;

use call::{Failure, Limits, Loaded, Outcome};
use executor::{panic_message, Call};
use engines::{EngineSettings, Engines};
use js::{EngineOptions, NativeCallLimits, NativeCallResult, NativeLoadResult, NativeStats};
use load::{LoadError, Source};
use world::World;

#[derive(Default)]
struct Counters {
    compiled: AtomicU64,
    loaded_from_disk: AtomicU64,
    loaded_from_memory: AtomicU64,
    instances_created: AtomicU64,
    instances_reused: AtomicU64,
}

struct Inner {
    /// `None` once closed; loaded components keep their own reference while calls run.
    engines: RwLock<Option<Arc<Engines>>>,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
    counters: Counters,
    /// Worker threads per executor runtime asked for (0: one per core); see `executor::runtimes`.
    executor_threads: usize,
    /// The host's invoke pipeline for function calls (`setInvoker`); none: they are refused.
    invoker: RwLock<Option<Arc<outbound::Invoker>>>,
}

impl Inner {
    fn engines(&self) -> Option<Arc<Engines>> {
        self.engines.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn get(&self, key: &str) -> Option<Arc<Loaded>> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }
}

/// A wasmtime engine configuration and the components loaded into it.
#[napi]
pub struct NativeEngine {
    inner: Arc<Inner>,
}

fn to_u64(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 { v.min(u64::MAX as f64) as u64 } else { 0 }
}

#[napi]
impl NativeEngine {
    #[napi(constructor)]
    pub fn new(options: EngineOptions) -> Result<Self> {
        let ceiling = to_u64(options.max_memory_bytes);
        if ceiling < 65_536 {
            return Err(Error::new(Status::InvalidArg, "maxMemoryBytes must be at least 64 KiB"));
        }
        let mut s = EngineSettings::with_ceiling(ceiling);
        s.fuel = options.fuel.unwrap_or(false);
        s.pooling = options.pooling.unwrap_or(true);
        s.signals_based_traps = options.signals_based_traps.unwrap_or(true);
        if let Some(v) = options.epoch_tick_ms { s.epoch_tick_ms = v.max(1); }
        if let Some(v) = options.pool_component_instances { s.pool_component_instances = v; }
        if let Some(v) = options.pool_core_instances { s.pool_core_instances = v; }
        if let Some(v) = options.pool_memories { s.pool_memories = v; }
        if let Some(v) = options.pool_tables { s.pool_tables = v; }
        if let Some(v) = options.pool_table_elements { s.pool_table_elements = v; }
        if let Some(v) = options.max_wasm_stack_bytes { s.max_wasm_stack_bytes = u64::from(v); }
        s.winch = match options.compiler.as_deref() {
            None | Some("cranelift") => false,
            Some("winch") => true,
            Some(other) => return Err(Error::new(Status::InvalidArg, format!("unknown compiler {other:?}: cranelift or winch"))),
        };
        let engines = engines::shared(&s)
            .map_err(|e| Error::new(Status::GenericFailure, format!("cannot create wasmtime engine: {e:#}")))?;
        Ok(NativeEngine {
            inner: Arc::new(Inner {
                engines: RwLock::new(Some(engines)),
                loaded: RwLock::new(HashMap::new()),
                counters: Counters::default(),
                executor_threads: options.executor_threads.unwrap_or(0) as usize,
                invoker: RwLock::new(None),
            }),
        })
    }

    /// Loads `key` from memory, the artifact at `cachePath`, or by compiling `bytes`, as a
    /// component of `world` (the name the host stores; absent: the handler world).
    #[napi(ts_return_type = "Promise<NativeLoadResult>")]
    pub fn load(&self, key: String, bytes: Option<Buffer>, cache_path: String, world: Option<String>) -> AsyncTask<LoadTask> {
        let world = World::from_name(world.as_deref());
        AsyncTask::new(LoadTask { inner: self.inner.clone(), key, bytes, cache_path: PathBuf::from(cache_path), world })
    }

    /// Calls `handle(input)` of a loaded component in a fresh store. The component is taken
    /// now, on the JS thread: an `unload` after this returns cannot pull it from under the call.
    ///
    /// With `limits.inlineBudgetMs` > 0 the call starts here, on the JS thread, and runs until
    /// its first epoch tick after about that budget: a call that ends by then answers with its
    /// result, synchronously (no thread hop). Otherwise (or a call still running, or blocked in
    /// WASI) the same call, never a second run of it, continues on the executor and the answer
    /// is a promise of the result.
    #[napi(ts_return_type = "NativeCallResult | Promise<NativeCallResult>")]
    pub fn call<'env>(
        &self,
        env: &'env Env,
        key: String,
        input: Buffer,
        limits: NativeCallLimits,
    ) -> Result<Either<NativeCallResult, Object<'env>>> {
        let rt = executor::runtimes(self.inner.executor_threads).map_err(|e| Error::new(Status::GenericFailure, e))?;
        let mut call = match start_call(&self.inner, &key, self.inner.get(&key), input, &limits, None) {
            Ok(call) => call,
            Err(out) => return Ok(Either::A(to_js(out))),
        };
        let budget = limits.inline_budget_ms.map_or(0, to_u64);
        if budget > 0 {
            if let Some(out) = call.poll_inline(rt) {
                return Ok(Either::A(to_js(out)));
            }
        }
        let (deferred, promise) = env.create_deferred::<NativeCallResult, Box<dyn FnOnce(Env) -> Result<NativeCallResult> + Send>>()?;
        executor::spawn(rt, call, move |out| deferred.resolve(Box::new(move |_| Ok(to_js(out)))));
        Ok(Either::B(promise))
    }

    /// Sets the function that runs function calls (`http://{fn}.wafer.internal`, the ABI 1.1
    /// `invoke`): it gets a `NativeInvokeRequest` on the JS thread and answers, whenever it is
    /// done, with `invokeDone(request.id, answer)`. It never keeps the process alive.
    #[napi(ts_args_type = "callback: (request: NativeInvokeRequest) => void")]
    pub fn set_invoker(&self, callback: napi::bindgen_prelude::Function<'_, outbound::NativeInvokeRequest, napi::bindgen_prelude::Unknown<'static>>) -> Result<()> {
        let invoker = outbound::Invoker::new(callback)?;
        *self.inner.invoker.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(invoker));
        Ok(())
    }

    /// Starts a streamed call of a `wasi:http/proxy` component (stream.rs): `head` is the
    /// wafer.v1.Request without its body, which follows through the answer's `push`/`end`; the
    /// response comes through its `next`; with `bodyComplete` the envelope's body is all of it and
    /// nothing is pushed (a call that needs no thread hop to wait for it). Starts inline under `inlineBudgetMs` as `call` does:
    /// a small answer is then complete before this returns, and `next`/`finished` answer it at
    /// once, with no thread hop.
    #[napi]
    pub fn call_stream(&self, key: String, head: Buffer, limits: NativeCallLimits, body_complete: Option<bool>) -> Result<stream::NativeStream> {
        let rt = executor::runtimes(self.inner.executor_threads).map_err(|e| Error::new(Status::GenericFailure, e))?;
        let (handle, io, done) = stream::channels(rt, body_complete.unwrap_or(false));
        match start_call(&self.inner, &key, self.inner.get(&key), head, &limits, Some(io)) {
            Ok(mut call) => {
                let inline = if limits.inline_budget_ms.map_or(0, to_u64) > 0 { call.poll_inline(rt) } else { None };
                match inline {
                    Some(out) => {
                        let _ = done.send(out);
                    }
                    None => executor::spawn(rt, call, move |out| {
                        let _ = done.send(out);
                    }),
                }
            }
            Err(out) => {
                let _ = done.send(out);
            }
        }
        Ok(handle)
    }

    /// Whether `key` is loaded.
    #[napi]
    pub fn has(&self, key: String) -> bool {
        self.inner.get(&key).is_some()
    }

    /// Drops `key` from memory with its idle instances; calls in flight finish on their own reference.
    #[napi]
    pub fn unload(&self, key: String) -> bool {
        self.inner.loaded.write().unwrap_or_else(|p| p.into_inner()).remove(&key).is_some()
    }

    /// Hex of the engine's `precompile_compatibility_hash`; part of artifact file names.
    #[napi]
    pub fn compatibility_hash(&self) -> Result<String> {
        self.inner
            .engines()
            .map(|e| e.compat_hash.clone())
            .ok_or_else(|| Error::new(Status::GenericFailure, "engine is closed"))
    }

    /// Drops every loaded component and this object's hold on the engines; the epoch ticker
    /// stops once calls still in flight have finished.
    #[napi]
    pub fn close(&self) {
        self.inner.loaded.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.inner.engines.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    #[napi]
    pub fn stats(&self) -> NativeStats {
        let c = &self.inner.counters;
        NativeStats {
            compiled: c.compiled.load(Ordering::Relaxed) as f64,
            loaded_from_disk: c.loaded_from_disk.load(Ordering::Relaxed) as f64,
            loaded_from_memory: c.loaded_from_memory.load(Ordering::Relaxed) as f64,
            instances_created: c.instances_created.load(Ordering::Relaxed) as f64,
            instances_reused: c.instances_reused.load(Ordering::Relaxed) as f64,
            loaded: self.inner.loaded.read().unwrap_or_else(|p| p.into_inner()).len() as f64,
            instances_idle: crate::reuse::idle_total() as f64,
        }
    }
}

/// Completes function call `id` (see `NativeEngine.setInvoker`); an id no longer waited for
/// (its caller ran out of time) is ignored.
#[napi]
pub fn invoke_done(id: f64, answer: outbound::NativeInvokeAnswer) {
    let mut headers = Vec::with_capacity(answer.headers.len() / 2);
    let mut it = answer.headers.into_iter();
    while let (Some(name), Some(value)) = (it.next(), it.next()) {
        headers.push((name, value));
    }
    let status = u16::try_from(answer.status).ok().filter(|s| (100..=599).contains(s)).unwrap_or(502);
    outbound::done(to_u64(id), outbound::Answer { status, headers, body: answer.body.to_vec() });
}

/// The wasmtime crate version this addon embeds.
#[napi]
pub fn version() -> String {
    env!("WASMTIME_VERSION").to_string()
}

pub struct LoadTask {
    inner: Arc<Inner>,
    key: String,
    bytes: Option<Buffer>,
    cache_path: PathBuf,
    world: std::result::Result<World, String>,
}

pub enum LoadOutput {
    Ok { source: Source, ms: f64, discarded: Option<String>, cache_error: Option<String>, pooled: bool },
    Err(LoadError),
}

impl LoadTask {
    fn run(&self) -> LoadOutput {
        if let Some(l) = self.inner.get(&self.key) {
            self.inner.counters.loaded_from_memory.fetch_add(1, Ordering::Relaxed);
            return LoadOutput::Ok { source: Source::Memory, ms: 0.0, discarded: None, cache_error: None, pooled: l.pooled };
        }
        let Some(engines) = self.inner.engines() else {
            return LoadOutput::Err(LoadError::Internal("engine is closed".into()));
        };
        let world = match &self.world {
            Ok(w) => *w,
            Err(e) => return LoadOutput::Err(LoadError::AbiMismatch(e.clone())),
        };
        match load::load(&engines, &self.key, self.bytes.as_deref(), &self.cache_path, world) {
            Ok(report) => {
                let counter = match report.source {
                    Source::Compiled => &self.inner.counters.compiled,
                    _ => &self.inner.counters.loaded_from_disk,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let pooled = report.loaded.pooled;
                self.inner
                    .loaded
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(self.key.clone(), report.loaded);
                LoadOutput::Ok {
                    source: report.source,
                    ms: report.ms,
                    discarded: report.discarded,
                    cache_error: report.cache_error,
                    pooled,
                }
            }
            Err(e) => LoadOutput::Err(e),
        }
    }
}

impl Task for LoadTask {
    type Output = LoadOutput;
    type JsValue = NativeLoadResult;

    fn compute(&mut self) -> Result<Self::Output> {
        catch_unwind(AssertUnwindSafe(|| self.run()))
            .or_else(|p| Ok(LoadOutput::Err(LoadError::Internal(format!("load panicked: {}", panic_message(p))))))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(match output {
            LoadOutput::Ok { source, ms, discarded, cache_error, pooled } => NativeLoadResult {
                ok: true,
                source: Some(source.as_str().into()),
                ms,
                error_kind: None,
                message: None,
                discarded,
                cache_error,
                pooled,
            },
            LoadOutput::Err(e) => NativeLoadResult {
                ok: false,
                source: None,
                ms: 0.0,
                error_kind: Some(e.kind().into()),
                message: Some(e.message().into()),
                discarded: match e {
                    LoadError::NeedsBytes(d) => d,
                    _ => None,
                },
                cache_error: None,
                pooled: false,
            },
        })
    }
}

fn failed(kind: Failure, message: String) -> Outcome {
    Outcome {
        result: Err((kind, message)),
        stdout: Vec::new(),
        stderr: Vec::new(),
        duration_us: 0.0,
        fuel_used: None,
        peak_memory_bytes: 0,
        reused: false,
    }
}

/// The call future for `key`, or the outcome at once when it cannot start.
fn start_call(inner: &Inner, key: &str, loaded: Option<Arc<Loaded>>, input: Buffer, js: &NativeCallLimits, io: Option<stream::Io>) -> std::result::Result<Call, Outcome> {
    let Some(loaded) = loaded else {
        return Err(failed(Failure::NotLoaded, format!("component {key} is not loaded")));
    };
    let limits = Limits {
        timeout_ms: to_u64(js.timeout_ms),
        memory_bytes: usize::try_from(to_u64(js.memory_bytes)).unwrap_or(usize::MAX),
        fuel: js.fuel.map(to_u64),
        max_output_bytes: js.max_output_bytes.map_or(usize::MAX, |v| usize::try_from(to_u64(v)).unwrap_or(usize::MAX)),
        // `KEY=VALUE` strings, checked by the host (names never hold `=`): split at the first `=`.
        env: js.env.as_deref().unwrap_or_default().iter().map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        }).collect(),
        outbound: outbound::CallContext {
            allow: Arc::from(js.outbound.clone().unwrap_or_default()),
            deadline: std::time::Instant::now(),
            depth: js.depth.unwrap_or(0),
            invoker: inner.invoker.read().unwrap_or_else(|p| p.into_inner()).clone(),
            max_body: js.max_output_bytes.map_or(usize::MAX, |v| usize::try_from(to_u64(v)).unwrap_or(usize::MAX)),
        },
    };
    if limits.fuel.is_some() && !loaded.fuel_enabled {
        return Err(failed(Failure::Internal, "fuel limit given but the engine was created without fuel".into()));
    }
    // Taken here, on the JS thread: the instance is this call's alone until the call gives it back.
    let reuse = match &js.reuse_pool {
        None => call::Reuse::Fresh,
        Some(name) => call::Reuse::Pool { name: name.clone(), warm: loaded.pools.take(name) },
    };
    let counter = match &reuse {
        call::Reuse::Pool { warm: Some(_), .. } => &inner.counters.instances_reused,
        _ => &inner.counters.instances_created,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    // Inline: at least the budget on the JS thread. On the executor: yield at the next tick.
    let first_ticks = match js.inline_budget_ms.map_or(0, to_u64) {
        0 => 1,
        ms => loaded.engines.ticks(ms),
    };
    let long = Arc::new(AtomicBool::new(false));
    if io.is_some() && loaded.world != World::Http {
        return Err(failed(Failure::Internal, "only wasi:http/proxy components stream".into()));
    }
    Ok(Call::new(call::run(loaded, input, limits, first_ticks, long.clone(), reuse, io), long))
}

fn to_js(out: Outcome) -> NativeCallResult {
    let (ok, output, error_kind, message) = match out.result {
        Ok(bytes) => (true, Some(Buffer::from(bytes)), None, None),
        Err((kind, msg)) => (false, None, Some(kind.as_str().to_string()), Some(msg)),
    };
    NativeCallResult {
        ok,
        output,
        error_kind,
        message,
        stdout: (!out.stdout.is_empty()).then(|| Buffer::from(out.stdout)),
        stderr: (!out.stderr.is_empty()).then(|| Buffer::from(out.stderr)),
        duration_us: out.duration_us,
        fuel_used: out.fuel_used.map(|f| f as f64),
        peak_memory_bytes: out.peak_memory_bytes as f64,
        reused: out.reused,
    }
}
