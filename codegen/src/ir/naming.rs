//! Naming rules: which names the spec may use (case, keywords, names the
//! generated code already takes), and how a JSON key becomes a Rust name.

use marked_yaml::Spanned;

use crate::diagnostics::Reporter;

/// Rust keywords (strict, reserved and edition-2024): not usable as names.
pub const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names a parameter cannot take: the builder's own field and methods, and
/// the locals of the code generated around parameters.
pub(super) const RESERVED_PARAMS: &[&str] = &[
    "client",
    "new",
    "send",
    "build_request",
    "decode_response",
    "decode",
    "into_future",
    "request",
    "path",
    "envelope",
    "body",
    "http_status",
];

/// Names an operation cannot take: the client's own methods (inherent, or
/// derived `Clone`/`Debug`).
pub(super) const RESERVED_OPERATIONS: &[&str] = &["new", "config", "clone", "fmt"];

/// The classes and exceptions of the Python bindings' hand-written support
/// (`inlineable/python/`) that the package exports: the templates list them
/// from here, and no spec name may take one.
pub const PYTHON_SUPPORT_CLASSES: &[&str] = &[
    "PNConfiguration",
    "PNEnvelope",
    "PNErrorData",
    "PNStatus",
    "PubNubApiError",
    "PubNubDecodeError",
    "PubNubError",
    "PubNubInvalidInput",
    "PubNubTimeoutError",
    "PubNubTransportError",
    "Subscription",
];

/// Names a Python alias or class cannot take besides those: the support's
/// `LocalServer` (in `_native`, exported by `testing`) and Python's
/// constants, which are PascalCase too. (The generator also refuses any
/// name the module would export twice.)
pub(super) const RESERVED_PYTHON_NAMES: &[&str] = &["LocalServer", "None", "True", "False"];

/// Type names a spec type or builder cannot take: the prelude's, and the
/// names the generated crate already exports from the runtime.
pub(super) const RESERVED_TYPES: &[&str] = &[
    "Result",
    "Option",
    "Vec",
    "String",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Config",
    "Error",
    "IntoNames",
    "RetryPolicy",
    "TimeoutKind",
];

/// Config values the runtime's `Config` has a `<name>_value()` getter for.
pub(super) const RUNTIME_CONFIG_VALUES: &[&str] = &["subscribe_key", "user_id"];

/// A JSON key as a Rust name: ASCII letters and digits lowercased, anything
/// else `_` (`channel-group` → `channel_group`).
pub fn snake_key(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

pub(super) fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && !KEYWORDS.contains(&s)
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn is_pascal_case(s: &str) -> bool {
    !s.is_empty()
        && !KEYWORDS.contains(&s)
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A Cargo package name that is also a valid crate identifier once `-` becomes `_`.
pub(super) fn is_package_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !KEYWORDS.contains(&s.replace('-', "_").as_str())
}

/// Reports `name` unless `ok` accepts it: as a keyword, or as not `style`.
pub(super) fn check_name(
    r: &mut Reporter<'_>,
    name: &Spanned<String>,
    what: &str,
    ok: fn(&str) -> bool,
    style: &str,
) -> bool {
    if ok(name) {
        return true;
    }
    let message = if KEYWORDS.contains(&name.replace('-', "_").as_str()) {
        format!("{what} name `{}` is a Rust keyword", name.as_str())
    } else {
        format!("{what} name `{}` must be {style}", name.as_str())
    };
    r.error(name.span(), "", message);
    false
}
