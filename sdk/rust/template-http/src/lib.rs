//! {{name}} — a standard wasi:http/proxy function: the host hands every HTTP request to
//! /fn/{{name}}[/<rest>] to `handle`. No wafer SDK: the `wasi` crate's bindings, so the same
//! component runs on any wasi:http host (`wasmtime serve`, Spin, wafer's wasmtime engine).
//! Build it with `npx wafer build .`; see docs/rust.md.
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Function;

impl Guest for Function {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_default();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let name = query
            .split('&')
            .find_map(|part| part.strip_prefix("name="))
            .filter(|name| !name.is_empty())
            .unwrap_or("world");

        let headers = Fields::from_list(&[("content-type".into(), b"text/plain; charset=utf-8".to_vec())]).unwrap();
        let response = OutgoingResponse::new(headers);
        let body = response.body().unwrap();
        ResponseOutparam::set(response_out, Ok(response));
        {
            let stream = body.write().unwrap();
            // blocking-write-and-flush takes at most 4096 bytes a call.
            stream.blocking_write_and_flush(format!("Hello, {name}!\n").as_bytes()).unwrap();
        }
        OutgoingBody::finish(body, None).unwrap();
    }
}

wasi::http::proxy::export!(Function);
