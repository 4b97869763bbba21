//! napi-rs link setup, plus the embedded wasmtime version for `version()`.

fn main() {
    napi_build::setup();
    // Cargo.lock pins the exact wasmtime; read it so `version()` never drifts from the build.
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut version = String::from("unknown");
    let mut in_wasmtime = false;
    for line in lock.lines() {
        if line == "name = \"wasmtime\"" {
            in_wasmtime = true;
        } else if in_wasmtime {
            if let Some(v) = line.strip_prefix("version = \"").and_then(|v| v.strip_suffix('"')) {
                version = v.to_string();
            }
            in_wasmtime = false;
        }
    }
    println!("cargo:rustc-env=WASMTIME_VERSION={version}");
}
