//! The on-disk compiled artifact: `<name>.cwasm` is exactly `Component::serialize` output, so
//! wasmtime can map it straight from the file (`deserialize_file`: no copy, and memory images
//! copy-on-write from the page cache); `<name>.cwasm.sum` beside it is a 48-byte header saying
//! what the payload must be.
//!
//! Header (little-endian): magic `WAFERCW1`, format version (u32), reserved (u32), the engine's
//! compatibility hash (16 ASCII hex bytes), payload length (u64), xxh3-64 of the payload (u64).
//! A payload whose header is missing or whose hash, length or checksum does not match is
//! reported invalid and never reaches `deserialize`. Both files are written by rename, payload
//! first, so a crash or a race between writers leaves a mismatch, never a half-written file.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"WAFERCW1";
const FORMAT_VERSION: u32 = 1;
/// magic(8) + version(4) + reserved(4) + compat hash(16) + payload len(8) + checksum(8)
pub const HEADER_LEN: usize = 48;

/// Why a cache file could not be used.
#[derive(Debug)]
pub enum Invalid {
    Missing,
    Corrupt(String),
}

fn sum_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sum");
    PathBuf::from(s)
}

fn header(compat_hash: &str, payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let hash = compat_hash.as_bytes();
    let n = hash.len().min(16);
    h[16..16 + n].copy_from_slice(&hash[..n]);
    h[32..40].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    h[40..48].copy_from_slice(&xxh3_64(payload).to_le_bytes());
    h
}

/// Checks the artifact at `path` against its header. `Ok` means `path` may be deserialized.
pub fn verify(path: &Path, compat_hash: &str) -> Result<(), Invalid> {
    let sum = match fs::read(sum_path(path)) {
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
    if sum.len() != HEADER_LEN {
        return Err(Invalid::Corrupt("checksum file has the wrong size".into()));
    }
    // SAFETY: artifacts are only ever replaced by rename, never written in place, so the mapping
    // cannot change under us; a truncation by someone else is caught by the length check.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Invalid::Corrupt(format!("cannot map: {e}")))?;
    let expected = header(compat_hash, &map);
    if sum[0..16] != expected[0..16] {
        return Err(Invalid::Corrupt("not a wafer artifact of this format".into()));
    }
    if sum[16..32] != expected[16..32] {
        return Err(Invalid::Corrupt("built by an incompatible engine".into()));
    }
    if sum[32..40] != expected[32..40] {
        return Err(Invalid::Corrupt("truncated or replaced".into()));
    }
    if sum[40..48] != expected[40..48] {
        return Err(Invalid::Corrupt("checksum mismatch".into()));
    }
    Ok(())
}

fn write_atomic(path: &Path, chunks: &[&[u8]]) -> std::io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        for chunk in chunks {
            f.write_all(chunk)?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `payload` and its header atomically: temp files in the same directory, fsync, rename.
pub fn write(path: &Path, compat_hash: &str, payload: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    write_atomic(path, &[payload])?;
    write_atomic(&sum_path(path), &[&header(compat_hash, payload)])?;
    // Make the renames themselves durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes an invalid artifact and its header; failing to remove is harmless (rename replaces).
pub fn discard(path: &Path) {
    let _ = fs::remove_file(sum_path(path));
    let _ = fs::remove_file(path);
}
