//! Outbound HTTP and function-to-function calls.
//!
//! Every store's wasi:http hooks are an `Outbound` (call.rs): `send_request` sorts what the guest
//! asks for three ways.
//! - `http://{fn}.wafer.internal/…` is a call of function `fn` in this host, with no socket: the
//!   request goes to the host's invoke pipeline through the engine's `Invoker` (a napi
//!   threadsafe function into JavaScript), and the callee's answer comes back as the response.
//!   The hook awaits a future JavaScript completes (`done`): no thread ever blocks on JavaScript,
//!   and JavaScript never waits on a thread. The host decides everything about the callee
//!   (admission, its limits, the caller's remaining deadline, the depth limit).
//! - A host the function's `outbound` setting allows goes out over plain HTTP/1.1 through
//!   hyper (wasmtime-wasi-http's own sender needs its `default-send-request` feature, which
//!   brings rustls, ring and webpki-roots; https is refused with a clear line instead). The
//!   name is resolved here and the connection made to the address checked, so a name cannot
//!   rebind past the check. A host matched only by a wildcard (`*`, `*.example.org`) may not
//!   reach loopback, private, link-local (cloud metadata) or otherwise special addresses; a
//!   host named exactly may (that is how an operator allows `127.0.0.1:8080`).
//! - Anything else fails in the guest with `HTTP-request-denied`, and a line in its stderr log
//!   says why.
//!
//! The same `Invoker` serves the wafer ABI 1.1 `invoke` import (`link_invoke`).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Frame;
use napi::bindgen_prelude::{Buffer, Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::call::State;
use crate::pipe::CappedPipe;

/// Host names under this suffix are functions of this host.
pub const INTERNAL_SUFFIX: &str = ".wafer.internal";
/// The wafer ABI 1.1 host interface (abi/wit/1.1.0/world.wit).
pub const HOST_INTERFACE: &str = "wafer:function/host@1.1.0";

/// What one call's outbound requests may do; set for every call, warm instances included.
#[derive(Clone)]
pub struct CallContext {
    /// The function's `outbound` setting: host patterns (`api.example.com`, `*.example.org`,
    /// `host:8080`) or `*`. Empty: nothing goes out (function calls still may).
    pub allow: Arc<[String]>,
    /// When the call is cut off: outbound timeouts and the callee's deadline come from it.
    pub deadline: Instant,
    /// How deep in a chain of function calls this call is (0: called from outside).
    pub depth: u32,
    /// The host's invoke pipeline; none: function calls are refused.
    pub invoker: Option<Arc<Invoker>>,
    /// Largest request body sent to a callee, and largest response body taken back.
    pub max_body: usize,
}

impl Default for CallContext {
    fn default() -> Self {
        CallContext { allow: Arc::from(Vec::new()), deadline: Instant::now(), depth: 0, invoker: None, max_body: 0 }
    }
}

/// The store's wasi:http hooks.
pub struct Outbound {
    pub stderr: CappedPipe,
    pub call: CallContext,
}

type SendFuture = Box<dyn Future<Output = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>), HttpError>> + Send>;

impl Outbound {
    fn deny(&self, target: &str, why: &str) -> SendFuture {
        let line = format!("wafer: outgoing HTTP request to {:?} denied: {why}\n", truncate(target, 256));
        self.stderr.push(line.as_bytes());
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

impl WasiHttpHooks for Outbound {
    fn send_request(&mut self, request: http::Request<WasiBody>, options: Option<RequestOptions>, _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>) -> SendFuture {
        let authority = request.uri().authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        let host = request.uri().host().unwrap_or_default().to_ascii_lowercase();
        if let Some(name) = host.strip_suffix(INTERNAL_SUFFIX) {
            return match &self.call.invoker {
                None => self.deny(&authority, "this host does not run function calls"),
                Some(invoker) => {
                    let invoker = invoker.clone();
                    let call = self.call.clone();
                    let name = name.to_string();
                    Box::new(async move { call_function(invoker, call, name, request).await })
                }
            };
        }
        let https = request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = request.uri().port_u16().unwrap_or(if https { 443 } else { 80 });
        let Some(matched) = allowed(&self.call.allow, &host, port) else {
            let why = if self.call.allow.is_empty() {
                "the function's outbound setting allows no hosts (deploy with outbound=HOST,… or outbound=*)".to_string()
            } else {
                format!("{host} is not in the function's outbound setting")
            };
            return self.deny(&authority, &why);
        };
        if https {
            return self.deny(&authority, "https is not supported for outbound requests yet (plain http only)");
        }
        let stderr = self.stderr.clone();
        let call = self.call.clone();
        Box::new(async move { send(request, options, call, host, port, matched, stderr).await })
    }
}

/// How a host was allowed: named exactly, or only by a wildcard (which may not reach special addresses).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Matched {
    Exact,
    Wildcard,
}

/// Whether `allow` lets a request to `host:port` out, and how.
fn allowed(allow: &[String], host: &str, port: u16) -> Option<Matched> {
    let mut best = None;
    for pattern in allow {
        let pattern = pattern.to_ascii_lowercase();
        if pattern == "*" {
            best = best.or(Some(Matched::Wildcard));
            continue;
        }
        let (name, want_port) = split_port(&pattern);
        if want_port.is_some_and(|p| p != port) {
            continue;
        }
        if let Some(suffix) = name.strip_prefix("*.") {
            if host.len() > suffix.len() + 1 && host.ends_with(suffix) && host.as_bytes()[host.len() - suffix.len() - 1] == b'.' {
                best = best.or(Some(Matched::Wildcard));
            }
        } else if name == host || name.trim_start_matches('[').trim_end_matches(']') == host.trim_start_matches('[').trim_end_matches(']') {
            return Some(Matched::Exact);
        }
    }
    best
}

/// `host:port` into its parts (`[::1]:80` too); a pattern without a port matches any.
fn split_port(pattern: &str) -> (&str, Option<u16>) {
    if let Some(rest) = pattern.strip_prefix('[') {
        if let Some((ip, tail)) = rest.split_once(']') {
            return (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match pattern.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(p) => (name, Some(p)),
            Err(_) => (pattern, None),
        },
        _ => (pattern, None),
    }
}

/// Addresses a wildcard may not reach: loopback, private, link-local (cloud metadata at
/// 169.254.169.254), shared, unspecified, multicast, documentation and reserved ranges.
fn special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10, carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0/24, protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18/15, benchmarking
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64, may embed a private v4
                || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0) // v4-compatible
        }
    }
}

/// Sends an allowed request over plain HTTP/1.1 to an address checked against the rules, with
/// the call's remaining time (or the guest's shorter options) as the connect and first-byte
/// timeouts, and the response body capped at the call's `max_body`.
async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    call: CallContext,
    host: String,
    port: u16,
    matched: Matched,
    stderr: CappedPipe,
) -> Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>), HttpError> {
    let deny = |why: String| {
        stderr.push(format!("wafer: outgoing HTTP request to {host}:{port} denied: {why}\n").as_bytes());
        HttpError::HttpRequestDenied
    };
    let remaining = call.deadline.saturating_duration_since(Instant::now());
    let pick = |asked: Option<Duration>| asked.map_or(remaining, |a| a.min(remaining));
    let connect_timeout = pick(options.and_then(|o| o.connect_timeout));
    let first_byte_timeout = pick(options.and_then(|o| o.first_byte_timeout));
    let between_bytes_timeout = pick(options.and_then(|o| o.between_bytes_timeout)).max(Duration::from_nanos(1));

    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::time::timeout(connect_timeout, tokio::net::lookup_host((bare, port))).await {
            Err(_) => return Err(HttpError::DnsTimeout),
            Ok(Err(_)) => return Err(HttpError::DnsError { rcode: Some("address not found".into()), info_code: None }),
            Ok(Ok(a)) => a.collect(),
        },
    };
    let addrs: Vec<SocketAddr> = if matched == Matched::Wildcard {
        let (ok, refused): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|a| !special(a.ip()));
        if ok.is_empty() {
            if let Some(a) = refused.first() {
                return Err(deny(format!(
                    "{host} resolves to {}, a loopback, private or link-local address a wildcard outbound setting does not reach (name the host exactly to allow it)",
                    a.ip()
                )));
            }
        }
        ok
    } else {
        addrs
    };
    let Some(&addr) = addrs.first() else {
        return Err(HttpError::DestinationNotFound);
    };
    let stream = match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => return Err(HttpError::ConnectionTimeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Err(HttpError::ConnectionRefused),
        Ok(Err(e)) => return Err(HttpError::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let (mut sender, conn) = tokio::time::timeout(connect_timeout, hyper::client::conn::http1::Builder::new().handshake(wasmtime_wasi_http::io::TokioIo::new(stream)))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)??;
    // The request line carries the path only (the authority is in `host`).
    let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    *request.uri_mut() = path.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;

    let response = async {
        let res = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)??;
        Ok::<_, HttpError>(res)
    };
    let mut response = pin!(response);
    let mut conn = Some(conn);
    // Wait for the response head while driving the connection's I/O.
    let res = std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = response.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if let Some(c) = conn.as_mut() {
            if let Poll::Ready(r) = std::pin::Pin::new(c).poll(cx) {
                conn = None;
                if let Err(e) = r {
                    return Poll::Ready(Err(HttpError::from(e)));
                }
                return response.as_mut().poll(cx);
            }
        }
        Poll::Pending
    })
    .await?;
    let max = call.max_body;
    let deadline = call.deadline;
    let res = res.map(move |incoming| {
        let capped = Limited::new(incoming, max).map_err(move |e| {
            if e.is::<http_body_util::LengthLimitError>() {
                HttpError::HttpResponseBodySize(Some(max as u64))
            } else if let Ok(h) = e.downcast::<hyper::Error>() {
                HttpError::from(*h)
            } else {
                HttpError::HttpResponseIncomplete
            }
        });
        Timed { inner: capped.boxed_unsync(), between: between_bytes_timeout, deadline, sleep: None }.boxed_unsync()
    });
    let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async move {
        match conn {
            Some(c) => c.await.map_err(HttpError::from),
            None => Ok(()),
        }
    });
    Ok((res, io))
}

/// A response body that fails when a frame takes longer than `between` (or the call's deadline
/// passes), so a stalled server cannot hold the guest past its own time.
struct Timed {
    inner: WasiBody,
    between: Duration,
    deadline: Instant,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl hyper::body::Body for Timed {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(r) => {
                this.sleep = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let until = (Instant::now() + this.between).min(this.deadline);
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until.into())));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
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

// ---- function calls ----

/// A function call as JavaScript gets it (host/src/engine/wasmtime/native.ts `NativeInvokeRequest`).
#[napi(object)]
pub struct NativeInvokeRequest {
    /// Pass it back to `invokeDone`.
    pub id: f64,
    /// The function called (the host name before `.wafer.internal`, or the ABI 1.1 `target`).
    pub target: String,
    pub method: String,
    /// Path, always starting with `/`, and the query without `?`.
    pub path: String,
    pub query: String,
    /// Header names and values, alternating.
    pub headers: Vec<String>,
    pub body: Buffer,
    /// The callee's depth in the chain (the caller's plus one).
    pub depth: u32,
    /// Milliseconds the caller has left: the callee gets no more.
    pub remaining_ms: f64,
}

/// The callee's answer (or the host's JSON error answer), as JavaScript passes it to `invokeDone`.
#[napi(object)]
pub struct NativeInvokeAnswer {
    pub status: u32,
    /// Header names and values, alternating.
    pub headers: Vec<String>,
    pub body: Buffer,
}

struct Request {
    target: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<String>,
    body: Vec<u8>,
    depth: u32,
    remaining_ms: f64,
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

type InvokeFn = ThreadsafeFunction<(u64, Request), Unknown<'static>, NativeInvokeRequest, napi::Status, false, true, 0>;

/// The host's invoke pipeline, reached from any thread.
pub struct Invoker {
    tsfn: InvokeFn,
}

type Pending = Mutex<HashMap<u64, tokio::sync::oneshot::Sender<Answer>>>;

fn pending() -> &'static Pending {
    static PENDING: OnceLock<Pending> = OnceLock::new();
    PENDING.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Forgets a call's slot when its future is dropped (the caller hit its deadline).
struct Slot(u64);

impl Drop for Slot {
    fn drop(&mut self) {
        pending().lock().unwrap_or_else(|p| p.into_inner()).remove(&self.0);
    }
}

impl Invoker {
    /// Wraps the JavaScript function `(request) => void` that answers through `invokeDone`.
    pub fn new(callback: Function<'_, NativeInvokeRequest, Unknown<'static>>) -> napi::Result<Invoker> {
        let tsfn = callback
            .build_threadsafe_function::<(u64, Request)>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(|ctx: napi::threadsafe_function::ThreadsafeCallContext<(u64, Request)>| {
                let (id, r) = ctx.value;
                Ok(NativeInvokeRequest {
                    id: id as f64,
                    target: r.target,
                    method: r.method,
                    path: r.path,
                    query: r.query,
                    headers: r.headers,
                    body: Buffer::from(r.body),
                    depth: r.depth,
                    remaining_ms: r.remaining_ms,
                })
            })?;
        Ok(Invoker { tsfn })
    }

    async fn invoke(&self, request: Request) -> Result<Answer, String> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::oneshot::channel();
        pending().lock().unwrap_or_else(|p| p.into_inner()).insert(id, tx);
        let _slot = Slot(id);
        let status = self.tsfn.call((id, request), ThreadsafeFunctionCallMode::NonBlocking);
        if status != napi::Status::Ok {
            return Err(format!("the host is not taking function calls ({status})"));
        }
        rx.await.map_err(|_| "the host dropped the function call".to_string())
    }
}

/// Completes call `id` with the answer JavaScript made (lib.rs `invokeDone`).
pub fn done(id: u64, answer: Answer) {
    if let Some(tx) = pending().lock().unwrap_or_else(|p| p.into_inner()).remove(&id) {
        let _ = tx.send(answer);
    }
}

/// Header bytes as the host's strings carry them: one char per byte.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn answer_body(body: Vec<u8>) -> WasiBody {
    Full::new(Bytes::from(body)).map_err(|never: std::convert::Infallible| match never {}).boxed_unsync()
}

/// A wasi:http request to `{name}.wafer.internal`, handed to the host's pipeline.
async fn call_function(invoker: Arc<Invoker>, call: CallContext, name: String, request: http::Request<WasiBody>) -> Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>), HttpError> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, call.max_body).collect().await.map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            HttpError::HttpRequestBodySize(Some(call.max_body as u64))
        } else {
            HttpError::HttpRequestDenied
        }
    })?;
    let mut headers = Vec::new();
    for (name, value) in &parts.headers {
        headers.push(name.as_str().to_string());
        headers.push(latin1(value.as_bytes()));
    }
    let path = parts.uri.path();
    let request = Request {
        target: name,
        method: parts.method.as_str().to_string(),
        path: if path.is_empty() { "/".into() } else { path.to_string() },
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers,
        body: body.to_bytes().to_vec(),
        depth: call.depth + 1,
        remaining_ms: call.deadline.saturating_duration_since(Instant::now()).as_secs_f64() * 1000.0,
    };
    let answer = invoker.invoke(request).await.map_err(|_| HttpError::HttpRequestDenied)?;
    let mut builder = http::Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        let value: Vec<u8> = value.chars().filter_map(|c| u8::try_from(u32::from(c)).ok()).collect();
        builder = builder.header(name.as_str(), value);
    }
    let response = builder.body(answer_body(answer.body)).map_err(|_| HttpError::HttpResponseIncomplete)?;
    Ok((response, Box::new(async { Ok(()) })))
}

/// Adds the wafer ABI 1.1 import `wafer:function/host@1.1.0` `invoke` to the handler world:
/// `invoke(target, request)` calls function `target` of this host with a wafer.v1 `Request`
/// envelope and answers its `Response` envelope (abi/ABI.md). Refusals by the host (no such
/// function, overloaded, the depth limit) are answers with their JSON error; `err` is only for
/// a call that cannot be made at all (an envelope that does not decode, no pipeline).
pub fn link_invoke(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    let mut host = linker.instance(HOST_INTERFACE)?;
    host.func_wrap_async("invoke", |store: wasmtime::StoreContextMut<'_, State>, (target, request): (String, Vec<u8>)| {
        let call = store.data().outbound_call().clone();
        Box::new(async move {
            let result = invoke_envelope(call, target, request).await;
            Ok((result,))
        })
    })?;
    Ok(())
}

async fn invoke_envelope(call: CallContext, target: String, request: Vec<u8>) -> Result<Vec<u8>, String> {
    let Some(invoker) = call.invoker.clone() else {
        return Err("this host does not run function calls".into());
    };
    if request.len() > call.max_body {
        return Err(format!("the request is {} bytes, over the limit of {} bytes", request.len(), call.max_body));
    }
    let r = crate::http::envelope::decode_request(&request).map_err(|e| format!("cannot decode the request envelope: {e}"))?;
    let mut headers = Vec::with_capacity(r.headers.len() * 2);
    for (name, value) in r.headers {
        headers.push(name);
        headers.push(value);
    }
    let request = Request {
        target,
        method: if r.method.is_empty() { "GET".into() } else { r.method },
        path: if r.path.is_empty() { "/".into() } else { r.path },
        query: r.query,
        headers,
        body: r.body,
        depth: call.depth + 1,
        remaining_ms: call.deadline.saturating_duration_since(Instant::now()).as_secs_f64() * 1000.0,
    };
    let answer = invoker.invoke(request).await?;
    let headers = answer.headers.iter().map(|(n, v)| (n.as_str(), v.clone()));
    Ok(crate::http::envelope::encode_response(answer.status, headers, &answer.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matches_hosts() {
        assert_eq!(allowed(&list(&["api.example.com"]), "api.example.com", 80), Some(Matched::Exact));
        assert_eq!(allowed(&list(&["api.example.com"]), "example.com", 80), None);
        assert_eq!(allowed(&list(&["*.example.org"]), "a.example.org", 80), Some(Matched::Wildcard));
        assert_eq!(allowed(&list(&["*.example.org"]), "example.org", 80), None);
        assert_eq!(allowed(&list(&["*.example.org"]), "evilexample.org", 80), None);
        assert_eq!(allowed(&list(&["127.0.0.1:8080"]), "127.0.0.1", 8080), Some(Matched::Exact));
        assert_eq!(allowed(&list(&["127.0.0.1:8080"]), "127.0.0.1", 8081), None);
        assert_eq!(allowed(&list(&["*"]), "x", 1), Some(Matched::Wildcard));
        assert_eq!(allowed(&list(&["[::1]:80"]), "[::1]", 80), Some(Matched::Exact));
    }

    #[test]
    fn special_addresses() {
        for ip in ["127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.1.1", "0.0.0.0", "::1", "fd00::1", "::ffff:127.0.0.1", "100.64.0.1"] {
            assert!(special(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1"] {
            assert!(!special(ip.parse().unwrap()), "{ip}");
        }
    }
}
