//! The incoming call: `wafer.v1.Request` as a plain Rust struct.

/// One HTTP call as the host received it on `ANY /fn/{name}[/{rest}]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Upper-case HTTP method, e.g. `"GET"`.
    pub method: String,
    /// The URL path after `/fn/{name}`, percent-encoded as received; always starts with `/`.
    pub path: String,
    /// The raw query string without the leading `?`; `""` when there is none.
    pub query: String,
    /// Request headers in the order received; names are lower-case, repeats appear repeatedly.
    pub headers: Vec<(String, String)>,
    /// The request body; empty when there is none.
    pub body: Vec<u8>,
    /// A unique id for this call, also tagged on the function's log lines.
    pub invocation_id: String,
    /// Unix time in milliseconds after which the host cuts the call off.
    pub deadline_ms: u64,
}

impl Request {
    /// The first value of query parameter `name`, decoded to bytes, or `None` if absent.
    ///
    /// Follows samples/README.md exactly: split the query on `&`, take the first part whose
    /// key (text before the first `=`, or the whole part) equals `name` (compared raw, not
    /// decoded), and decode its value: `+` becomes a space, `%XY` with two hex digits becomes
    /// the byte `0xXY`, and any other `%` stays as it is.
    pub fn query_param(&self, name: &str) -> Option<Vec<u8>> {
        self.query.split('&').find_map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (key == name).then(|| decode_query_value(value.as_bytes()))
        })
    }

    /// The first header called `name` (matched case-insensitively), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

fn decode_query_value(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let escaped = match raw[i] {
            b'%' => raw
                .get(i + 1..i + 3)
                .and_then(|hex| Some(hex_val(hex[0])? << 4 | hex_val(hex[1])?)),
            _ => None,
        };
        match (escaped, raw[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
