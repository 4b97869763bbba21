//! The one world wafer 1.x accepts: an exported `handle: func(list<u8>) -> result<list<u8>, string>`.

use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::Component;
use wasmtime::Engine;

/// The Rust types `handle` is called with; `world.wit` and this must agree. The results are
/// lifted into owned values: wasmtime 48 runs the guest's post-return inside `call`, so a
/// `WasmList` would point at memory the guest may already have reused by the time it is read.
pub type HandleParams<'a> = (&'a [u8],);
pub type HandleResults = (Result<Vec<u8>, String>,);

fn describe(ty: &Type) -> String {
    match ty {
        Type::List(l) => format!("list<{}>", describe(&l.ty())),
        Type::Result(r) => format!(
            "result<{}, {}>",
            r.ok().map(|t| describe(&t)).unwrap_or_else(|| "_".into()),
            r.err().map(|t| describe(&t)).unwrap_or_else(|| "_".into())
        ),
        Type::U8 => "u8".into(),
        Type::String => "string".into(),
        Type::Option(o) => format!("option<{}>", describe(&o.ty())),
        // Other kinds by name only: their Debug output carries internal type handles.
        other => {
            let debug = format!("{other:?}");
            debug.split('(').next().unwrap_or("?").to_lowercase()
        }
    }
}

fn is_bytes(ty: &Type) -> bool {
    matches!(ty, Type::List(l) if matches!(l.ty(), Type::U8))
}

/// Checks the component exports `handle` with wafer's signature; the error names what differs.
pub fn check_handle(engine: &Engine, component: &Component) -> Result<(), String> {
    let ty = component.component_type();
    let export = ty.get_export(engine, "handle").ok_or_else(|| {
        let names: Vec<&str> = ty.exports(engine).map(|(n, _)| n).collect();
        if names.is_empty() {
            "component exports nothing; expected `handle: func(list<u8>) -> result<list<u8>, string>`".to_string()
        } else {
            format!(
                "component does not export `handle` (exports: {}); expected `handle: func(list<u8>) -> result<list<u8>, string>`",
                names.join(", ")
            )
        }
    })?;
    let func = match export.ty {
        ComponentItem::ComponentFunc(f) => f,
        _ => return Err("export `handle` is not a function".into()),
    };
    if func.async_() {
        return Err("export `handle` is an async function; wafer 1.x calls a synchronous `handle`".into());
    }
    let params: Vec<Type> = func.params().map(|(_, t)| t).collect();
    let results: Vec<Type> = func.results().collect();
    let params_ok = params.len() == 1 && is_bytes(&params[0]);
    let results_ok = results.len() == 1
        && matches!(&results[0], Type::Result(r)
            if r.ok().as_ref().is_some_and(is_bytes) && matches!(r.err(), Some(Type::String)));
    if params_ok && results_ok {
        return Ok(());
    }
    let sig = format!(
        "func({}) -> {}",
        params.iter().map(describe).collect::<Vec<_>>().join(", "),
        match results.as_slice() {
            [] => "()".to_string(),
            [one] => describe(one),
            many => format!("({})", many.iter().map(describe).collect::<Vec<_>>().join(", ")),
        }
    );
    Err(format!(
        "export `handle` has type `{sig}`; expected `func(list<u8>) -> result<list<u8>, string>`"
    ))
}
