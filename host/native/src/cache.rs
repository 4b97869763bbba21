//! The on-disk compiled artifact: `<name>.cwasm` is exactly `Component::serialize` output, so
//! wasmtime can map it straight from the file (no copy, and memory images copy-on-write from the
//! page cache); `<name>.cwasm.sum` beside it is a header saying what the payload must be.
//!
//! Header (little-endian): magic `WAFERCW2`, format version (u32), length of the component key
//! (u32), the engine's compatibility hash (16 ASCII hex bytes), payload length (u64), xxh3-64 of
//! the payload (u64), then the component key itself (the sha256 hex digest of the component
//! the payload was compiled from). The header binds the payload to one component and one engine
//! build: an artifact copied under another digest's name, built by another engine, truncated or
//! altered is refused and never reaches `deserialize`. A header of an older format is refused the
//! same way, so upgrading wafer recompiles cleanly.
//!
//! The payload is checked on one open file descriptor, and that same descriptor is what wasmtime
//! maps (through `/proc/self/fd/N`, which re-opens the very inode that was checked, whatever the
//! path points to by then). Files are only ever written under a fresh temp name (host, pid and
//! random bytes) and renamed into place, payload first: a file another process has mapped is
//! never truncated or rewritten, and a crash or a race between writers leaves a mismatch, never
//! a half-written file that passes.
//!
//! The checksum guards against accidents (a wrong file, a torn copy, a stale build), not against
//! someone who can write the cache directory: they could forge both files. The cache directory
//! must be writable by the host's user only (docs/SECURITY.md).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"WAFERCW2";
const FORMAT_VERSION: u32 = 2;
/// magic(8) + version(4) + key length(4) + compat hash(16) + payload len(8) + checksum(8)
const FIXED_LEN: usize = 48;
/// Component keys are sha256 hex digests (64 bytes); anything longer is refused.
const MAX_KEY_LEN: usize = 128;

/// What an artifact must be bound to: the component it was compiled from and the engine build.
#[derive(Clone, Copy)]
pub struct Binding<'a> {
    /// The component's key (its sha256 hex digest).
    pub key: &'a str,
    /// Hex of the engine's `precompile_compatibility_hash`.
    pub compat_hash: &'a str,
}

/// Why a cache file could not be used.
#[derive(Debug)]
pub enum Invalid {
    Missing,
    Corrupt(String),
}

/// An artifact whose payload passed its header's checks, still open on the checked descriptor.
pub struct Verified {
    file: File,
    map: memmap2::Mmap,
}

impl Verified {
    /// A path that opens the very file that was checked, for `Component::deserialize_file`.
    /// `None` where `/proc/self/fd` does not exist; use `bytes` then.
    pub fn fd_path(&self) -> Option<PathBuf> {
        fd_path(&self.file)
    }

    /// The checked payload bytes (a mapping of the checked descriptor).
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

fn sum_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sum");
    PathBuf::from(s)
}

fn header(binding: Binding<'_>, payload: &[u8]) -> Vec<u8> {
    let key = binding.key.as_bytes();
    let mut h = vec![0u8; FIXED_LEN + key.len()];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(key.len() as u32).to_le_bytes());
    let hash = binding.compat_hash.as_bytes();
    let n = hash.len().min(16);
    h[16..16 + n].copy_from_slice(&hash[..n]);
    h[32..40].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    // xxh3-64, not -128: it runs at memory speed, and a 46 MB artifact is hashed on every load.
    h[40..48].copy_from_slice(&xxh3_64(payload).to_le_bytes());
    h[48..].copy_from_slice(key);
    h
}

/// Checks the artifact at `path` against its header, on one open descriptor. `Ok` hands back
/// that descriptor: deserialize from it (`Verified::fd_path`), never from `path` again.
pub fn open_verified(path: &Path, binding: Binding<'_>) -> Result<Verified, Invalid> {
    let sum = match read_small(&sum_path(path), FIXED_LEN + MAX_KEY_LEN) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(if path.exists() { Invalid::Corrupt("checksum file missing".into()) } else { Invalid::Missing });
        }
        Err(e) => return Err(Invalid::Corrupt(format!("cannot read checksum file: {e}"))),
    };
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Invalid::Corrupt("artifact missing beside its checksum file".into()),
        _ => Invalid::Corrupt(format!("cannot open: {e}")),
    })?;
    if sum.len() < 16 || sum[0..8] != MAGIC[..] || sum[8..12] != FORMAT_VERSION.to_le_bytes() {
        return Err(Invalid::Corrupt("not a wafer artifact of this format".into()));
    }
    if sum.len() < FIXED_LEN {
        return Err(Invalid::Corrupt("checksum file is truncated".into()));
    }
    // SAFETY: artifacts are only ever replaced by rename, never written in place, so the mapping
    // cannot change under us; a truncation by someone else is caught by the length check.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Invalid::Corrupt(format!("cannot map: {e}")))?;
    // Cheap fields first: a foreign header is refused before the payload is hashed.
    if sum[16..32] != header(binding, &[])[16..32] {
        return Err(Invalid::Corrupt("built by an incompatible engine".into()));
    }
    if sum[12..16] != (binding.key.len() as u32).to_le_bytes() || sum[FIXED_LEN..] != *binding.key.as_bytes() {
        return Err(Invalid::Corrupt("compiled from another component".into()));
    }
    if sum[32..40] != (map.len() as u64).to_le_bytes() {
        return Err(Invalid::Corrupt("truncated or replaced".into()));
    }
    if sum != header(binding, &map) {
        return Err(Invalid::Corrupt("checksum mismatch".into()));
    }
    Ok(Verified { file, map })
}

/// Reads a file expected to be small; a larger one is read only up to `limit + 1` bytes.
fn read_small(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(FIXED_LEN + 64);
    File::open(path)?.take(limit as u64 + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// A temp name no other writer can pick: this host, this process, and 64 random bits.
fn temp_name(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let host: String = fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    dir.join(format!(".{name}.tmp-{}-{}-{:016x}", if host.is_empty() { "host" } else { &host }, std::process::id(), random_u64()))
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_ok() {
        return u64::from_le_bytes(b);
    }
    // No /dev/urandom: std's hasher keys are seeded from the OS's randomness too.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

/// Writes `data` under a fresh temp name, fsyncs, renames it to `path`, and returns the file
/// (open for reading) that now sits at `path`.
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<File> {
    let tmp = temp_name(path);
    let result = (|| {
        // `create_new`: never opens (let alone truncates) a file someone else may have mapped.
        let mut f = OpenOptions::new().read(true).write(true).create_new(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(f)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `payload` and its header: temp files in the same directory, fsync, rename, payload
/// first. Returns the payload file as written, to map without going through the path again.
pub fn write(path: &Path, binding: Binding<'_>, payload: &[u8]) -> std::io::Result<File> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let file = write_atomic(path, payload)?;
    write_atomic(&sum_path(path), &header(binding, payload))?;
    // Make the renames themselves durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(file)
}

/// A path that opens `file` itself, when the platform has `/proc/self/fd`.
pub fn fd_path(file: &File) -> Option<PathBuf> {
    let p = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    p.exists().then_some(p)
}

/// Removes an invalid artifact and its header (unlinking: a process that has the old file
/// mapped keeps a valid mapping). Failing to remove is harmless: the next write renames over it.
pub fn discard(path: &Path) {
    let _ = fs::remove_file(sum_path(path));
    let _ = fs::remove_file(path);
}
