//! The `wasi:http/proxy` 0.2 world: the guest exports `wasi:http/incoming-handler@0.2.x` and
//! answers through a `response-outparam`; its imports are wasmtime-wasi-http's.
//!
//! Across the addon boundary the HTTP call travels in the wafer.v1 envelope (abi/proto/): the
//! host's executor encodes a `Request` (host/src/executors/wasi-http.ts), this module builds
//! the `incoming-request` from it, calls `handle`, collects the response the guest sets (status,
//! headers, body, bounded by the call's `max_output_bytes`) and encodes it as a `Response` the
//! executor decodes and checks exactly as the handler world's (framing headers dropped, status
//! 200-599). The guest never sees the envelope.
//!
//! Two ways in. `enter` (buffered): the request body is handed over whole, and the response is
//! answered once the guest has finished it. `enter_stream` (the host's invoke path on wasmtime):
//! the envelope carries no body, which streams in through `Io` as it arrives; the response's
//! head goes out as soon as the guest sets it and its body as the guest writes it, held to the
//! call's `max_output_bytes` (headers and body) and to the guest's own `content-length`, if it
//! declared one. A failure after the head is the call's outcome as usual; the host then ends the
//! connection rather than finish the answer (host/src/server/routes/invoke.ts).
//!
//! Outbound HTTP (`wasi:http/outgoing-handler`) is the store's hooks' (outbound.rs): function
//! calls to `{fn}.wafer.internal`, the hosts the function's `outbound` setting allows, and
//! `HTTP-request-denied` with a line in the guest's stderr log for anything else.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::{ComponentExportIndex, Instance, Resource};
use wasmtime::{Result as WResult, Store};
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

use crate::call::State;
use crate::pipe::CappedPipe;
use crate::stream::{Event, Io, RESPONSE_SLICE};
use crate::world::Answer;

/// The export every 0.2 minor of the world has, without its version.
pub const HANDLER: &str = "wasi:http/incoming-handler@0.2.";

/// Import prefixes a proxy component may have (all 0.2.x): the proxy world's own (http, io,
/// clocks, random, cli stdio) and what a language's standard library adds (the rest of
/// wasi:cli, wasi:filesystem with nothing preopened, and wasi:sockets, which CPython's runtime in
/// componentize-py imports: the store allows no TCP, UDP or name lookup, so every socket
/// operation fails). Anything else is refused.
const ALLOWED_IMPORTS: &[&str] = &["wasi:http/", "wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/", "wasi:filesystem/", "wasi:sockets/"];

/// Whether a proxy component may import `name` (e.g. `wasi:io/streams@0.2.3`).
pub fn allowed_import(name: &str) -> bool {
    ALLOWED_IMPORTS.iter().any(|p| name.strip_prefix(p).is_some_and(|rest| rest.contains("@0.2.")))
}

fn truncate(s: &str, cap: usize) -> &str {
    if s.len() <= cap {
        return s;
    }
    let mut end = cap;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Calls `handle` of the incoming-handler with the request `input` (a wafer.v1.Request) and
/// answers the response the guest set, encoded as a wafer.v1.Response. Outer error: the host's;
/// inner: the guest's trap or a limit.
pub async fn enter(store: &mut Store<State>, instance: Instance, entry: &ComponentExportIndex, input: &[u8], max_output: usize) -> Result<WResult<Answer>, String> {
    let mut request = envelope::decode_request(input).map_err(|e| format!("cannot decode the request envelope: {e}"))?;
    let body = Full::new(Bytes::from(std::mem::take(&mut request.body))).map_err(|never: std::convert::Infallible| match never {}).boxed_unsync();
    let request = build_request(request, body)?;
    let func = instance
        .get_typed_func::<(Resource<HostIncomingRequest>, Resource<HostResponseOutparam>), ()>(&mut *store, entry)
        .map_err(|e| format!("cannot find `handle`: {e:#}"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (req, out) = {
        let mut view = store.data_mut().http();
        let req = view.new_incoming_request(Scheme::Http, request).map_err(|e| format!("cannot pass the request: {e:#}"))?;
        let out = view.new_response_outparam(tx).map_err(|e| format!("cannot pass the response slot: {e:#}"))?;
        (req, out)
    };

    // The guest writes its body while `handle` runs and blocks when the body's one-chunk buffer
    // is full, so the call and the collection run side by side in this one future. A body over
    // the limit is dropped at once (the guest's further writes fail) and the call is still
    // awaited, never dropped mid-flight, so the store stays sound.
    let head = AtomicBool::new(false);
    let mut call = pin!(func.call_async(&mut *store, (req, out)));
    let mut collect = Some(Box::pin(collect(rx, max_output, &head)));
    let mut called: Option<WResult<()>> = None;
    let mut collected: Option<Collected> = None;
    std::future::poll_fn(|cx| {
        if called.is_none() {
            if let Poll::Ready(r) = call.as_mut().poll(cx) {
                called = Some(r);
            }
        }
        if let Some(c) = collect.as_mut() {
            // Once `handle` has returned nothing runs in the guest any more: what the response
            // does not hold by now it never will, so drain what is buffered without waiting.
            let polled = if called.is_some() { c.as_mut().poll(&mut Context::from_waker(Waker::noop())) } else { c.as_mut().poll(cx) };
            if let Poll::Ready(r) = polled {
                collected = Some(r);
                collect = None;
            }
        }
        if called.is_some() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    drop(collect);
    let answer = match (called, collected) {
        // Over the limit is the answer even when the guest then trapped on its failed write.
        (_, Some(Collected::TooLong(n))) => Ok(Answer::BadResponse(format!(
            "the guest's response body is over the limit of {max_output} bytes (at least {n})"
        ))),
        // A trap or a limit, before or after the response: the call failed (as in the handler world).
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(())), Some(Collected::Done(bytes))) => Ok(Answer::Output(bytes)),
        (Some(Ok(())), Some(Collected::GuestError(message))) => Ok(Answer::FunctionError(message)),
        (Some(Ok(())), Some(Collected::Bad(message))) => Ok(Answer::BadResponse(message)),
        (Some(Ok(())), None) if head.load(Ordering::Relaxed) => {
            Ok(Answer::BadResponse("the guest returned from `handle` without finishing its response body".into()))
        }
        (Some(Ok(())), None) => Ok(Answer::BadResponse("the guest returned from `handle` without setting a response".into())),
        (None, _) => Err(wasmtime::Error::msg("the call ended without an outcome")),
    };
    Ok(answer)
}

/// Like `enter`, but streamed both ways through `io` (stream.rs): `input` is a wafer.v1.Request
/// whose body is the start of the request body (the rest is pushed). Answers an empty `Output`
/// when the whole response went out.
pub async fn enter_stream(store: &mut Store<State>, instance: Instance, entry: &ComponentExportIndex, input: &[u8], max_output: usize, mut io: Io) -> Result<WResult<Answer>, String> {
    let mut request = envelope::decode_request(input).map_err(|e| format!("cannot decode the request envelope: {e}"))?;
    let first = std::mem::take(&mut request.body);
    if !first.is_empty() {
        io.body.first = Some(Bytes::from(first));
    }
    let request = build_request(request, io.body.boxed_unsync())?;
    let func = instance
        .get_typed_func::<(Resource<HostIncomingRequest>, Resource<HostResponseOutparam>), ()>(&mut *store, entry)
        .map_err(|e| format!("cannot find `handle`: {e:#}"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (req, out) = {
        let mut view = store.data_mut().http();
        let req = view.new_incoming_request(Scheme::Http, request).map_err(|e| format!("cannot pass the request: {e:#}"))?;
        let out = view.new_response_outparam(tx).map_err(|e| format!("cannot pass the response slot: {e:#}"))?;
        (req, out)
    };

    // As in `enter`: the call and the forwarding run side by side in this one future. Forwarding
    // waits for JavaScript to take each event (the channel is small), and while it waits the guest
    // blocks in its body write, bounded by the call's deadline. Once forwarding stops early (over
    // a limit, a broken body, the client gone) its future, and with it the response body, is
    // dropped: the guest's next write fails, and the call still runs to its end.
    let returned = AtomicBool::new(false);
    let mut call = pin!(func.call_async(&mut *store, (req, out)));
    let mut forwarding = Some(Box::pin(forward(rx, max_output, &io.events, &returned)));
    let mut called: Option<WResult<()>> = None;
    let mut forwarded: Option<Forwarded> = None;
    std::future::poll_fn(|cx| {
        if called.is_none() {
            if let Poll::Ready(r) = call.as_mut().poll(cx) {
                called = Some(r);
                returned.store(true, Ordering::Relaxed);
            }
        }
        if let Some(f) = forwarding.as_mut() {
            if let Poll::Ready(r) = f.as_mut().poll(cx) {
                forwarded = Some(r);
                forwarding = None;
            }
        }
        if called.is_some() && forwarding.is_none() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    let answer = match (called, forwarded) {
        (_, Some(Forwarded::TooLong(n))) => Ok(Answer::BadResponse(format!(
            "the guest's response is over the limit of {max_output} bytes (at least {n})"
        ))),
        (_, Some(Forwarded::Gone)) => Ok(Answer::BadResponse("the client went away before the response was sent".into())),
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(())), Some(Forwarded::Done)) => Ok(Answer::Output(Vec::new())),
        (Some(Ok(())), Some(Forwarded::GuestError(message))) => Ok(Answer::FunctionError(message)),
        (Some(Ok(())), Some(Forwarded::Bad(message))) => Ok(Answer::BadResponse(message)),
        (Some(Ok(())), None) | (None, _) => Err(wasmtime::Error::msg("the call ended without an outcome")),
    };
    Ok(answer)
}

/// How forwarding a streamed response ended.
enum Forwarded {
    /// The whole response went out.
    Done,
    /// The guest set an `error-code` instead of a response.
    GuestError(String),
    /// No usable response: none set, a broken or unfinished body, a body off its declared length.
    Bad(String),
    /// The response grew past the limit (this many bytes so far).
    TooLong(usize),
    /// JavaScript stopped reading (the client went away).
    Gone,
}

/// `fut`'s output, or `None` when it is still pending once `handle` has returned: nothing runs in
/// the guest any more, so what is not there by now never will be.
async fn until_returned<F: Future>(fut: F, returned: &AtomicBool) -> Option<F::Output> {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending if returned.load(Ordering::Relaxed) => Poll::Ready(None),
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// The guest's declared `content-length`: one value, decimal digits only (wasmtime-wasi-http
/// refuses a body to any other), else none.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(http::header::CONTENT_LENGTH).iter();
    let value = values.next()?;
    if values.next().is_some() || value.is_empty() || !value.as_bytes().iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.to_str().ok()?.parse().ok()
}

async fn forward(rx: ResponseSlot, max_output: usize, events: &tokio::sync::mpsc::Sender<Event>, returned: &AtomicBool) -> Forwarded {
    let response = match until_returned(rx, returned).await {
        None => return Forwarded::Bad("the guest returned from `handle` without setting a response".into()),
        Some(Err(_)) => return Forwarded::Bad("the guest dropped the response slot without setting a response".into()),
        Some(Ok(Err(code))) => return Forwarded::GuestError(format!("the guest answered with error code {code:?}")),
        Some(Ok(Ok(r))) => r,
    };
    let (parts, mut body) = response.into_parts();
    let declared = declared_length(&parts.headers);
    // The limit counts the whole answer, headers and body, as the buffered path's envelope does.
    let mut sent: usize = parts.headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    if let Some(n) = declared {
        let total = usize::try_from(n).unwrap_or(usize::MAX).saturating_add(sent);
        if total > max_output {
            return Forwarded::TooLong(total);
        }
    }
    if sent > max_output {
        return Forwarded::TooLong(sent);
    }
    // What the body already holds (without waiting) goes out with the head: a small answer the
    // guest wrote at once crosses to JavaScript as one event, and a body that breaks before the
    // head is out is still a clean error answer.
    let mut body_bytes: u64 = 0;
    let (mut early, mut early_len, mut complete) = (Vec::new(), 0usize, false);
    while early_len < RESPONSE_SLICE {
        let polled = pin!(body.frame()).poll(&mut Context::from_waker(Waker::noop()));
        let frame = match polled {
            Poll::Pending => break,
            Poll::Ready(None) => {
                complete = true;
                break;
            }
            Poll::Ready(Some(Err(e))) => return Forwarded::Bad(broken(declared, body_bytes, &e)),
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        sent = sent.saturating_add(data.len());
        body_bytes = body_bytes.saturating_add(data.len() as u64);
        if sent > max_output {
            return Forwarded::TooLong(sent);
        }
        if let Some(bad) = off_length(declared, body_bytes, false) {
            return Forwarded::Bad(bad);
        }
        early_len += data.len();
        early.push(data);
    }
    if complete {
        if let Some(bad) = off_length(declared, body_bytes, true) {
            return Forwarded::Bad(bad);
        }
    }
    let first = (early_len > 0 && early_len <= RESPONSE_SLICE).then(|| Bytes::from(std::mem::take(&mut early).concat()));
    let headers = parts.headers.iter().map(|(name, value)| (name.as_str().to_string(), latin1(value.as_bytes()))).collect();
    let complete = complete && early.is_empty();
    if events.send(Event::Head { status: parts.status.as_u16(), headers, content_length: declared, first, complete }).await.is_err() {
        return Forwarded::Gone;
    }
    for mut data in early {
        while !data.is_empty() {
            let slice = data.split_to(data.len().min(RESPONSE_SLICE));
            if events.send(Event::Data(slice)).await.is_err() {
                return Forwarded::Gone;
            }
        }
    }
    if complete {
        return Forwarded::Done;
    }
    loop {
        let frame = match until_returned(body.frame(), returned).await {
            None => return Forwarded::Bad("the guest returned from `handle` without finishing its response body".into()),
            Some(None) => break,
            Some(Some(Err(e))) => return Forwarded::Bad(broken(declared, body_bytes, &e)),
            Some(Some(Ok(frame))) => frame,
        };
        // Trailers are not answered (the host answers over HTTP/1.1 without the guest's).
        let Ok(mut data) = frame.into_data() else { continue };
        sent = sent.saturating_add(data.len());
        body_bytes = body_bytes.saturating_add(data.len() as u64);
        if sent > max_output {
            return Forwarded::TooLong(sent);
        }
        if let Some(bad) = off_length(declared, body_bytes, false) {
            return Forwarded::Bad(bad);
        }
        while !data.is_empty() {
            let slice = data.split_to(data.len().min(RESPONSE_SLICE));
            if events.send(Event::Data(slice)).await.is_err() {
                return Forwarded::Gone;
            }
        }
    }
    if let Some(bad) = off_length(declared, body_bytes, true) {
        return Forwarded::Bad(bad);
    }
    Forwarded::Done
}

/// Why the body failed: wasmtime-wasi-http aborts a body that `finish` found off its declared
/// length, which is the reason to give then.
fn broken(declared: Option<u64>, written: u64, e: &impl std::fmt::Display) -> String {
    off_length(declared, written, true).unwrap_or_else(|| format!("the guest's response body failed: {e}"))
}

/// Why a body of `written` bytes so far (`ended`: in all) breaks the length the guest declared, if it does.
fn off_length(declared: Option<u64>, written: u64, ended: bool) -> Option<String> {
    let n = declared?;
    if written > n {
        Some(format!("the guest's response body is longer than its declared content-length of {n} bytes"))
    } else if ended && written < n {
        Some(format!("the guest's response body is {written} bytes, shorter than its declared content-length of {n} bytes"))
    } else {
        None
    }
}

/// How collecting the response ended.
enum Collected {
    /// The whole response, as a wafer.v1.Response.
    Done(Vec<u8>),
    /// The guest set an `error-code` instead of a response.
    GuestError(String),
    /// No usable response: none set, or a broken body.
    Bad(String),
    /// The body grew past the limit (this many bytes so far); collection stopped there.
    TooLong(usize),
}

type ResponseSlot = tokio::sync::oneshot::Receiver<Result<http::Response<HyperOutgoingBody>, ErrorCode>>;

async fn collect(rx: ResponseSlot, max_output: usize, head: &AtomicBool) -> Collected {
    let response = match rx.await {
        Err(_) => return Collected::Bad("the guest dropped the response slot without setting a response".into()),
        Ok(Err(code)) => return Collected::GuestError(format!("the guest answered with error code {code:?}")),
        Ok(Ok(r)) => r,
    };
    head.store(true, Ordering::Relaxed);
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Err(e) => return Collected::Bad(format!("the guest's response body failed: {e}")),
            Ok(frame) => {
                // Trailers are not answered (the host answers over HTTP/1.1 without them).
                if let Ok(data) = frame.into_data() {
                    let len = bytes.len().saturating_add(data.len());
                    if len > max_output {
                        return Collected::TooLong(len);
                    }
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
    let headers = parts.headers.iter().map(|(name, value)| (name.as_str(), latin1(value.as_bytes())));
    Collected::Done(envelope::encode_response(parts.status.as_u16(), headers, &bytes))
}

/// Header bytes as the host's strings carry them: one char per byte (Node reads headers as latin1).
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The incoming request the guest gets: method, `path?query` after `/fn/{name}`, headers, body.
fn build_request(r: envelope::Request, body: WasiBody) -> Result<http::Request<WasiBody>, String> {
    let method = http::Method::from_bytes(r.method.as_bytes()).map_err(|_| format!("invalid method {:?}", truncate(&r.method, 64)))?;
    let mut target = escape_target(if r.path.is_empty() { "/" } else { &r.path });
    if !r.query.is_empty() {
        target.push('?');
        target.push_str(&escape_target(&r.query));
    }
    let uri: http::Uri = target.parse().map_err(|e| format!("invalid request target: {e}"))?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    let mut has_host = false;
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in &r.headers {
            // The host's own parser already refused what HTTP forbids; anything left that the
            // http crate will not hold is left out rather than failing the call.
            let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) else { continue };
            let value: Vec<u8> = value.chars().filter_map(|c| u8::try_from(u32::from(c)).ok()).collect();
            let Ok(value) = http::HeaderValue::from_bytes(&value) else { continue };
            has_host |= name == http::header::HOST;
            headers.append(name, value);
        }
        // The request's authority comes from `host`; HTTP/1.0 clients may send none.
        if !has_host {
            headers.insert(http::header::HOST, http::HeaderValue::from_static("localhost"));
        }
    }
    builder.body(body).map_err(|e| format!("cannot build the request: {e}"))
}

/// Percent-encodes the bytes a request target may not hold (spaces, quotes, non-ASCII...).
fn escape_target(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The wafer.v1 envelope (abi/proto/wafer/v1/envelope.proto), just the fields this world uses:
/// proto3 wire format by hand, bounded by its input.
pub(crate) mod envelope {
    pub struct Request {
        pub method: String,
        pub path: String,
        pub query: String,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    struct Reader<'a> {
        buf: &'a [u8],
        pos: usize,
    }

    impl<'a> Reader<'a> {
        fn varint(&mut self) -> Result<u64, String> {
            let mut v = 0u64;
            for shift in (0..64).step_by(7) {
                let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
                self.pos += 1;
                v |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return Ok(v);
                }
            }
            Err("varint too long".into())
        }
        fn bytes(&mut self) -> Result<&'a [u8], String> {
            let len = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
            let end = self.pos.checked_add(len).filter(|&e| e <= self.buf.len()).ok_or("truncated field")?;
            let b = &self.buf[self.pos..end];
            self.pos = end;
            Ok(b)
        }
        fn skip(&mut self, wire: u64) -> Result<(), String> {
            let n = match wire {
                0 => return self.varint().map(|_| ()),
                1 => 8,
                2 => return self.bytes().map(|_| ()),
                5 => 4,
                w => return Err(format!("unsupported wire type {w}")),
            };
            self.pos = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("truncated field")?;
            Ok(())
        }
        /// The next field: (number, wire type), or None at the end.
        fn key(&mut self) -> Result<Option<(u64, u64)>, String> {
            if self.pos >= self.buf.len() {
                return Ok(None);
            }
            let k = self.varint()?;
            Ok(Some((k >> 3, k & 7)))
        }
    }

    fn string(b: &[u8]) -> Result<String, String> {
        String::from_utf8(b.to_vec()).map_err(|_| "a string field is not UTF-8".into())
    }

    pub fn decode_request(buf: &[u8]) -> Result<Request, String> {
        let mut r = Reader { buf, pos: 0 };
        let mut req = Request { method: String::new(), path: String::new(), query: String::new(), headers: Vec::new(), body: Vec::new() };
        while let Some((field, wire)) = r.key()? {
            match (field, wire) {
                (1, 2) => req.method = string(r.bytes()?)?,
                (2, 2) => req.path = string(r.bytes()?)?,
                (3, 2) => req.query = string(r.bytes()?)?,
                (4, 2) => {
                    let mut h = Reader { buf: r.bytes()?, pos: 0 };
                    let (mut name, mut value) = (String::new(), String::new());
                    while let Some((f, w)) = h.key()? {
                        match (f, w) {
                            (1, 2) => name = string(h.bytes()?)?,
                            (2, 2) => value = string(h.bytes()?)?,
                            (_, w) => h.skip(w)?,
                        }
                    }
                    req.headers.push((name, value));
                }
                (5, 2) => req.body = r.bytes()?.to_vec(),
                (_, w) => r.skip(w)?,
            }
        }
        Ok(req)
    }

    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn put_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        put_varint(out, (field << 3) | 2);
        put_varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    pub fn encode_response<'a>(status: u16, headers: impl Iterator<Item = (&'a str, String)>, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 64);
        put_varint(&mut out, 1 << 3);
        put_varint(&mut out, u64::from(status));
        for (name, value) in headers {
            let mut h = Vec::with_capacity(name.len() + value.len() + 4);
            put_bytes(&mut h, 1, name.as_bytes());
            put_bytes(&mut h, 2, value.as_bytes());
            put_bytes(&mut out, 2, &h);
        }
        if !body.is_empty() {
            put_bytes(&mut out, 3, body);
        }
        out
    }
}
