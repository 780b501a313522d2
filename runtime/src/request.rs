//! A presence request as generated code builds it: operation name, encoded
//! path and encoded query pairs. The transport adds the common parameters.

/// One HTTP `GET` to the Presence API, before common parameters are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    operation: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
    idempotent: bool,
    /// How many bytes of the URL each builder parameter (or config value)
    /// put there, so that a URL over the limit names the one that made it long.
    sources: Vec<(&'static str, usize)>,
}

impl Request {
    /// A request for `operation` (used in logs) to the already-encoded `path`.
    #[doc(hidden)]
    pub fn new(operation: &'static str, path: String) -> Self {
        Request { operation, path, query: Vec::new(), idempotent: false, sources: Vec::new() }
    }

    /// Records that `parameter` (a builder setter, or a config value such as
    /// `subscribe_key`) is in the path as `encoded`.
    #[doc(hidden)]
    #[must_use]
    pub fn path_value(mut self, parameter: &'static str, encoded: &str) -> Self {
        self.sources.push((parameter, encoded.len()));
        self
    }

    /// Adds a query parameter whose value is already percent-encoded; `None`
    /// (a parameter not sent, see `param`) adds nothing.
    #[doc(hidden)]
    pub fn push_query(&mut self, key: &'static str, encoded_value: Option<String>) {
        if let Some(value) = encoded_value {
            self.query.push((key, value));
        }
    }

    /// Like [`Request::push_query`], for the value of the builder's
    /// `parameter`, sent as `key`.
    #[doc(hidden)]
    pub fn push_param(&mut self, parameter: &'static str, key: &'static str, encoded_value: Option<String>) {
        if let Some(value) = &encoded_value {
            // `&key=value`
            self.sources.push((parameter, key.len() + value.len() + 2));
        }
        self.push_query(key, encoded_value);
    }

    /// Marks the request safe to send again after a failure (the spec's
    /// `idempotent: true`); only such requests are retried.
    #[doc(hidden)]
    pub fn set_idempotent(&mut self, idempotent: bool) {
        self.idempotent = idempotent;
    }

    /// Whether the request may be retried.
    pub fn idempotent(&self) -> bool {
        self.idempotent
    }

    /// The operation name, e.g. `here_now`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The encoded path, e.g. `/v2/presence/sub-key/demo/channel/a%20b`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The endpoint's own query parameters, values encoded as sent.
    pub fn query(&self) -> &[(&'static str, String)] {
        &self.query
    }

    /// The builder parameters (and config values) in the path and query, each
    /// with the bytes of the URL it accounts for, in the order they were added.
    #[doc(hidden)]
    pub fn sources(&self) -> &[(&'static str, usize)] {
        &self.sources
    }
}
