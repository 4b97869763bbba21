//! Reads an upload's component types for validation, before any engine sees it: validates the
//! binary with wasmparser (the wasm features wasmtime 48 enables in this build) and returns the
//! top-level imports and exports, with function signatures rendered structurally in WIT syntax
//! (`list<u8>`, `result<list<u8>, string>`), as a JSON string: `{"imports":{…},"exports":{…}}`
//! or `{"error":"…"}`. The executors (host/src/executors/) match worlds against it.
//!
//! Hostile input: it runs on a thread of its own with a large stack, under `catch_unwind`, and
//! the rendering has a depth limit and a node budget, so a type graph that shares subtrees
//! (each level naming the previous one twice) cannot blow up into exponential text.

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::Buffer;
use napi::{Error, Result, Status};
use napi_derive::napi;
use wasmparser::component_types::{ComponentDefinedType, ComponentEntityType, ComponentValType};
use wasmparser::types::TypesRef;
use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};

/// Stack of the inspecting thread: wasmparser's nesting limits keep it far below this.
const STACK_BYTES: usize = 64 * 1024 * 1024;
/// Type nodes rendered per inspection; past it types render as `…`.
const NODE_BUDGET: usize = 1_000_000;
/// Nesting rendered per type; deeper parts render as `…`.
const MAX_DEPTH: u32 = 32;

/// The wasm features of wasmtime 48's default `Config` in this build (cranelift on x86-64, no
/// `gc`, `threads` or `component-model-async` crate features): see wasmtime's `Config::features`.
fn engine_features() -> WasmFeatures {
    let mut features = WasmFeatures::WASM3;
    features.set(WasmFeatures::GC_TYPES, false);
    features.set(WasmFeatures::EXCEPTIONS, false);
    features.set(WasmFeatures::THREADS, false);
    features.set(WasmFeatures::COMPONENT_MODEL, true);
    features.set(WasmFeatures::CM_ASYNC, false);
    features
}

/// Validates `bytes` as a component and answers its imports and exports as JSON (see the module doc).
#[napi(js_name = "inspectComponent")]
pub fn inspect_component(bytes: Buffer) -> Result<String> {
    let bytes: Vec<u8> = bytes.to_vec();
    let worker = std::thread::Builder::new()
        .name("wafer-inspect".into())
        .stack_size(STACK_BYTES)
        .spawn(move || catch_unwind(AssertUnwindSafe(|| inspect(&bytes))))
        .map_err(|e| Error::new(Status::GenericFailure, format!("could not start the inspector: {e}")))?;
    let answer = match worker.join() {
        Ok(Ok(Ok(json))) => json,
        Ok(Ok(Err(message))) => format!("{{\"error\":{}}}", quote(&message)),
        Ok(Err(_)) | Err(_) => "{\"error\":\"the component inspector panicked on this input\"}".to_string(),
    };
    Ok(answer)
}

fn inspect(bytes: &[u8]) -> std::result::Result<String, String> {
    let mut validator = Validator::new_with_features(engine_features());
    let types = validator.validate_all(bytes).map_err(|e| e.to_string())?;
    let types = types.as_ref();
    let (imports, exports) = top_level_names(bytes)?;
    let mut render = Render { types, budget: NODE_BUDGET };
    let mut out = String::from("{\"imports\":{");
    for (i, name) in imports.iter().enumerate() {
        let item = types.component_item_for_import(name).ok_or_else(|| format!("import {name} has no type"))?;
        entry(&mut out, i, name, &render.item(&item.ty, 0));
    }
    out.push_str("},\"exports\":{");
    for (i, name) in exports.iter().enumerate() {
        let item = types.component_item_for_export(name).ok_or_else(|| format!("export {name} has no type"))?;
        entry(&mut out, i, name, &render.item(&item.ty, 0));
    }
    out.push_str("}}");
    Ok(out)
}

/// The names the outermost component imports and exports, in order (nested ones are skipped).
fn top_level_names(bytes: &[u8]) -> std::result::Result<(Vec<String>, Vec<String>), String> {
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| e.to_string())? {
            Payload::Version { encoding, .. } => {
                depth += 1;
                if depth == 1 && encoding != Encoding::Component {
                    return Err("not a component".into());
                }
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    imports.push(import.map_err(|e| e.to_string())?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    exports.push(export.map_err(|e| e.to_string())?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

struct Render<'a> {
    types: TypesRef<'a>,
    budget: usize,
}

impl Render<'_> {
    /// One import or export (or an instance's export) as a JSON object.
    fn item(&mut self, ty: &ComponentEntityType, depth: u32) -> String {
        let kind = |k: &str| format!("{{\"kind\":\"{k}\"}}");
        let types = self.types;
        match ty {
            ComponentEntityType::Func(id) => {
                let func = &types[*id];
                let mut out = String::from("{\"kind\":\"func\",\"params\":[");
                for (i, (name, param)) in func.params.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let rendered = self.val(param, 0);
                    let _ = write!(out, "{{\"name\":{},\"type\":{}}}", quote(name.as_str()), quote(&rendered));
                }
                out.push(']');
                if let Some(result) = &func.result {
                    let rendered = self.val(result, 0);
                    let _ = write!(out, ",\"result\":{}", quote(&rendered));
                }
                let _ = write!(out, ",\"async\":{}}}", func.async_);
                out
            }
            ComponentEntityType::Instance(id) if depth < 2 => {
                let mut out = String::from("{\"kind\":\"instance\",\"exports\":{");
                for (i, (name, export)) in types[*id].exports.iter().enumerate() {
                    let rendered = self.item(&export.ty, depth + 1);
                    entry(&mut out, i, name, &rendered);
                }
                out.push_str("}}");
                out
            }
            ComponentEntityType::Instance(_) => "{\"kind\":\"instance\",\"exports\":{}}".into(),
            ComponentEntityType::Module(_) => kind("module"),
            ComponentEntityType::Component(_) => kind("component"),
            ComponentEntityType::Type { .. } => kind("type"),
            ComponentEntityType::Value(_) => kind("value"),
        }
    }

    /// A value type in WIT syntax, within the node budget and depth limit.
    fn val(&mut self, ty: &ComponentValType, depth: u32) -> String {
        if self.budget == 0 || depth > MAX_DEPTH {
            return "…".into();
        }
        self.budget -= 1;
        let id = match ty {
            ComponentValType::Primitive(p) => return p.to_string(),
            ComponentValType::Type(id) => *id,
        };
        let d = depth + 1;
        let types = self.types;
        match &types[id] {
            ComponentDefinedType::Primitive(p) => p.to_string(),
            ComponentDefinedType::List { element, .. } => format!("list<{}>", self.val(element, d)),
            ComponentDefinedType::FixedLengthList { element, length, .. } => format!("list<{}, {length}>", self.val(element, d)),
            ComponentDefinedType::Map { key, value, .. } => format!("map<{}, {}>", self.val(key, d), self.val(value, d)),
            ComponentDefinedType::Option { ty, .. } => format!("option<{}>", self.val(ty, d)),
            ComponentDefinedType::Result { ok, err, .. } => match (ok, err) {
                (None, None) => "result".into(),
                (Some(ok), None) => format!("result<{}>", self.val(ok, d)),
                (None, Some(err)) => format!("result<_, {}>", self.val(err, d)),
                (Some(ok), Some(err)) => format!("result<{}, {}>", self.val(ok, d), self.val(err, d)),
            },
            ComponentDefinedType::Tuple(t) => {
                let parts: Vec<String> = t.types.iter().map(|e| self.val(e, d)).collect();
                format!("tuple<{}>", parts.join(", "))
            }
            ComponentDefinedType::Record(r) => {
                let fields: Vec<String> = r.fields.iter().map(|(n, t)| format!("{}: {}", n.as_str(), self.val(t, d))).collect();
                format!("record {{ {} }}", fields.join(", "))
            }
            ComponentDefinedType::Variant(v) => {
                let cases: Vec<String> = v
                    .cases
                    .iter()
                    .map(|(n, c)| match &c.ty {
                        Some(t) => format!("{}({})", n.as_str(), self.val(t, d)),
                        None => n.as_str().to_string(),
                    })
                    .collect();
                format!("variant {{ {} }}", cases.join(", "))
            }
            ComponentDefinedType::Enum(cases) => format!("enum {{ {} }}", cases.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")),
            ComponentDefinedType::Flags(flags) => format!("flags {{ {} }}", flags.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")),
            ComponentDefinedType::Own(_) => "own<resource>".into(),
            ComponentDefinedType::Borrow(_) => "borrow<resource>".into(),
            ComponentDefinedType::Future { ty, .. } => match ty {
                Some(t) => format!("future<{}>", self.val(t, d)),
                None => "future".into(),
            },
            ComponentDefinedType::Stream { ty, .. } => match ty {
                Some(t) => format!("stream<{}>", self.val(t, d)),
                None => "stream".into(),
            },
        }
    }
}

/// Appends `"name":value` to a JSON object being written (`value` is JSON already).
fn entry(out: &mut String, index: usize, name: &str, value: &str) {
    if index > 0 {
        out.push(',');
    }
    out.push_str(&quote(name));
    out.push(':');
    out.push_str(value);
}

/// `text` as a JSON string literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
