//! A wafer function (see docs/rust.md in the wafer repository).
//! Build: `npx wafer build .` or `<wafer>/sdk/rust/build.sh . fn.wasm`; deploy:
//! `npx wafer deploy <name> fn.wasm`; call: `npx wafer invoke <name> '?name=Ada'`.
use wafer::{Request, Response};

fn handle(req: Request) -> Response {
    let name = req
        .query_param("name")
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .unwrap_or_else(|| "world".to_string());
    Response::text(200, format!("Hello, {name}!\n"))
}

wafer::export!(handle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_the_name_parameter() {
        let req = Request {
            query: "name=Ada".into(),
            ..Default::default()
        };
        assert_eq!(handle(req).body, b"Hello, Ada!\n");
    }
}
