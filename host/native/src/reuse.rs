//! Warm-instance reuse (`instance=reuse`): idle (Store, Instance) pairs kept per pool, so a call
//! of a big runtime (StarlingMonkey, Go, CPython) skips instantiation and the copy-on-write page
//! faults of a fresh instance.
//!
//! A pool is one function's: its name, inside the `Loaded` of its digest, so an instance is never
//! shared across functions, even two that deploy the same component. An instance is taken out of
//! its pool for the length of a call (one call at a time per instance; a call that finds the pool
//! empty instantiates a fresh one) and given back only after a call that ended `ok` or
//! `function_error`, under `DEFAULT_REUSE_CALLS` calls, within its quota and within
//! `DEFAULT_KEEP_RESIDENT_BYTES`; any other outcome drops it. Pools are bounded per pool and
//! host-wide; unloading the component drops its pools.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use wasmtime::component::Instance;
use wasmtime::Store;

use crate::call::State;
use crate::pipe::CappedPipe;

/// Idle instances kept per pool (one function of one digest).
pub const DEFAULT_IDLE_PER_POOL: usize = 4;
/// Idle instances kept host-wide, over every pool; each holds a pooling-allocator slot.
pub const DEFAULT_IDLE_TOTAL: usize = 64;
/// An instance is dropped after this many calls.
pub const DEFAULT_REUSE_CALLS: u64 = 1000;
/// An instance whose memories and tables have grown past this is dropped after its call.
pub const DEFAULT_KEEP_RESIDENT_BYTES: usize = 64 << 20;

/// Idle instances held host-wide (all engines of the process).
static IDLE_TOTAL: AtomicUsize = AtomicUsize::new(0);
/// Every live `Pools`, so a call that finds the instance pool full can free idle instances.
static ALL: Mutex<Vec<Weak<Pools>>> = Mutex::new(Vec::new());

/// Idle instances held now, process-wide (for `stats()`).
pub fn idle_total() -> usize {
    IDLE_TOTAL.load(Ordering::Relaxed)
}

/// New pools for a component, registered for `drop_all_idle`.
pub fn pools() -> Arc<Pools> {
    let p = Arc::new(Pools::default());
    let mut all = ALL.lock().unwrap_or_else(|e| e.into_inner());
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(&p));
    p
}

/// Drops every idle instance in the process; answers how many. Idle instances hold slots of the
/// pooling allocator: a call that finds no free slot frees them before it is refused `overloaded`,
/// so warm instances never cost another call its place.
pub fn drop_all_idle() -> usize {
    let live: Vec<Arc<Pools>> = ALL.lock().unwrap_or_else(|e| e.into_inner()).iter().filter_map(Weak::upgrade).collect();
    live.iter().map(|p| p.clear()).sum()
}

/// A live instance between calls, with the capture pipes its WASI context writes to.
pub struct Warm {
    pub store: Store<State>,
    pub instance: Instance,
    pub stdout: CappedPipe,
    pub stderr: CappedPipe,
    /// Calls this instance has answered.
    pub calls: u64,
}

/// The idle instances of one component, by pool (function name).
#[derive(Default)]
pub struct Pools {
    idle: Mutex<HashMap<String, Vec<Warm>>>,
}

impl Pools {
    /// An idle instance of `pool`, if there is one; it is the caller's until given back.
    pub fn take(&self, pool: &str) -> Option<Warm> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let warm = idle.get_mut(pool)?.pop()?;
        IDLE_TOTAL.fetch_sub(1, Ordering::Relaxed);
        Some(warm)
    }

    /// Keeps `warm` for the next call of `pool`, unless a bound is reached (then it is dropped).
    pub fn give(&self, pool: &str, warm: Warm) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(pool.to_string()).or_default();
        if list.len() >= DEFAULT_IDLE_PER_POOL {
            return;
        }
        if IDLE_TOTAL.fetch_add(1, Ordering::Relaxed) >= DEFAULT_IDLE_TOTAL {
            IDLE_TOTAL.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        list.push(warm);
    }

    /// Drops this component's idle instances; answers how many.
    pub fn clear(&self) -> usize {
        let taken: Vec<Warm> = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.drain().flat_map(|(_, v)| v).collect()
        };
        IDLE_TOTAL.fetch_sub(taken.len(), Ordering::Relaxed);
        taken.len()
    }

    /// Idle instances held now.
    pub fn len(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).values().map(Vec::len).sum()
    }
}

impl Drop for Pools {
    fn drop(&mut self) {
        let n = self.len();
        IDLE_TOTAL.fetch_sub(n, Ordering::Relaxed);
    }
}
