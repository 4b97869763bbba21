//! Where calls run: on the JS thread for their first epoch tick, then on tokio runtimes the
//! addon owns, never on libuv's threadpool.
//!
//! A call is one future (`call::run`): it yields at every epoch tick and awaits WASI calls that
//! block. `NativeEngine.call` polls it once on the JS thread under a budget of about one tick
//! (`inlineBudgetMs`): most calls finish there and answer synchronously, with no thread hop.
//! A call still pending after that is handed, as the same future, to the **fresh** runtime:
//! worker threads at normal priority, one per core. Wasmtime's call futures are `Send`, so a
//! fiber suspended on one thread resumes on another.
//!
//! Preferring short calls: a call that is still running `LONG_CALL` after it started raises
//! its `long` flag at its next tick; at that yield it leaves the fresh runtime and continues on
//! the **long** runtime, whose threads run at a lower OS priority (nice +`LONG_NICE`). The
//! kernel's scheduler then gives fresh calls, and the JS thread that serves HTTP, the CPU first,
//! while long calls still get every cycle nobody else wants (no sleeping, so a lone long call
//! still runs at full speed and its wall-clock quota means the same as before). Priorities
//! inside one runtime would need a scheduler of our own; two runtimes and `nice` need none.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use tokio::runtime::{Builder, Runtime};

use crate::call::{Failure, Outcome};

/// Nice value of the long runtime's threads (0 is normal, 19 the lowest priority). At +10 the
/// scheduler's weights give a normal thread about 9 times the CPU of a long-call thread.
const LONG_NICE: i32 = 10;

pub type CallFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// A call in flight and the flag its epoch callback raises once it has run long.
pub struct Call {
    fut: CallFuture,
    long: Arc<AtomicBool>,
}

impl Call {
    /// Wraps a call future so a panic inside it (host code, a wasmtime bug) ends the call as
    /// `internal` instead of unwinding into tokio or Node.
    pub fn new(fut: impl Future<Output = Outcome> + Send + 'static, long: Arc<AtomicBool>) -> Self {
        let mut inner: CallFuture = Box::pin(fut);
        let mut done = false;
        let fut = std::future::poll_fn(move |cx| {
            if done {
                // Only reachable if polled after completing, which no caller here does.
                return Poll::Ready(failed("call polled after it ended".into()));
            }
            let r = catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)))
                .unwrap_or_else(|p| Poll::Ready(failed(format!("call panicked: {}", panic_message(p)))));
            done = r.is_ready();
            r
        });
        Call { fut: Box::pin(fut), long }
    }

    /// Polls the call once on this thread, inside the fresh runtime's context (WASI and the
    /// call's own timeout start tokio timers). Pending means the call yielded at its first epoch
    /// tick or is blocked in WASI: hand it to `spawn`.
    pub fn poll_inline(&mut self, rt: &Runtimes) -> Option<Outcome> {
        let _guard = rt.fresh.enter();
        let mut cx = Context::from_waker(Waker::noop());
        match self.fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        }
    }
}

pub fn failed(message: String) -> Outcome {
    Outcome {
        result: Err((Failure::Internal, message)),
        stdout: Vec::new(),
        stderr: Vec::new(),
        duration_us: 0.0,
        fuel_used: None,
        peak_memory_bytes: 0,
        reused: false,
    }
}

pub fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The two runtimes calls run on; process-wide, built on the first call that needs them.
pub struct Runtimes {
    fresh: Runtime,
    long: Runtime,
}

impl Runtimes {
    /// Runs a small task of the addon's own (a streamed call's channel work) on the fresh runtime.
    pub fn spawn_task(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.fresh.spawn(task);
    }
}

/// Builds the runtimes with `threads` workers each on first use (0: one per core); later
/// `threads` values are ignored, since every engine in the process shares them.
pub fn runtimes(threads: usize) -> Result<&'static Runtimes, String> {
    static RUNTIMES: OnceLock<Result<Runtimes, String>> = OnceLock::new();
    RUNTIMES
        .get_or_init(|| {
            let threads = if threads > 0 {
                threads
            } else {
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
            };
            Ok(Runtimes { fresh: build("wafer-call", threads, 0)?, long: build("wafer-long", threads, LONG_NICE)? })
        })
        .as_ref()
        .map_err(|e| e.clone())
}

fn build(name: &str, threads: usize, nice: i32) -> Result<Runtime, String> {
    Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .on_thread_start(move || {
            if nice != 0 {
                // Linux keeps a nice value per thread: this lowers only the calling worker.
                // Raising one's own nice value needs no privilege; a failure leaves it at 0.
                // SAFETY: plain syscalls on the calling thread.
                unsafe {
                    let tid = libc::gettid();
                    libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
                }
            }
        })
        .build()
        .map_err(|e| format!("cannot start the {name} runtime: {e}"))
}

/// Runs `call` to the end on the runtimes and hands its outcome to `done` (on a worker thread).
pub fn spawn(rt: &'static Runtimes, call: Call, done: impl FnOnce(Outcome) + Send + 'static) {
    rt.fresh.spawn(async move {
        let Call { mut fut, long } = call;
        // Runs here until the call ends or reports itself long at a yield.
        let moved = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
            Poll::Ready(out) => Poll::Ready(Some(out)),
            Poll::Pending if long.load(Ordering::Relaxed) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        match moved {
            Some(out) => done(out),
            None => {
                rt.long.spawn(async move { done(fut.await) });
            }
        }
    });
}
