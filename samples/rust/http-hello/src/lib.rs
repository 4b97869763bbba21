//! http-hello — the `hello` sample (samples/README.md) as a standard `wasi:http/proxy`
//! component: written against the `wasi` crate's bindings, with no wafer SDK, so any wasi:http
//! host (`wasmtime serve`, Spin, wafer) runs it unchanged.
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Hello;

impl Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = method_name(&request.method());
        let target = request.path_with_query().unwrap_or_else(|| "/".into());
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let body = read_body(&request);
        let name = if !body.is_empty() {
            body
        } else {
            query_param(query, "name").filter(|n| !n.is_empty()).unwrap_or_else(|| b"world".to_vec())
        };
        let mut text = b"Hello, ".to_vec();
        text.extend_from_slice(&name);
        text.push(b'!');

        let headers = Fields::from_list(&[
            ("content-type".into(), b"text/plain; charset=utf-8".to_vec()),
            ("x-wafer-sample".into(), b"hello".to_vec()),
            ("x-wafer-method".into(), method.into_bytes()),
            ("x-wafer-path".into(), path.as_bytes().to_vec()),
        ])
        .expect("valid headers");
        let response = OutgoingResponse::new(headers);
        let out_body = response.body().expect("a fresh response has a body");
        ResponseOutparam::set(response_out, Ok(response));
        {
            let stream = out_body.write().expect("a fresh body has a stream");
            // blocking-write-and-flush takes at most 4096 bytes a call.
            for chunk in text.chunks(4096) {
                stream.blocking_write_and_flush(chunk).expect("write the body");
            }
        }
        OutgoingBody::finish(out_body, None).expect("finish the body");
    }
}

wasi::http::proxy::export!(Hello);

fn method_name(m: &wasi::http::types::Method) -> String {
    use wasi::http::types::Method::*;
    match m {
        Get => "GET".into(),
        Head => "HEAD".into(),
        Post => "POST".into(),
        Put => "PUT".into(),
        Delete => "DELETE".into(),
        Connect => "CONNECT".into(),
        Options => "OPTIONS".into(),
        Trace => "TRACE".into(),
        Patch => "PATCH".into(),
        Other(s) => s.clone(),
    }
}

/// The whole request body (the host bounds its size).
fn read_body(request: &IncomingRequest) -> Vec<u8> {
    let mut out = Vec::new();
    let Ok(body) = request.consume() else { return out };
    {
        let Ok(stream) = body.stream() else { return out };
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            out.extend_from_slice(&chunk);
        }
    }
    drop(body);
    out
}

/// Query parameter `key` as samples/README.md defines it: first match, `+` → space, `%XY` decoded.
fn query_param(query: &str, key: &str) -> Option<Vec<u8>> {
    query.split('&').find_map(|part| {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        (k == key).then(|| decode(v.as_bytes()))
    })
}

fn decode(v: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < v.len() => {
                match (hex(v[i + 1]), hex(v[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}
