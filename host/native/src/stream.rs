//! Streamed calls of the `wasi:http/proxy` world: the request body flows into the guest as it
//! arrives, and the response flows out as the guest writes it (http.rs `enter_stream`).
//!
//! `NativeEngine.callStream` starts the call (inline under its budget, then on the executor, as
//! `call` does) and answers a `NativeStream`, the JavaScript side's handle on two bounded
//! channels (`next` and `finished` answer what is there already without a promise):
//! - request: `push(chunk)` queues one chunk of the upload for the guest's incoming-body stream
//!   (at most `REQUEST_CHUNKS` queued: a full queue answers a promise that settles once the guest
//!   has read enough, so the host reads the socket no faster than the guest consumes it); `end()`
//!   ends the body, `fail()` ends it with an error the guest sees on its next read;
//! - response: `next()` answers the events queued so far (at least one: `head`, then `data`; none
//!   once the call has ended); the call waits while `RESPONSE_EVENTS` events are unread, so a
//!   slow client holds the guest, not host memory. `finished()` answers the call's result as soon
//!   as it has ended, even with events unread. `abort()` (the client went away) closes the
//!   response: the guest's next body write fails, and the call ends as it would.
//!
//! Bytes held per streamed call, by construction: `REQUEST_CHUNKS` request chunks (Node's reads,
//! at most 64 KiB each), the guest's own outgoing-body buffer (wasmtime-wasi-http: two chunks of at
//! most 1 MiB), and `RESPONSE_EVENTS` + 1 slices of at most `RESPONSE_SLICE` bytes on their way to
//! JavaScript, which writes one slice at a time and asks for more once the socket drained.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use napi::bindgen_prelude::{Buffer, Either, Object};
use napi::{Env, Result};
use napi_derive::napi;
use tokio::sync::{mpsc, oneshot};

use crate::call::Outcome;
use crate::executor::Runtimes;
use crate::js::{NativeCallResult, NativeStreamEvent};

/// Request chunks queued for the guest before `push` makes the host wait.
const REQUEST_CHUNKS: usize = 4;
/// Response events queued for JavaScript before the call waits (the guest blocks in its write).
const RESPONSE_EVENTS: usize = 2;
/// Response data crosses to JavaScript in slices of at most this many bytes (zero-copy slices
/// of the guest's chunk, which may be up to 1 MiB).
pub const RESPONSE_SLICE: usize = 64 * 1024;

/// What the call tells JavaScript about its response, in order.
pub enum Event {
    /// The guest set its response. `content_length`: the length it declared, which the host
    /// holds it to. `first`: the start of the body, when the guest had already written it;
    /// `complete`: that was the whole body (no `Data` follows), so a small answer is one event.
    Head { status: u16, headers: Vec<(String, String)>, content_length: Option<u64>, first: Option<Bytes>, complete: bool },
    Data(Bytes),
}

/// The call's ends of the two channels.
pub struct Io {
    pub body: RequestBody,
    pub events: mpsc::Sender<Event>,
}

/// The guest's incoming body: what came in the envelope (`first`), then the chunks JavaScript
/// pushes, then the end (or an error).
pub struct RequestBody {
    pub first: Option<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    failed: Arc<AtomicBool>,
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(None) if self.failed.load(Ordering::Acquire) => Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpProtocolError))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The JavaScript side's handle on one streamed call (module comment).
#[napi]
pub struct NativeStream {
    request: Mutex<Option<mpsc::Sender<Bytes>>>,
    failed: Arc<AtomicBool>,
    /// Taken out while a `next` waits on it (JavaScript asks for one batch at a time).
    events: Arc<Mutex<Option<mpsc::Receiver<Event>>>>,
    aborted: Arc<AtomicBool>,
    outcome: Arc<Mutex<Option<oneshot::Receiver<Outcome>>>>,
    rt: &'static Runtimes,
}

type Resolver<T> = Box<dyn FnOnce(Env) -> Result<T> + Send>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A new stream: the handle JavaScript keeps, the call's `Io`, and where the call's outcome goes.
/// `body_complete`: the envelope holds the whole request body, and nothing will be pushed.
pub fn channels(rt: &'static Runtimes, body_complete: bool) -> (NativeStream, Io, oneshot::Sender<Outcome>) {
    let (req_tx, req_rx) = mpsc::channel(REQUEST_CHUNKS);
    let (ev_tx, ev_rx) = mpsc::channel(RESPONSE_EVENTS);
    let (out_tx, out_rx) = oneshot::channel();
    let failed = Arc::new(AtomicBool::new(false));
    let stream = NativeStream {
        request: Mutex::new((!body_complete).then_some(req_tx)),
        failed: failed.clone(),
        events: Arc::new(Mutex::new(Some(ev_rx))),
        aborted: Arc::new(AtomicBool::new(false)),
        outcome: Arc::new(Mutex::new(Some(out_rx))),
        rt,
    };
    (stream, Io { body: RequestBody { first: None, rx: req_rx, failed }, events: ev_tx }, out_tx)
}

fn to_js(event: Event) -> NativeStreamEvent {
    match event {
        Event::Head { status, headers, content_length, first, complete } => NativeStreamEvent {
            kind: "head".into(),
            status: Some(u32::from(status)),
            headers: Some(headers.into_iter().flat_map(|(n, v)| [n, v]).collect()),
            content_length: content_length.map(|n| n as f64),
            chunk: first.map(|b| Buffer::from(b.to_vec())),
            complete: Some(complete),
        },
        Event::Data(bytes) => NativeStreamEvent { kind: "data".into(), status: None, headers: None, content_length: None, chunk: Some(Buffer::from(bytes.to_vec())), complete: None },
    }
}

#[napi]
impl NativeStream {
    /// Queues one request chunk for the guest: `true` when queued now, a promise of `true` once
    /// there is room, `false` (or a promise of it) when the guest will read no more.
    #[napi(ts_return_type = "boolean | Promise<boolean>")]
    pub fn push<'env>(&self, env: &'env Env, chunk: Buffer) -> Result<Either<bool, Object<'env>>> {
        let Some(tx) = lock(&self.request).clone() else { return Ok(Either::A(false)) };
        let chunk = Bytes::from(chunk.to_vec());
        match tx.try_send(chunk) {
            Ok(()) => Ok(Either::A(true)),
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(Either::A(false)),
            Err(mpsc::error::TrySendError::Full(chunk)) => {
                let (deferred, promise) = env.create_deferred::<bool, Resolver<bool>>()?;
                self.rt.spawn_task(async move {
                    let sent = tx.send(chunk).await.is_ok();
                    deferred.resolve(Box::new(move |_| Ok(sent)));
                });
                Ok(Either::B(promise))
            }
        }
    }

    /// The request body is complete.
    #[napi]
    pub fn end(&self) {
        lock(&self.request).take();
    }

    /// The request body broke off (the client went away, or it passed its size limit): the
    /// guest's next read of it fails.
    #[napi]
    pub fn fail(&self) {
        self.failed.store(true, Ordering::Release);
        lock(&self.request).take();
    }

    /// Nobody will read the response any more: the guest's next body write fails, and the call
    /// ends on its own (its `end` event still comes).
    #[napi]
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::Release);
        if let Some(rx) = lock(&self.events).as_mut() {
            rx.close();
        }
    }

    /// The response events queued now, waiting for at least one; none once there are no more
    /// (the call has ended: `finished` tells how).
    #[napi(ts_return_type = "NativeStreamEvent[] | Promise<NativeStreamEvent[]>")]
    pub fn next<'env>(&self, env: &'env Env) -> Result<Either<Vec<NativeStreamEvent>, Object<'env>>> {
        // What is queued already (or the end of the events) is answered now, with no thread hop.
        {
            let mut slot = lock(&self.events);
            let Some(rx) = slot.as_mut() else { return Ok(Either::A(Vec::new())) };
            let mut batch = Vec::new();
            let ended = loop {
                match rx.try_recv() {
                    Ok(event) => batch.push(to_js(event)),
                    Err(e) => break e == mpsc::error::TryRecvError::Disconnected,
                }
            };
            if self.aborted.load(Ordering::Acquire) {
                rx.close();
            }
            if !batch.is_empty() || ended {
                return Ok(Either::A(batch));
            }
        }
        let (deferred, promise) = env.create_deferred::<Vec<NativeStreamEvent>, Resolver<Vec<NativeStreamEvent>>>()?;
        let (events, aborted) = (self.events.clone(), self.aborted.clone());
        self.rt.spawn_task(async move {
            let mut batch = Vec::new();
            let taken = lock(&events).take();
            if let Some(mut rx) = taken {
                if let Some(event) = rx.recv().await {
                    batch.push(to_js(event));
                    while let Ok(event) = rx.try_recv() {
                        batch.push(to_js(event));
                    }
                    if aborted.load(Ordering::Acquire) {
                        rx.close();
                    }
                    *lock(&events) = Some(rx);
                }
            }
            deferred.resolve(Box::new(move |_| Ok(batch)));
        });
        Ok(Either::B(promise))
    }

    /// The call's result once it has ended (its `output` is empty), whether or not its events
    /// have all been read: a failure is known while the last ones still wait for a slow client.
    /// Answers once; a second call answers `internal`.
    #[napi(ts_return_type = "NativeCallResult | Promise<NativeCallResult>")]
    pub fn finished<'env>(&self, env: &'env Env) -> Result<Either<NativeCallResult, Object<'env>>> {
        let mut rx = lock(&self.outcome).take();
        // Ended already (an inline call): answered now.
        if let Some(out) = rx.as_mut().and_then(|rx| rx.try_recv().ok()) {
            return Ok(Either::A(crate::to_js(out)));
        }
        let (deferred, promise) = env.create_deferred::<NativeCallResult, Resolver<NativeCallResult>>()?;
        self.rt.spawn_task(async move {
            let out = match rx {
                Some(rx) => rx.await.unwrap_or_else(|_| crate::executor::failed("the call ended without an outcome".into())),
                None => crate::executor::failed("the stream's result was already taken".into()),
            };
            deferred.resolve(Box::new(move |_| Ok(crate::to_js(out))));
        });
        Ok(Either::B(promise))
    }
}
