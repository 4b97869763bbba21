//! hello — greets whoever the body or `?name=` names (samples/README.md).
use wafer::{Request, Response};

fn handle(req: Request) -> Response {
    let name = if !req.body.is_empty() {
        req.body
    } else {
        req.query_param("name")
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| b"world".to_vec())
    };
    let mut body = b"Hello, ".to_vec();
    body.extend_from_slice(&name);
    body.push(b'!');
    Response::new(200)
        .header("content-type", "text/plain; charset=utf-8")
        .header("x-wafer-sample", "hello")
        .header("x-wafer-method", req.method)
        .header("x-wafer-path", req.path)
        .body(body)
}

wafer::export!(handle);
