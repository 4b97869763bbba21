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
//! Buffered, not streamed: the request body is handed over whole, and the response is answered
//! once the guest has finished it, so a failure at any point is a clean error answer.
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
    let request = envelope::decode_request(input).map_err(|e| format!("cannot decode the request envelope: {e}"))?;
    let request = build_request(request)?;
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
fn build_request(r: envelope::Request) -> Result<http::Request<WasiBody>, String> {
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
    let body = Full::new(Bytes::from(r.body)).map_err(|never: std::convert::Infallible| match never {}).boxed_unsync();
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
