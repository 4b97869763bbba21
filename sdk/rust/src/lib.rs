//! # wafer — write a wafer function in Rust
//!
//! A function is a crate of type `cdylib` with one handler, declared with [`export!`]:
//!
//! ```
//! use wafer::{Request, Response};
//!
//! fn handle(req: Request) -> Response {
//!     Response::text(200, format!("Hello, {}!", req.text()))
//! }
//!
//! wafer::export!(handle);
//! ```
//!
//! The SDK hides the ABI (`abi/ABI.md`): the component export `handle` of world
//! `wafer:function/handler@1.0.0`, and the protobuf envelope around the request and response.
//! A handler may also return `Result<Response, E>` with `E: Display`; an `Err` becomes the
//! ABI's `err(message)`, which the host answers with 500 `function_error`.
//!
//! Build a function into a component with `sdk/rust/build.sh <crate-dir> <out.wasm>`.

pub mod codec;
mod request;
mod response;

pub use request::Request;
pub use response::{IntoOutcome, Response};

/// Decodes the request, runs the handler, encodes its outcome. Used by [`export!`].
#[doc(hidden)]
pub fn __run<F, R>(handler: F, request: &[u8]) -> Result<Vec<u8>, String>
where
    F: FnOnce(Request) -> R,
    R: IntoOutcome,
{
    let request = codec::decode_request(request).map_err(|e| e.to_string())?;
    let response = handler(request).into_outcome()?;
    Ok(codec::encode_response(&response))
}

#[cfg(target_family = "wasm")]
#[doc(hidden)]
pub mod __bindings {
    // The WIT lives once, in abi/; the SDK generates its export glue from it.
    wit_bindgen::generate!({
        path: "../../abi/wit/1.0.0",
        world: "wafer:function/handler@1.0.0",
        pub_export_macro: true,
        export_macro_name: "__export_world",
    });
}

/// Exports `handler` as the component's `handle` function.
///
/// `handler` is a path to a function `fn(Request) -> Response` or
/// `fn(Request) -> Result<Response, E>` with `E: Display`. Use it once per crate. The handler's
/// type is checked on every target, but the export exists only on wasm, so the crate also
/// builds (and `cargo test`s) on the host.
#[macro_export]
macro_rules! export {
    ($handler:path) => {
        const _: fn(&[u8]) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> =
            |request| $crate::__run($handler, request);

        #[cfg(target_family = "wasm")]
        const _: () = {
            struct WaferGuest;

            impl $crate::__bindings::Guest for WaferGuest {
                fn handle(
                    request: ::std::vec::Vec<u8>,
                ) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                    $crate::__run($handler, &request)
                }
            }

            $crate::__bindings::__export_world! { WaferGuest with_types_in $crate::__bindings }
        };
    };
}
