//! http-chain — calls another function (samples/README.md, "http-chain"): it GETs
//! `http://hello-rust.wafer.internal/?name=<its own name parameter, as received>` through
//! `wasi:http/outgoing-handler` (the host routes `*.wafer.internal` to the function of that
//! name, in process) and answers `chain: <hello's body>`. A standard `wasi:http/proxy`
//! component written against the `wasi` crate, no wafer SDK.
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam, Scheme};

/// The function it calls.
const CALLEE: &str = "hello-rust.wafer.internal";

struct Chain;

impl Guest for Chain {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_default();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let name = query.split('&').find_map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (k == "name").then_some(v)
        });
        let path = match name {
            Some(name) => format!("/?name={name}"),
            None => "/".to_string(),
        };
        let (status, body) = match call(&path) {
            Ok((200, body)) => (200, [b"chain: ".as_slice(), &body].concat()),
            Ok((status, body)) => (502, [format!("chain: {CALLEE} answered {status}: ").as_bytes(), &body].concat()),
            Err(error) => (502, format!("chain: calling {CALLEE} failed: {error}").into_bytes()),
        };
        respond(response_out, status, &body);
    }
}

wasi::http::proxy::export!(Chain);

/// GET http://hello-rust.wafer.internal<path>: its status and whole body.
fn call(path: &str) -> Result<(u16, Vec<u8>), String> {
    let request = OutgoingRequest::new(Fields::new());
    request.set_scheme(Some(&Scheme::Http)).map_err(|()| "bad scheme")?;
    request.set_authority(Some(CALLEE)).map_err(|()| "bad authority")?;
    request.set_path_with_query(Some(path)).map_err(|()| "bad path")?;
    let future = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(format!("{e:?}")),
        other => return Err(format!("{other:?}")),
    };
    let status = response.status();
    let mut out = Vec::new();
    let body = response.consume().map_err(|()| "no response body")?;
    {
        let stream = body.stream().map_err(|()| "no response body stream")?;
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            out.extend_from_slice(&chunk);
        }
    }
    drop(body);
    Ok((status, out))
}

fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
    let headers = Fields::from_list(&[
        ("content-type".into(), b"text/plain; charset=utf-8".to_vec()),
        ("x-wafer-sample".into(), b"chain".to_vec()),
    ])
    .expect("valid headers");
    let response = OutgoingResponse::new(headers);
    response.set_status_code(status).expect("a valid status");
    let out_body = response.body().expect("a fresh response has a body");
    ResponseOutparam::set(out, Ok(response));
    {
        let stream = out_body.write().expect("a fresh body has a stream");
        for chunk in body.chunks(4096) {
            stream.blocking_write_and_flush(chunk).expect("write the body");
        }
    }
    OutgoingBody::finish(out_body, None).expect("finish the body");
}
