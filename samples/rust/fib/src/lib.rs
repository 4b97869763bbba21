//! fib — naive recursive Fibonacci, CPU-bound on purpose for the quota tests (samples/README.md).
use wafer::{Request, Response};

const MAX_N: u64 = 78;

fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// `n` as plain decimal digits (leading zeros allowed), from 0 to 78.
fn parse_n(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(raw)
        .ok()?
        .parse()
        .ok()
        .filter(|&n| n <= MAX_N)
}

fn handle(req: Request) -> Response {
    let n = match req.query_param("n") {
        None => Some(20),
        Some(raw) => parse_n(&raw),
    };
    let (status, body) = match n {
        Some(n) => (200, format!("fib({n}) = {}", fib(n))),
        None => (400, "n must be an integer from 0 to 78".to_string()),
    };
    Response::new(status)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-wafer-sample", "fib")
        .body(body)
}

wafer::export!(handle);
