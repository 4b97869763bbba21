//! json — parses a JSON object, greets `name` and sums `numbers` (samples/README.md).
use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use wafer::{Request, Response};

/// Numbers must be whole with magnitude at most 2^53 (exactly representable in every language).
const MAX_MAGNITUDE: i64 = 1 << 53;

fn handle(req: Request) -> Response {
    let (status, body) = match summarize(&req.body) {
        Ok(body) => (200, body),
        Err(message) => (
            400,
            format!("{{\"error\":{}}}", json_string(message.encode_utf16())),
        ),
    };
    Response::new(status)
        .header("content-type", "application/json")
        .header("x-wafer-sample", "json")
        .body(body)
}

fn summarize(body: &[u8]) -> Result<String, &'static str> {
    let fields = parse_object(body).ok_or("body is not a JSON object")?;
    let name = match fields.name {
        None => "world".encode_utf16().collect(),
        Some(raw) => utf16_of_string_literal(raw.get()).ok_or("name must be a string")?,
    };
    let numbers = match fields.numbers {
        None => Some(Vec::new()),
        Some(raw) => serde_json::from_str::<Vec<&RawValue>>(raw.get())
            .ok()
            .and_then(|items| items.iter().map(|item| whole_number(item.get())).collect()),
    }
    .ok_or("numbers must be an array of integers")?;
    // i128: 2^53 per item never overflows; the sum is exact, not a float.
    let sum: i128 = numbers.iter().map(|&n| i128::from(n)).sum();
    Ok(format!(
        "{{\"greeting\":{},\"count\":{},\"sum\":{}}}",
        json_string(
            "Hello, "
                .encode_utf16()
                .chain(name)
                .chain("!".encode_utf16())
        ),
        numbers.len(),
        sum
    ))
}

/// The two members we read, as raw JSON text. Every other member is skipped without building
/// a tree (serde_json skips iteratively), so nesting depth elsewhere does not matter, as in
/// JavaScript's JSON.parse. A repeated key: the last one wins, as in JSON.parse.
#[derive(Default)]
struct Fields<'a> {
    name: Option<&'a RawValue>,
    numbers: Option<&'a RawValue>,
}

/// The body's `name` and `numbers` if the whole body is valid JSON whose top level is an object.
fn parse_object(body: &[u8]) -> Option<Fields<'_>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let fields = de.deserialize_map(FieldsVisitor).ok()?;
    de.end().ok()?;
    Some(fields)
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match &*key {
                "name" => fields.name = Some(map.next_value()?),
                "numbers" => fields.numbers = Some(map.next_value()?),
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(fields)
    }
}

/// The value of a JSON number if it is whole with magnitude at most 2^53, judged exactly as
/// written (`raw` is the JSON text of one array item): `1e3` and `2.0` qualify,
/// `1.5`, `1.00000000000000001` and `9007199254740993` do not. Same rule as samples/ts/json.
fn whole_number(raw: &str) -> Option<i64> {
    if !raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return None; // a string, array, object, bool or null
    }
    let (negative, raw) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (mantissa, exponent) = raw.split_once(['e', 'E']).unwrap_or((raw, "0"));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    let significant = digits.trim_end_matches('0');
    // value = significant × 10^scale
    let exponent: i64 = exponent.parse().ok()?; // accepts a leading '+'
    let scale = exponent
        .checked_sub(frac.len() as i64)?
        .checked_add((digits.len() - significant.len()) as i64)?;
    if scale < 0 || significant.len() as i64 + scale > 16 {
        return None; // a fraction remains, or the value is at least 10^16 > 2^53
    }
    let magnitude = significant.parse::<i64>().ok()? * 10i64.pow(scale as u32);
    (magnitude <= MAX_MAGNITUDE).then_some(if negative { -magnitude } else { magnitude })
}

/// The UTF-16 code units of a JSON string literal (`raw` has passed the parser, quotes included),
/// or `None` if `raw` is not a string. UTF-16, because JSON allows a lone surrogate (`"\ud800"`)
/// that no Rust `String` can hold; JavaScript keeps it, and so do we.
fn utf16_of_string_literal(raw: &str) -> Option<Vec<u16>> {
    let mut rest = raw.strip_prefix('"')?.strip_suffix('"')?;
    let mut units = Vec::with_capacity(rest.len());
    while let Some(at) = rest.find('\\') {
        units.extend(rest[..at].encode_utf16());
        let escape = *rest.as_bytes().get(at + 1)?;
        rest = &rest[at + 2..];
        units.push(match escape {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => 0x0a,
            b'r' => 0x0d,
            b't' => 0x09,
            b'u' => {
                let hex = rest.get(..4)?;
                rest = &rest[4..];
                u16::from_str_radix(hex, 16).ok()?
            }
            other => u16::from(other), // '"', '\\' or '/'
        });
    }
    units.extend(rest.encode_utf16());
    Some(units)
}

/// A JSON string literal escaped as the spec says: `"`, `\`, the short control escapes, other
/// U+0000–U+001F as lower-case `\u00xx`, everything else raw UTF-8. A lone surrogate, which
/// UTF-8 cannot carry, is written `\udxxx` as JavaScript's JSON.stringify does.
fn json_string(units: impl Iterator<Item = u16>) -> String {
    let mut out = String::from('"');
    for decoded in char::decode_utf16(units) {
        match decoded {
            Ok('"') => out.push_str("\\\""),
            Ok('\\') => out.push_str("\\\\"),
            Ok('\u{08}') => out.push_str("\\b"),
            Ok('\u{0c}') => out.push_str("\\f"),
            Ok('\n') => out.push_str("\\n"),
            Ok('\r') => out.push_str("\\r"),
            Ok('\t') => out.push_str("\\t"),
            Ok(c) if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            Ok(c) => out.push(c),
            Err(lone) => out.push_str(&format!("\\u{:04x}", lone.unpaired_surrogate())),
        }
    }
    out.push('"');
    out
}

wafer::export!(handle);
