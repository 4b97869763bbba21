//! Making a component callable: from memory, from the on-disk artifact, or by compiling it.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use crate::cache::{self, Invalid};
use crate::call::{Loaded, State};
use crate::engines::Engines;
use crate::world::World;

/// Where a loaded component came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Memory,
    Disk,
    Compiled,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Memory => "memory",
            Source::Disk => "disk",
            Source::Compiled => "compiled",
        }
    }
}

/// Why a load failed, as the TS side maps it to `ComponentError` codes.
#[derive(Debug)]
pub enum LoadError {
    /// Not a valid component (parse/validation/compile failure).
    InvalidComponent(String),
    /// A valid component, but not of wafer's world (wrong `handle`, unsatisfiable import).
    AbiMismatch(String),
    /// The on-disk artifact is absent or unusable and no bytes were given: retry with bytes.
    /// Carries why a cache file was discarded, if one was.
    NeedsBytes(Option<String>),
    /// Anything else: I/O, a pool that cannot hold the component even on demand.
    Internal(String),
}

impl LoadError {
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::InvalidComponent(_) => "invalid_component",
            LoadError::AbiMismatch(_) => "abi_mismatch",
            LoadError::NeedsBytes(_) => "needs_bytes",
            LoadError::Internal(_) => "internal",
        }
    }
    pub fn message(&self) -> &str {
        match self {
            LoadError::InvalidComponent(m) | LoadError::AbiMismatch(m) | LoadError::Internal(m) => m,
            LoadError::NeedsBytes(_) => "no usable compiled artifact; component bytes needed",
        }
    }
}

pub struct LoadReport {
    pub loaded: Arc<Loaded>,
    pub source: Source,
    pub ms: f64,
    /// Set when the cache file was found invalid (and deleted) on the way.
    pub discarded: Option<String>,
    /// Set when the compiled artifact could not be written (the load itself succeeded).
    pub cache_error: Option<String>,
}

/// Compiles to a serialized artifact. The on-demand engine compiles exactly as the pooled one
/// (same compatibility hash), so errors here are always the component's own.
fn compile(engines: &Engines, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
    engines
        .on_demand
        .precompile_component(bytes)
        .map_err(|e| LoadError::InvalidComponent(format!("{e:#}")))
}

/// Loads an artifact into the pooled engine, or the on-demand one when the pool refuses it
/// (its `validate_component` rejects components whose instances exceed a slot).
fn deserialize(engines: &Engines, artifact: Artifact<'_>) -> wasmtime::Result<(Component, Engine, bool)> {
    let load = |engine: &Engine| match artifact {
        // SAFETY: the bytes are fresh from `precompile_component` of an engine with the same
        // compatibility hash, or they passed `cache::open_verified`'s binding and checksum checks;
        // files are only ever replaced by rename, never modified in place.
        Artifact::Bytes(b) => unsafe { Component::deserialize(engine, b) },
        Artifact::File(p) => unsafe { Component::deserialize_file(engine, p) },
    };
    if let Some(pooled) = &engines.pooled {
        if let Ok(c) = load(pooled) {
            return Ok((c, pooled.clone(), true));
        }
    }
    let c = load(&engines.on_demand)?;
    Ok((c, engines.on_demand.clone(), false))
}

#[derive(Clone, Copy)]
enum Artifact<'a> {
    Bytes(&'a [u8]),
    /// Mapped straight from the file: no copy, and memory images stay file-backed. Always a
    /// `/proc/self/fd/N` path of a descriptor that was checked (or written) by this process.
    File(&'a Path),
}

/// Deserializes a checked artifact from the descriptor it was checked on.
fn deserialize_verified(engines: &Engines, verified: &cache::Verified) -> wasmtime::Result<(Component, Engine, bool)> {
    match verified.fd_path() {
        Some(p) => deserialize(engines, Artifact::File(&p)),
        None => deserialize(engines, Artifact::Bytes(verified.bytes())),
    }
}

fn link(engines: &Arc<Engines>, engine: Engine, component: &Component, pooled: bool, world: World) -> Result<Loaded, LoadError> {
    let entry = world.check(&engine, component).map_err(LoadError::AbiMismatch)?;
    let mut linker = Linker::<State>::new(&engine);
    world
        .link(&mut linker)
        .map_err(|e| LoadError::Internal(format!("cannot set up the world's imports: {e:#}")))?;
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| LoadError::AbiMismatch(format!("unsupported import: {e:#}")))?;
    Ok(Loaded { engines: engines.clone(), engine, pre, world, entry, fuel_enabled: engines.settings.fuel, pooled, pools: crate::reuse::pools() })
}

/// Loads `key`'s artifact from `cache_path` if it holds a valid one bound to `key` and this
/// engine, else compiles `bytes` and writes one; either way linked as a component of `world`.
pub fn load(engines: &Arc<Engines>, key: &str, bytes: Option<&[u8]>, cache_path: &Path, world: World) -> Result<LoadReport, LoadError> {
    let started = Instant::now();
    let mut discarded = None;
    let binding = cache::Binding { key, compat_hash: &engines.compat_hash };
    match cache::open_verified(cache_path, binding) {
        Ok(verified) => match deserialize_verified(engines, &verified) {
            Ok((component, engine, pooled)) => {
                let loaded = link(engines, engine, &component, pooled, world)?;
                let ms = started.elapsed().as_secs_f64() * 1e3;
                return Ok(LoadReport { loaded: Arc::new(loaded), source: Source::Disk, ms, discarded, cache_error: None });
            }
            Err(e) => {
                cache::discard(cache_path);
                discarded = Some(format!("cached artifact rejected by wasmtime: {e:#}"));
            }
        },
        Err(Invalid::Missing) => {}
        Err(Invalid::Corrupt(why)) => {
            cache::discard(cache_path);
            discarded = Some(format!("cached artifact {}: {why}", cache_path.display()));
        }
    }

    let Some(bytes) = bytes else {
        return Err(LoadError::NeedsBytes(discarded));
    };
    let payload = compile(engines, bytes)?;
    // Written first and mapped from the file (its descriptor, not the path, which another writer
    // may have replaced since), so this process shares the page cache with later ones and the
    // artifact (45-55 MB for a TS or Python component under Winch) is not also copied into
    // memory from `payload`. The world is checked on what was mapped: an artifact of a component
    // wafer cannot run is removed again, so only runnable ones stay cached.
    let cache_error = match cache::write(cache_path, binding, &payload) {
        Ok(file) => {
            if let Some(Ok((component, engine, pooled))) = cache::fd_path(&file).map(|fd| deserialize(engines, Artifact::File(&fd))) {
                let loaded = link(engines, engine, &component, pooled, world).inspect_err(|_| cache::discard(cache_path))?;
                let ms = started.elapsed().as_secs_f64() * 1e3;
                return Ok(LoadReport { loaded: Arc::new(loaded), source: Source::Compiled, ms, discarded, cache_error: None });
            }
            None
        }
        // A full or read-only disk costs the next restart a compile, not this load.
        Err(e) => Some(format!("cannot write {}: {e}", cache_path.display())),
    };
    let (component, engine, pooled) = deserialize(engines, Artifact::Bytes(&payload))
        .map_err(|e| LoadError::Internal(format!("cannot load the freshly compiled component: {e:#}")))?;
    let loaded = link(engines, engine, &component, pooled, world).inspect_err(|_| {
        if cache_error.is_none() {
            cache::discard(cache_path);
        }
    })?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(LoadReport { loaded: Arc::new(loaded), source: Source::Compiled, ms, discarded, cache_error })
}
