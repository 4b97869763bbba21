//! The process-wide wasmtime engines and their epoch ticker.
//!
//! A configuration gets two `wasmtime::Engine`s that differ only in their instance allocator:
//! `pooled` (the pooling allocator, sized below) and `on_demand` (plain mmap), for components
//! too large for a pool slot. Everything that `precompile_compatibility_hash` covers (compiler
//! flags, tunables, wasm features) is identical, so one compiled artifact serves both.
//! Engines are shared by every `NativeEngine` built with the same options, so a process has one
//! pool and one ticker per configuration, not one per JS object.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, RegallocAlgorithm, Strategy};

const MIB: u64 = 1024 * 1024;

/// What decides an engine's shape. Two `NativeEngine`s with equal settings share engines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EngineSettings {
    /// Ceiling on any one linear memory, in bytes; also the virtual reservation per memory slot.
    pub max_memory_bytes: u64,
    /// Whether fuel metering is compiled in (costs speed on every call, metered or not).
    pub fuel: bool,
    pub epoch_tick_ms: u32,
    /// `false` uses on-demand allocation only.
    pub pooling: bool,
    pub pool_component_instances: u32,
    pub pool_core_instances: u32,
    pub pool_memories: u32,
    pub pool_tables: u32,
    pub pool_table_elements: u32,
    pub pool_max_core_instance_bytes: u64,
    pub pool_max_component_instance_bytes: u64,
    pub max_wasm_stack_bytes: u64,
    pub signals_based_traps: bool,
    /// Compile with Winch (the baseline compiler) instead of Cranelift.
    pub winch: bool,
}

impl EngineSettings {
    /// Defaults for the 2-core, 24 GiB machine wafer targets: ~1000 live instances at once.
    pub fn with_ceiling(max_memory_bytes: u64) -> Self {
        EngineSettings {
            max_memory_bytes,
            fuel: false,
            epoch_tick_ms: 1,
            pooling: true,
            pool_component_instances: 1000,
            // componentize-py/js guests hold 10-30 core instances each (shims, adapters, libs).
            pool_core_instances: 10_000,
            // One slot reserves `max_memory_bytes` + guard of address space, nothing resident.
            pool_memories: 1000,
            // Shim modules each carry a table, so a component often has 2-4.
            pool_tables: 3000,
            // CPython and SpiderMonkey have tens of thousands of functions in their tables.
            pool_table_elements: 65_536,
            pool_max_core_instance_bytes: 16 * MIB,
            pool_max_component_instance_bytes: 64 * MIB,
            max_wasm_stack_bytes: 512 * 1024,
            signals_based_traps: true,
            winch: false,
        }
    }
}

/// The engines of one configuration, plus their ticker. Dropping the last `Arc` stops the ticker.
pub struct Engines {
    pub settings: EngineSettings,
    pub pooled: Option<Engine>,
    pub on_demand: Engine,
    /// Hex of `precompile_compatibility_hash`, stable for a given build and settings.
    pub compat_hash: String,
}

impl Engines {
    /// Epoch ticks that cover at least `ms`: rounded up, plus one for the partial first tick
    /// (a call given n ticks runs between n-1 and n tick lengths before its first yield).
    pub fn ticks(&self, ms: u64) -> u64 {
        let tick = u64::from(self.settings.epoch_tick_ms.max(1));
        ms.div_ceil(tick).saturating_add(1)
    }
}

/// Stack of one call's fiber: the guest's `max_wasm_stack` plus room for the host functions
/// (WASI, lifting, the epoch callback) that run on the same fiber. wasmtime refuses an engine
/// whose async stack is not larger than `max_wasm_stack`.
pub fn async_stack_bytes(s: &EngineSettings) -> u64 {
    (s.max_wasm_stack_bytes + MIB).max(2 * MIB)
}

fn base_config(s: &EngineSettings) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true)
        .consume_fuel(s.fuel)
        .max_wasm_stack(s.max_wasm_stack_bytes as usize)
        // Every call runs on a fiber (`call_async`), so it can yield at epoch ticks and await WASI.
        .async_stack_size(async_stack_bytes(s) as usize)
        .signals_based_traps(s.signals_based_traps)
        .memory_init_cow(true)
        // Reserve only the ceiling per memory instead of the 4 GiB default (bounds checks
        // become explicit; the pool stays at ~1 TiB of address space, none of it resident).
        .memory_reservation(s.max_memory_bytes)
        .memory_reservation_for_growth(0)
        .parallel_compilation(true);
    if s.winch {
        // Winch has no tail calls (wasmtime refuses the combination); a component that needs
        // them fails to compile here and is compiled by Cranelift alone.
        c.strategy(Strategy::Winch).wasm_tail_call(false);
        // Winch still compiles the trampolines with Cranelift: a third of a Winch compile of a
        // TS or Python component, which puts tens of thousands of functions in tables. The
        // fast tier wants them compiled quickly, not well (hello-ts: 2.1 -> 1.65 CPU-s).
        c.cranelift_opt_level(OptLevel::None).cranelift_regalloc_algorithm(RegallocAlgorithm::SinglePass);
    }
    c
}

fn pooling_config(s: &EngineSettings) -> PoolingAllocationConfig {
    let mut p = PoolingAllocationConfig::new();
    p.total_component_instances(s.pool_component_instances)
        .total_core_instances(s.pool_core_instances)
        .total_memories(s.pool_memories)
        .total_tables(s.pool_tables)
        // Every call in flight holds one fiber stack (calls are async, see executor.rs), so there
        // are as many stacks as component instances: the instance slot stays the limit that
        // answers `overloaded`. Stacks are address space until first touched, and are not
        // zeroed or decommitted between calls (`async_stack_zeroing` is off), so a reused stack
        // costs no page faults.
        .total_stacks(s.pool_component_instances)
        .max_memory_size(s.max_memory_bytes as usize)
        .max_memories_per_module(1)
        .max_tables_per_module(8)
        .max_memories_per_component(64)
        .max_tables_per_component(256)
        .max_core_instances_per_component(512)
        .table_elements(s.pool_table_elements as usize)
        .max_core_instance_size(s.pool_max_core_instance_bytes as usize)
        .max_component_instance_size(s.pool_max_component_instance_bytes as usize)
        // Small guests reset by memset instead of madvise: cheaper for a fresh store per call.
        .linear_memory_keep_resident(MIB as usize)
        .table_keep_resident(64 * 1024);
    p
}

fn build(s: &EngineSettings) -> wasmtime::Result<Engines> {
    let on_demand = Engine::new(&base_config(s))?;
    let pooled = if s.pooling {
        let mut c = base_config(s);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(s)));
        Some(Engine::new(&c)?)
    } else {
        None
    };
    let compat_hash = compat_hash(&on_demand, s.winch);
    if let Some(p) = &pooled {
        if compat_hash != self::compat_hash(p, s.winch) {
            wasmtime::bail!("pooled and on-demand engines disagree on compatibility hash");
        }
    }
    Ok(Engines { settings: s.clone(), pooled, on_demand, compat_hash })
}

/// The compiler is hashed too: a Winch and a Cranelift artifact of one component must never
/// share a file name, whatever wasmtime's own hash covers.
fn compat_hash(engine: &Engine, winch: bool) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    if winch {
        "winch".hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

fn spawn_ticker(engines: Weak<Engines>, tick: Duration) {
    // Holds only a weak reference: the thread ends within a tick of the last user going away.
    let _ = thread::Builder::new()
        .name("wafer-epoch".into())
        .spawn(move || loop {
            thread::sleep(tick);
            match engines.upgrade() {
                Some(e) => {
                    e.on_demand.increment_epoch();
                    if let Some(p) = &e.pooled {
                        p.increment_epoch();
                    }
                }
                None => return,
            }
        });
}

type Registry = Mutex<Vec<(EngineSettings, Weak<Engines>)>>;

/// The shared engines for `settings`, built (with a ticker) on first use.
pub fn shared(settings: &EngineSettings) -> wasmtime::Result<Arc<Engines>> {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let registry = REGISTRY.get_or_init(|| Mutex::new(Vec::new()));
    let mut list = registry.lock().unwrap_or_else(|p| p.into_inner());
    list.retain(|(_, w)| w.strong_count() > 0);
    if let Some(e) = list.iter().find(|(s, _)| s == settings).and_then(|(_, w)| w.upgrade()) {
        return Ok(e);
    }
    let engines = Arc::new(build(settings)?);
    spawn_ticker(Arc::downgrade(&engines), Duration::from_millis(u64::from(settings.epoch_tick_ms.max(1))));
    list.push((settings.clone(), Arc::downgrade(&engines)));
    Ok(engines)
}
