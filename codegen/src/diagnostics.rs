//! Spec errors, each pointing at file:line:column. The generator collects
//! them all instead of stopping (or panicking) at the first.

use std::fmt;

use marked_yaml::Span;

/// One problem in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Spec file, relative to the repository root, e.g. `spec/endpoints/here_now.yaml`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the problem is about, e.g. ``operation `here_now`, parameter `limit` ``.
    pub context: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: error", self.file, self.line, self.column)?;
        if !self.context.is_empty() {
            write!(f, " in {}", self.context)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Collects diagnostics for one spec file.
#[derive(Debug)]
pub struct Reporter<'a> {
    file: &'a str,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    /// Reports into `out` for `file`.
    pub fn new(file: &'a str, out: &'a mut Vec<Diagnostic>) -> Self {
        Reporter { file, out }
    }

    /// Records a problem at `span` (start of file when the span has no marker).
    pub fn error(&mut self, span: &Span, context: &str, message: impl Into<String>) {
        let (line, column) = span.start().map(|m| (m.line(), m.column())).unwrap_or((1, 1));
        self.at(line, column, context, message);
    }

    /// Records a problem at an explicit position.
    pub fn at(&mut self, line: usize, column: usize, context: &str, message: impl Into<String>) {
        self.out.push(Diagnostic {
            file: self.file.to_owned(),
            line,
            column,
            context: context.to_owned(),
            message: message.into(),
        });
    }
}

impl Reporter<'_> {
    /// Number of diagnostics recorded so far (all files).
    pub fn count(&self) -> usize {
        self.out.len()
    }
}
