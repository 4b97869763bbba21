//! http-echo — answers the request back (samples/README.md, "http-echo"): its method, path,
//! query and headers as `x-echo-*` headers, its body as the body, with the status `?status=`
//! asks for. A standard `wasi:http/proxy` component written against the `wasi` crate, no wafer SDK.
use std::collections::BTreeMap;

use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Echo;

impl Guest for Echo {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = method_name(&request.method());
        let target = request.path_with_query().unwrap_or_else(|| "/".into());
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let mut headers: Vec<(String, Vec<u8>)> = vec![
            ("content-type".into(), b"application/octet-stream".to_vec()),
            ("x-wafer-sample".into(), b"echo".to_vec()),
            ("x-echo-method".into(), method.into_bytes()),
            ("x-echo-path".into(), path.as_bytes().to_vec()),
            ("x-echo-query".into(), query.as_bytes().to_vec()),
        ];
        // Sorted by name, the values of a repeated header joined with ", ".
        let mut received: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for (name, value) in request.headers().entries() {
            received.entry(name.to_ascii_lowercase()).or_default().push(value);
        }
        for (name, values) in received {
            headers.push((format!("x-echo-{name}"), values.join(&b", "[..])));
        }
        let body = read_body(&request);

        let response = OutgoingResponse::new(Fields::from_list(&headers).expect("valid headers"));
        response.set_status_code(status(query)).expect("a valid status");
        let out_body = response.body().expect("a fresh response has a body");
        ResponseOutparam::set(response_out, Ok(response));
        {
            let stream = out_body.write().expect("a fresh body has a stream");
            // blocking-write-and-flush takes at most 4096 bytes a call.
            for chunk in body.chunks(4096) {
                stream.blocking_write_and_flush(chunk).expect("write the body");
            }
        }
        OutgoingBody::finish(out_body, None).expect("finish the body");
    }
}

wasi::http::proxy::export!(Echo);

/// Query parameter `status` if it is a decimal integer from 200 to 599 that may carry a body; else 200.
fn status(query: &str) -> u16 {
    let Some(part) = query.split('&').find(|p| *p == "status" || p.starts_with("status=")) else { return 200 };
    let value = part.strip_prefix("status=").unwrap_or("");
    let n: u16 = if value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit()) { value.parse().unwrap_or(0) } else { 0 };
    if (200..=599).contains(&n) && ![204, 205, 304].contains(&n) { n } else { 200 }
}

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
