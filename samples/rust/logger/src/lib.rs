//! logger — uses WASI stdout, stderr, the wall and monotonic clocks and random (samples/README.md).
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use wafer::{Request, Response};

fn handle(req: Request) -> Result<Response, String> {
    let start = Instant::now();
    println!("logger: {} {}", req.method, req.path);
    eprintln!("logger: done");
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("wall clock before 1970: {e}"))?
        .as_millis();
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| format!("random: {e}"))?;
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let elapsed_ns = start.elapsed().as_nanos();
    Ok(Response::json(
        200,
        format!("{{\"now_ms\":{now_ms},\"elapsed_ns\":{elapsed_ns},\"random\":\"{random}\"}}"),
    )
    .header("x-wafer-sample", "logger"))
}

wafer::export!(handle);
