//! The answer: `wafer.v1.Response` as a plain Rust struct with a small builder.

/// What a function answers. Build it with [`Response::new`] and chain
/// [`header`](Response::header) and [`body`](Response::body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// HTTP status; 0 means 200.
    pub status: u16,
    /// Response headers, sent in this order.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with this status.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            ..Default::default()
        }
    }

    /// An empty `200 OK`.
    pub fn ok() -> Self {
        Response::new(200)
    }

    /// A response with `content-type: text/plain; charset=utf-8` and `text` as the body.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Response::new(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.into())
    }

    /// A response with `content-type: application/json` and `json` (already serialized) as the body.
    pub fn json(status: u16, json: impl Into<Vec<u8>>) -> Self {
        Response::new(status)
            .header("content-type", "application/json")
            .body(json)
    }

    /// Appends a header; headers keep the order they are added in.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// What a handler may return: a [`Response`], or a `Result` whose `Err` becomes the ABI's
/// `err(message)` (the host answers 500 `function_error` with the message).
pub trait IntoOutcome {
    /// Converts the handler's return value into the ABI outcome.
    fn into_outcome(self) -> Result<Response, String>;
}

impl IntoOutcome for Response {
    fn into_outcome(self) -> Result<Response, String> {
        Ok(self)
    }
}

impl<E: std::fmt::Display> IntoOutcome for Result<Response, E> {
    fn into_outcome(self) -> Result<Response, String> {
        self.map_err(|e| e.to_string())
    }
}
