//! The seam between the addon and the worlds (ABIs) it runs, one per executor on the TypeScript
//! side (host/src/executors/). A world owns three things: whether a component fits it (`check`,
//! which also finds the export calls enter by), the imports its guests get (`link`), and how a
//! call enters the guest and what it answers (`enter`). Everything else about a call (the store,
//! limits, epochs, the executor, instance reuse) is the same for every world (call.rs).
//!
//! Two worlds: `wafer:function/handler@1.x` (an exported
//! `handle: func(list<u8>) -> result<list<u8>, string>`) and `wasi:http/proxy@0.2.x` (an exported
//! `wasi:http/incoming-handler@0.2.x`, http.rs).

use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, Instance, Linker};
use wasmtime::{Engine, Store};

use crate::call::State;

/// A world this addon runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    /// `wafer:function/handler@1.x`.
    Handler,
    /// `wasi:http/proxy@0.2.x`, every 0.2 minor (http.rs).
    Http,
}

/// What a guest answered, before the host's limits on output apply.
pub enum Answer {
    Output(Vec<u8>),
    /// The guest's own error (`err(message)` in the handler world, an `error-code` set as the
    /// response in the http world).
    FunctionError(String),
    /// The guest answered nothing usable (http world: no response set, an unfinished body).
    BadResponse(String),
}

impl World {
    /// The world of a name the host stores (host/src/executors/, e.g. `wafer:function/handler@1.0.0`);
    /// none given is the handler world (records older than worlds).
    pub fn from_name(name: Option<&str>) -> Result<World, String> {
        match name {
            None => Ok(World::Handler),
            Some(n) if n.starts_with("wafer:function/handler@1.") => Ok(World::Handler),
            Some(n) if n.starts_with("wasi:http/proxy@0.2.") => Ok(World::Http),
            Some(other) => Err(format!("the wasmtime engine does not run world {other}")),
        }
    }

    /// Checks `component` fits the world; answers the export its calls enter by.
    pub fn check(self, engine: &Engine, component: &Component) -> Result<ComponentExportIndex, String> {
        match self {
            World::Handler => {
                check_handle(engine, component)?;
                component
                    .get_export_index(None, "handle")
                    .ok_or_else(|| "component does not export `handle`".to_string())
            }
            World::Http => {
                let ty = component.component_type();
                if let Some((name, _)) = ty.imports(engine).find(|(name, _)| !crate::http::allowed_import(name)) {
                    return Err(format!(
                        "the component imports {name}, which the wasi:http/proxy world does not provide (it gets wasi:http, io, clocks, random, cli, filesystem and sockets 0.2)"
                    ));
                }
                let export = ty
                    .exports(engine)
                    .map(|(name, _)| name)
                    .find(|name| name.starts_with(crate::http::HANDLER))
                    .ok_or_else(|| "component does not export wasi:http/incoming-handler@0.2.x".to_string())?;
                let handler = component
                    .get_export_index(None, export)
                    .ok_or_else(|| format!("component does not export {export}"))?;
                component
                    .get_export_index(Some(&handler), "handle")
                    .ok_or_else(|| format!("{export} has no `handle`"))
            }
        }
    }

    /// Adds the imports the world's guests may use.
    pub fn link(self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        match self {
            // WASI preview 2, sandboxed per call by the store's `WasiCtx` (call.rs), and the
            // ABI 1.1 `invoke` import (outbound.rs); a 1.0 guest imports nothing of it.
            World::Handler => {
                wasmtime_wasi::p2::add_to_linker_async(linker)?;
                crate::outbound::link_invoke(linker)
            }
            // The same WASI (check refuses sockets imports; the store allows no sockets anyway,
            // and preopens nothing) plus wasi:http, whose outbound requests the store's hooks govern (outbound.rs).
            World::Http => {
                wasmtime_wasi::p2::add_to_linker_async(linker)?;
                wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
            }
        }
    }

    /// Calls the guest through `entry` with the request `input`. The outer error is the host's
    /// (the export has the wrong type after all); the inner one is the guest's trap or a limit.
    pub async fn enter(
        self,
        store: &mut Store<State>,
        instance: Instance,
        entry: &ComponentExportIndex,
        input: &[u8],
        max_output: usize,
        io: Option<crate::stream::Io>,
    ) -> Result<wasmtime::Result<Answer>, String> {
        match self {
            World::Handler => {
                let func = instance
                    .get_typed_func::<HandleParams<'_>, HandleResults>(&mut *store, entry)
                    .map_err(|e| format!("cannot find `handle`: {e:#}"))?;
                Ok(func.call_async(&mut *store, (input,)).await.map(|(r,)| match r {
                    Ok(output) => Answer::Output(output),
                    Err(message) => Answer::FunctionError(message),
                }))
            }
            World::Http => match io {
                None => crate::http::enter(store, instance, entry, input, max_output).await,
                Some(io) => crate::http::enter_stream(store, instance, entry, input, max_output, io).await,
            },
        }
    }
}

/// The Rust types `handle` is called with; `world.wit` and this must agree. The results are
/// lifted into owned values: wasmtime 48 runs the guest's post-return inside `call`, so a
/// `WasmList` would point at memory the guest may already have reused by the time it is read.
type HandleParams<'a> = (&'a [u8],);
type HandleResults = (Result<Vec<u8>, String>,);

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
fn check_handle(engine: &Engine, component: &Component) -> Result<(), String> {
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
