//! Layer 2: the validated model. `lower` checks every cross-reference and
//! value in the spec and resolves it into explicit, typed facts; `emit`
//! reads only this model.

use std::collections::BTreeSet;

use marked_yaml::{Span, Spanned};

use crate::diagnostics::{Diagnostic, Reporter};
use crate::spec;

mod envelope;
mod stream;
pub use envelope::{ERROR_KEYS, Envelope, JsonObject, JsonValue, Read};
pub use stream::{ItemRead, Missing, StreamModel, VariantRead};

/// The whole API.
#[derive(Debug, Clone)]
pub struct Api {
    /// Cargo package of the generated crate.
    pub package: String,
    /// Its version.
    pub version: String,
    /// Cargo description.
    pub description: String,
    /// Crate docs.
    pub docs: String,
    /// Client type name.
    pub client_name: String,
    /// Client rustdoc.
    pub client_docs: String,
    /// Operations, sorted by name.
    pub operations: Vec<Operation>,
    /// Hand-written modules copied from `inlineable/<name>.rs`.
    pub inlineable: Vec<String>,
    /// The runtime crate's path relative to the generated crate.
    pub runtime_path: String,
}

/// One operation (one generated file).
#[derive(Debug, Clone)]
pub struct Operation {
    /// Spec file it came from, e.g. `spec/endpoints/here_now.yaml`.
    pub source: String,
    /// snake_case name.
    pub name: String,
    /// Builder type name.
    pub builder: String,
    /// One-line summary.
    pub summary: String,
    /// More docs.
    pub docs: Option<String>,
    /// Python SDK equivalent.
    pub python: Option<String>,
    /// Safe to retry (the client's retry policy applies).
    pub idempotent: bool,
    /// Path templates in the order they are tried.
    pub paths: Vec<PathTemplate>,
    /// Parameters in setter order.
    pub params: Vec<Param>,
    /// Cross-parameter rules.
    pub rules: Vec<Rule>,
    /// Result mapping; `None` means the operation returns `()`.
    pub result: Option<ResultModel>,
    /// Result types defined by this operation.
    pub types: Vec<TypeModel>,
    /// How the answer is paged, if it is.
    pub pagination: Option<Pagination>,
    /// The answer is a long-polled stream of items, if it is.
    pub stream: Option<StreamModel>,
    /// Rustdoc example body.
    pub example: String,
}

/// A paged answer: every entry of the result's map field `entries` lists
/// up to `limit` of its `items` from `offset`; the entry is complete when
/// `offset + limit` reaches its `total`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pagination {
    /// The `u32` page-size parameter.
    pub limit: PageParam,
    /// The `u32` parameter of items to skip.
    pub offset: PageParam,
    /// The result's map field.
    pub entries: String,
    /// The entry type's list field.
    pub items: String,
    /// The entry type's `u64` total field.
    pub total: String,
}

/// A `u32` parameter that paging reads and sets.
#[derive(Debug, Clone, PartialEq)]
pub struct PageParam {
    /// Its name.
    pub name: String,
    /// `Option<u32>` in the builder (no default) rather than `u32`.
    pub optional: bool,
}

/// A path template.
#[derive(Debug, Clone, PartialEq)]
pub struct PathTemplate {
    /// Literal text and placeholders in order.
    pub parts: Vec<PathPart>,
    /// Used only when all these list parameters are empty.
    pub when_empty: Vec<String>,
}

/// Part of a path template.
#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    /// Literal text, sent as is.
    Literal(String),
    /// A config value such as `subscribe_key`, percent-encoded.
    Config(String),
    /// A parameter, encoded per its kind.
    Param(String),
}

/// One parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// Setter and field name.
    pub name: String,
    /// Rustdoc.
    pub docs: String,
    /// Rust type and wire encoding.
    pub kind: ParamKind,
    /// Where it goes on the wire.
    pub location: Location,
    /// Value before any setter is called.
    pub default: DefaultValue,
}

/// Rust type and wire encoding of a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    /// `Vec<String>` of distinct names; each percent-encoded, joined with `,`.
    Names {
        /// The rules each name follows.
        kind: NameKind,
        /// Appended to each name on the wire (`-pnpres`); empty for none.
        suffix: String,
        /// A name ending in `-pnpres` (a presence channel) is refused: set
        /// where presence is made, since no one is present on such a channel.
        refuse_presence_names: bool,
    },
    /// One name, percent-encoded.
    Name {
        /// The rules it follows.
        kind: NameKind,
    },
    /// `bool` sent as `wire=1` when it equals `send_when`, omitted otherwise.
    Flag {
        /// Value that makes the flag appear.
        send_when: bool,
    },
    /// `u32`, decimal, within optional bounds.
    U32 {
        /// Inclusive lower bound.
        min: Option<u32>,
        /// Inclusive upper bound.
        max: Option<u32>,
    },
    /// A JSON object, sent as compact JSON text, percent-encoded.
    JsonObject {
        /// Every value must itself be an object (state per channel).
        of_objects: bool,
    },
}

/// What a name names, and so the rules it follows: one variant per
/// `rt::validate::NameKind`, which holds the rules themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A channel name in a path (a `,` inside it travels as `%2C`).
    Channel,
    /// A channel name in a comma-separated query list, where a `,` would split it.
    ListedChannel,
    /// A channel-group name: never a `,`, since groups travel in
    /// comma-separated `channel-group` lists.
    ChannelGroup,
    /// A user id.
    Uuid,
}

/// Where a parameter travels.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// In a path placeholder.
    Path,
    /// As a query parameter with this name.
    Query(String),
}

/// Initial value of a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// An empty list (for `Names`).
    EmptyList,
    /// A boolean.
    Bool(bool),
    /// An integer.
    U32(u32),
    /// Taken from the client config at request time.
    FromConfig(String),
    /// Not sent unless set.
    Unset,
    /// Must be set by the caller.
    Required,
}

/// A rule across parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// At least one of these list parameters is non-empty.
    RequiredOneOf(Vec<String>),
}

/// How the result is built from the body.
#[derive(Debug, Clone)]
pub struct ResultModel {
    /// Result type name.
    pub ty: String,
    /// Shapes in the order they are tried; the last is unconditional.
    pub shapes: Vec<Shape>,
}

/// One wire shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// snake_case name from the spec, e.g. `single_channel`.
    pub name: String,
    /// Condition; `None` for the fallback shape.
    pub when: Option<When>,
    /// A source for every result field, in field order.
    pub fields: Vec<FieldSource>,
    /// How the decoder reads the body in one pass.
    pub envelope: Envelope,
}

/// Shape condition: `exactly_one` has one name and every `empty` list is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// List parameter with exactly one name.
    pub exactly_one: String,
    /// List parameters that must be empty.
    pub empty: Vec<String>,
}

/// Where one result field comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSource {
    /// Field name.
    pub field: String,
    /// Field type.
    pub ty: TypeRef,
    /// Source.
    pub source: Source,
}

/// Kinds of field source.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Value at a dotted JSON path.
    Body {
        /// Dotted path, `""` for the whole body.
        path: String,
        /// Missing or null gives the default.
        default_if_missing: bool,
    },
    /// An integer constant.
    ConstU64(u64),
    /// One-entry map keyed by the only name of `param`, value read at `path`.
    SingleEntry {
        /// The list parameter holding exactly one name.
        param: String,
        /// Dotted path of the value.
        path: String,
    },
}

/// A result type.
#[derive(Debug, Clone)]
pub struct TypeModel {
    /// Name.
    pub name: String,
    /// Rustdoc.
    pub docs: String,
    /// Python SDK name.
    pub python: Option<String>,
    /// Field filled when the wire sends a bare string.
    pub from_string: Option<String>,
    /// A tagged union (an enum) rather than a struct; `fields` are then the
    /// fields every variant's struct starts with.
    pub union: Option<UnionModel>,
    /// Fields.
    pub fields: Vec<Field>,
}

/// A tagged union of stream items.
#[derive(Debug, Clone)]
pub struct UnionModel {
    /// Dotted path of the discriminator string in an item.
    pub discriminator: String,
    /// The catch-all variant.
    pub other: String,
    /// The catch-all's field holding the discriminator value: the path's
    /// last key, e.g. `action` for `d.action`.
    pub other_field: String,
    /// The known variants.
    pub variants: Vec<Variant>,
}

/// One union variant: a tuple variant holding its struct.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Discriminator value on the wire.
    pub value: String,
    /// Variant name.
    pub name: String,
    /// Its struct type.
    pub ty: String,
    /// Rustdoc.
    pub docs: String,
}

impl TypeModel {
    /// The field filled from the enclosing map's key, if any.
    pub fn map_key_field(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.map_key)
    }
}

/// A result type field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: TypeRef,
    /// Rustdoc.
    pub docs: String,
    /// JSON key.
    pub wire_name: String,
    /// Missing on the wire gives the default.
    pub default_if_missing: bool,
    /// Filled from the enclosing map key.
    pub map_key: bool,
    /// In a stream item: where the value is and how it is derived.
    pub item: Option<ItemField>,
}

/// How a stream item's field is read.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemField {
    /// Dotted path in the item.
    pub from: String,
    /// One trailing suffix removed from the string.
    pub strip_suffix: Option<String>,
    /// `None` when equal to the value at this other path.
    pub none_if_equals: Option<String>,
    /// A `u64` sent as a string of digits.
    pub decimal_string: bool,
}

/// A field type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    /// `String`.
    String,
    /// `u64`.
    U64,
    /// `bool`.
    Bool,
    /// Any JSON value.
    Json,
    /// `Vec<T>`.
    List(Box<TypeRef>),
    /// `BTreeMap<String, T>`.
    Map(Box<TypeRef>),
    /// `Option<T>`.
    Option(Box<TypeRef>),
    /// A type defined in the spec.
    Named(String),
}

impl TypeRef {
    /// Parses `list<map<Foo>>`-style type expressions.
    pub fn parse(text: &str) -> Result<TypeRef, String> {
        let text = text.trim();
        for (prefix, wrap) in [
            ("list<", TypeRef::List as fn(Box<TypeRef>) -> TypeRef),
            ("map<", TypeRef::Map),
            ("option<", TypeRef::Option),
        ] {
            if let Some(rest) = text.strip_prefix(prefix) {
                let inner =
                    rest.strip_suffix('>').ok_or_else(|| format!("type `{text}` is missing its closing `>`"))?;
                return Ok(wrap(Box::new(TypeRef::parse(inner)?)));
            }
        }
        match text {
            "string" => Ok(TypeRef::String),
            "u64" => Ok(TypeRef::U64),
            "bool" => Ok(TypeRef::Bool),
            "json" => Ok(TypeRef::Json),
            name if is_pascal_case(name) => Ok(TypeRef::Named(name.to_owned())),
            other => Err(format!(
                "unknown type `{other}`; expected string, u64, bool, json, list<T>, map<T>, option<T> or a type defined under `types`"
            )),
        }
    }

    /// Named types this reference mentions.
    pub fn named(&self) -> Vec<&str> {
        match self {
            TypeRef::List(inner) | TypeRef::Map(inner) | TypeRef::Option(inner) => inner.named(),
            TypeRef::Named(name) => vec![name.as_str()],
            _ => Vec::new(),
        }
    }

    /// Whether a value can be missing on the wire and default to empty.
    pub fn has_default(&self) -> bool {
        !matches!(self, TypeRef::Named(_))
    }
}

/// Rust keywords (strict, reserved and edition-2024): not usable as names.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names a parameter cannot take: the builder's own field and methods.
/// Names a parameter cannot take: the builder's own field and methods, and
/// the locals of the code generated around parameters.
const RESERVED_PARAMS: &[&str] = &[
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
const RESERVED_OPERATIONS: &[&str] = &["new", "config", "clone", "fmt"];

/// Type names a spec type or builder cannot take: the prelude's, and the
/// names the generated crate already exports from the runtime.
const RESERVED_TYPES: &[&str] = &[
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
const RUNTIME_CONFIG_VALUES: &[&str] = &["subscribe_key", "user_id"];

/// A JSON key as a Rust name: ASCII letters and digits lowercased, anything
/// else `_` (`channel-group` → `channel_group`).
fn snake_key(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && !KEYWORDS.contains(&s)
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_pascal_case(s: &str) -> bool {
    !s.is_empty()
        && !KEYWORDS.contains(&s)
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A Cargo package name that is also a valid crate identifier once `-` becomes `_`.
fn is_package_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !KEYWORDS.contains(&s.replace('-', "_").as_str())
}

/// A parsed spec file: its repository-relative path and contents.
pub struct SourceFile<T> {
    /// e.g. `spec/endpoints/here_now.yaml`.
    pub path: String,
    /// Parsed YAML.
    pub spec: T,
}

/// Validates the parsed spec and lowers it into the model, or returns every
/// problem found.
pub fn lower(
    api: &SourceFile<spec::ApiSpec>,
    endpoints: &[SourceFile<spec::EndpointSpec>],
) -> Result<Api, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let config_values: Vec<String> = api.spec.config_values.iter().map(|c| c.name.to_string()).collect();
    {
        let mut r = Reporter::new(&api.path, &mut diagnostics);
        check_name(
            &mut r,
            &api.spec.package,
            "package",
            is_package_name,
            "lowercase letters, digits, `-` and `_`, starting with a letter",
        );
        check_name(&mut r, &api.spec.client.name, "client", is_pascal_case, "PascalCase");
        for file in &api.spec.inlineable {
            let module = file.strip_suffix(".rs").unwrap_or_default();
            if !is_snake_case(module) || module == "operations" || module == "lib" {
                r.error(
                    file.span(),
                    "",
                    format!("inlineable `{}` must be `<snake_case>.rs` (not lib or operations)", file.as_str()),
                );
            }
        }
        for value in &api.spec.config_values {
            if check_name(&mut r, &value.name, "config value", is_snake_case, "snake_case")
                && !RUNTIME_CONFIG_VALUES.contains(&value.name.as_str())
            {
                r.error(
                    value.name.span(),
                    "",
                    format!(
                        "config value `{}` has no `{}_value()` getter in the runtime's Config (known: {})",
                        value.name.as_str(),
                        value.name.as_str(),
                        RUNTIME_CONFIG_VALUES.join(", ")
                    ),
                );
            }
        }
    }

    let mut operations = Vec::new();
    let mut seen_ops: Vec<(String, String)> = Vec::new();
    // Builders and result types share the crate root's namespace, with the client.
    let mut seen_types: Vec<(String, String)> = vec![(api.spec.client.name.to_string(), api.path.clone())];
    for file in endpoints {
        let mut r = Reporter::new(&file.path, &mut diagnostics);
        let name = file.spec.operation.as_str();
        if let Some((_, other)) = seen_ops.iter().find(|(n, _)| n == name) {
            r.error(
                file.spec.operation.span(),
                "",
                format!("duplicate operation `{name}`, already defined in {other}"),
            );
        }
        if RESERVED_OPERATIONS.contains(&name) {
            r.error(
                file.spec.operation.span(),
                "",
                format!("operation name `{name}` is taken by the client's own `{name}` method"),
            );
        }
        seen_ops.push((name.to_owned(), file.path.clone()));
        let type_names =
            std::iter::once((&file.spec.builder, "builder")).chain(file.spec.types.iter().map(|ty| (&ty.name, "type")));
        for (type_name, what) in type_names {
            if let Some((_, other)) = seen_types.iter().find(|(n, _)| *n == **type_name) {
                r.error(
                    type_name.span(),
                    &format!("operation `{name}`"),
                    format!("duplicate {what} name `{}`, already used in {other}", **type_name),
                );
            } else if RESERVED_TYPES.contains(&type_name.as_str()) {
                r.error(
                    type_name.span(),
                    &format!("operation `{name}`"),
                    format!(
                        "{what} name `{}` would shadow the prelude's or the crate's own `{}`",
                        **type_name, **type_name
                    ),
                );
            }
            seen_types.push((type_name.to_string(), file.path.clone()));
        }
        if let Some(op) = lower_endpoint(&mut r, &file.path, &file.spec, &config_values) {
            operations.push(op);
        }
    }
    if !diagnostics.is_empty() {
        diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        return Err(diagnostics);
    }
    operations.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Api {
        package: api.spec.package.to_string(),
        version: api.spec.version.to_string(),
        description: api.spec.description.clone(),
        docs: api.spec.docs.clone(),
        client_name: api.spec.client.name.to_string(),
        client_docs: api.spec.client.docs.clone(),
        operations,
        inlineable: api.spec.inlineable.iter().map(|f| f.trim_end_matches(".rs").to_owned()).collect(),
        runtime_path: api.spec.runtime_path.clone().unwrap_or_else(|| "../runtime".to_owned()),
    })
}

fn check_name(r: &mut Reporter<'_>, name: &Spanned<String>, what: &str, ok: fn(&str) -> bool, style: &str) -> bool {
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

/// Returns `None` when anything was reported (the caller stops before emit).
fn lower_endpoint(
    r: &mut Reporter<'_>,
    source: &str,
    spec: &spec::EndpointSpec,
    config_values: &[String],
) -> Option<Operation> {
    let op = spec.operation.as_str();
    let ctx = format!("operation `{op}`");
    let before = r.count();
    check_name(r, &spec.operation, "operation", is_snake_case, "snake_case");
    check_name(r, &spec.builder, "builder", is_pascal_case, "PascalCase");
    if spec.method.as_str() != "GET" {
        r.error(
            spec.method.span(),
            &ctx,
            format!("method `{}` is not supported; the Presence API uses GET", spec.method.as_str()),
        );
    }

    // Parameters.
    let mut params = Vec::new();
    let mut names = BTreeSet::new();
    for p in &spec.params {
        let pctx = format!("{ctx}, parameter `{}`", p.name.as_str());
        if !names.insert(p.name.to_string()) {
            r.error(p.name.span(), &pctx, "duplicate parameter name");
            continue;
        }
        if check_name(r, &p.name, "parameter", is_snake_case, "snake_case")
            && RESERVED_PARAMS.contains(&p.name.as_str())
        {
            r.error(
                p.name.span(),
                &pctx,
                format!(
                    "`{}` is taken by the builder or the code generated around parameters; choose another name",
                    p.name.as_str()
                ),
            );
            continue;
        }
        if let Some(param) = lower_param(r, &pctx, p, config_values) {
            params.push(param);
        }
    }
    let find = |name: &str| params.iter().find(|p| p.name == name);
    let list_param = |r: &mut Reporter<'_>, name: &Spanned<String>, what: &str| -> Option<String> {
        match find(name) {
            Some(Param { kind: ParamKind::Names { .. }, .. }) => Some(name.to_string()),
            Some(_) => {
                r.error(name.span(), &ctx, format!("{what} `{}` must be a `names` parameter", name.as_str()));
                None
            }
            None if names.contains(name.as_str()) => None,
            None => {
                r.error(name.span(), &ctx, format!("{what} `{}` is not a parameter of this operation", name.as_str()));
                None
            }
        }
    };

    // Paths.
    let mut paths = Vec::new();
    let mut used_in_path = BTreeSet::new();
    if spec.paths.is_empty() {
        r.error(spec.operation.span(), &ctx, "at least one path template is required");
    }
    for (i, path) in spec.paths.iter().enumerate() {
        let last = i + 1 == spec.paths.len();
        if last && !path.when_empty.is_empty() {
            r.error(
                path.template.span(),
                &ctx,
                "the last path template must not have `when_empty` (it is the fallback)",
            );
        }
        if !last && path.when_empty.is_empty() {
            r.error(path.template.span(), &ctx, "only the last path template may omit `when_empty`");
        }
        let when_empty = path.when_empty.iter().filter_map(|n| list_param(r, n, "when_empty")).collect();
        let Some(raw_parts) = parse_template(r, &ctx, &path.template) else { continue };
        let mut parts = Vec::new();
        for part in raw_parts {
            let PathPart::Param(name) = part else {
                parts.push(part);
                continue;
            };
            match find(&name) {
                Some(p) if p.location == Location::Path => {
                    used_in_path.insert(name.clone());
                    parts.push(PathPart::Param(name));
                }
                Some(_) => r.error(
                    path.template.span(),
                    &ctx,
                    format!("placeholder `{{{name}}}` names a parameter that is not `in: path`"),
                ),
                // Declared but invalid: already reported, don't cascade.
                None if names.contains(&name) => {}
                None if config_values.contains(&name) => parts.push(PathPart::Config(name)),
                None => unreachable_placeholder(r, &ctx, path, &name, config_values),
            }
        }
        paths.push(PathTemplate { parts, when_empty });
    }
    for (p, ps) in params.iter().zip(spec.params.iter().filter(|p| names.contains(p.name.as_str()))) {
        if p.location == Location::Path && !used_in_path.contains(&p.name) {
            r.error(
                ps.name.span(),
                &ctx,
                format!("parameter `{}` is `in: path` but no path template uses `{{{}}}`", p.name, p.name),
            );
        }
    }

    // Rules.
    let mut rules = Vec::new();
    for rule in &spec.rules {
        let names: Vec<String> =
            rule.required_one_of.iter().filter_map(|n| list_param(r, n, "required_one_of")).collect();
        rules.push(Rule::RequiredOneOf(names));
    }

    // Types.
    let mut types = Vec::new();
    for ty in &spec.types {
        if let Some(t) = lower_type(r, &ctx, ty) {
            types.push(t);
        }
    }
    let type_names: Vec<String> = spec.types.iter().map(|t| t.name.to_string()).collect();
    for (t, ts) in types.iter().zip(&spec.types) {
        for (f, fs) in t.fields.iter().zip(&ts.fields) {
            for named in f.ty.named() {
                if !type_names.iter().any(|n| n == named) {
                    r.error(
                        fs.ty.span(),
                        &format!("{ctx}, type `{}`, field `{}`", t.name, f.name),
                        format!("unknown type `{named}`"),
                    );
                }
            }
        }
    }

    // Result.
    let result = spec.result.as_ref().and_then(|res| lower_result(r, &ctx, res, &types, &list_param));
    let pagination =
        spec.pagination.as_ref().and_then(|p| lower_pagination(r, &ctx, p, &params, result.as_ref(), &types));
    let stream = match &spec.stream {
        Some(stream_spec) => {
            if let Some(res) = &spec.result {
                r.error(res.ty.span(), &ctx, "a `stream` operation yields items; it has no `result`");
            }
            stream::plan(r, &ctx, stream_spec, &spec.types, &mut types)
        }
        None => {
            for (t, ts) in types.iter().zip(&spec.types) {
                if let (Some(_), Some(u)) = (&t.union, &ts.union) {
                    r.error(u.other.span(), &ctx, format!("union `{}` is only for `stream` items", t.name));
                }
            }
            None
        }
    };

    if r.count() > before {
        return None;
    }
    Some(Operation {
        source: source.to_owned(),
        name: op.to_owned(),
        builder: spec.builder.to_string(),
        summary: spec.summary.trim().to_owned(),
        docs: spec.docs.as_ref().map(|d| d.trim().to_owned()),
        python: spec.python.clone(),
        idempotent: spec.idempotent,
        paths,
        params,
        rules,
        result,
        types,
        pagination,
        stream,
        example: spec.example.trim_end().to_owned(),
    })
}

fn unreachable_placeholder(
    r: &mut Reporter<'_>,
    ctx: &str,
    path: &spec::PathSpec,
    name: &str,
    config_values: &[String],
) {
    r.error(
        path.template.span(),
        ctx,
        format!(
            "path placeholder `{{{name}}}` matches no parameter of this operation and no config value ({})",
            config_values.join(", ")
        ),
    );
}

fn parse_template(r: &mut Reporter<'_>, ctx: &str, template: &Spanned<String>) -> Option<Vec<PathPart>> {
    let mut parts = Vec::new();
    let mut rest = template.as_str();
    if !rest.starts_with('/') {
        r.error(template.span(), ctx, "path template must start with `/`");
        return None;
    }
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(PathPart::Literal(rest[..open].to_owned()));
        }
        let Some(close) = rest[open..].find('}') else {
            r.error(template.span(), ctx, "unclosed `{` in path template");
            return None;
        };
        let name = &rest[open + 1..open + close];
        // Placeholders resolve later; config names win only when no parameter has the name.
        parts.push(PathPart::Param(name.to_owned()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(PathPart::Literal(rest.to_owned()));
    }
    Some(parts)
}

fn lower_param(r: &mut Reporter<'_>, ctx: &str, p: &spec::ParamSpec, config_values: &[String]) -> Option<Param> {
    let before = r.count();
    let suffix = p.suffix.as_ref().map(|s| s.to_string()).unwrap_or_default();
    if let Some(given) = &p.suffix
        && !matches!(p.ty.as_str(), "names" | "group_names")
    {
        r.error(given.span(), ctx, "`suffix` applies only to `names` and `group_names` parameters");
    }
    let refuse_presence_names = p.refuse_presence_names.as_ref().is_some_and(|flag| **flag);
    if let Some(given) = &p.refuse_presence_names
        && !matches!(p.ty.as_str(), "names" | "group_names")
    {
        r.error(given.span(), ctx, "`refuse_presence_names` applies only to `names` and `group_names` parameters");
    }
    let kind = match p.ty.as_str() {
        // A list in the query is joined with `,`, so its names cannot hold one.
        "names" if p.location.as_str() == "query" => {
            ParamKind::Names { kind: NameKind::ListedChannel, suffix, refuse_presence_names }
        }
        "names" => ParamKind::Names { kind: NameKind::Channel, suffix, refuse_presence_names },
        "group_names" => ParamKind::Names { kind: NameKind::ChannelGroup, suffix, refuse_presence_names },
        "name" => ParamKind::Name { kind: NameKind::Channel },
        "group_name" => ParamKind::Name { kind: NameKind::ChannelGroup },
        "uuid" => ParamKind::Name { kind: NameKind::Uuid },
        "bool" => {
            let send_when = match p.encoding.as_ref().map(|e| e.as_str()) {
                Some("flag_if_true") => true,
                Some("flag_if_false") => false,
                Some(other) => {
                    r.error(
                        p.encoding.as_ref().map(Spanned::span).unwrap_or(p.ty.span()),
                        ctx,
                        format!("unknown bool encoding `{other}`; expected flag_if_true or flag_if_false"),
                    );
                    true
                }
                None => {
                    r.error(p.ty.span(), ctx, "a `bool` parameter needs `encoding: flag_if_true` or `flag_if_false`");
                    true
                }
            };
            ParamKind::Flag { send_when }
        }
        "u32" => ParamKind::U32 {
            min: parse_u32(r, ctx, p.min.as_ref(), "min"),
            max: parse_u32(r, ctx, p.max.as_ref(), "max"),
        },
        "json_object" => ParamKind::JsonObject { of_objects: false },
        "json_object_of_objects" => ParamKind::JsonObject { of_objects: true },
        other => {
            r.error(
                p.ty.span(),
                ctx,
                format!(
                    "unknown parameter type `{other}`; expected names, group_names, name, group_name, uuid, bool, u32, json_object or json_object_of_objects"
                ),
            );
            // Still check the location; kind-specific checks would only cascade.
            if !matches!(p.location.as_str(), "path" | "query") {
                r.error(
                    p.location.span(),
                    ctx,
                    format!("unknown location `{}`; expected path or query", p.location.as_str()),
                );
            }
            return None;
        }
    };
    if p.encoding.is_some() && !matches!(kind, ParamKind::Flag { .. }) {
        r.error(
            p.encoding.as_ref().map(Spanned::span).unwrap_or(p.ty.span()),
            ctx,
            "`encoding` applies only to `bool` parameters",
        );
    }
    if !matches!(kind, ParamKind::U32 { .. }) {
        for bound in [&p.min, &p.max].into_iter().flatten() {
            r.error(bound.span(), ctx, "`min`/`max` apply only to `u32` parameters");
        }
    }
    if let ParamKind::U32 { min: Some(min), max: Some(max) } = kind
        && min > max
    {
        r.error(
            p.min.as_ref().map(Spanned::span).unwrap_or(p.name.span()),
            ctx,
            format!("`min` {min} is greater than `max` {max}"),
        );
    }

    let location = match p.location.as_str() {
        "path" => {
            if let Some(w) = &p.wire_name {
                r.error(w.span(), ctx, "`wire_name` applies only to query parameters");
            }
            if !matches!(kind, ParamKind::Names { .. } | ParamKind::Name { .. }) {
                r.error(
                    p.location.span(),
                    ctx,
                    "only name parameters (`names`, `group_names`, `name`, `group_name`, `uuid`) can go in the path",
                );
            }
            Location::Path
        }
        "query" => Location::Query(p.wire_name.as_ref().map(|w| w.to_string()).unwrap_or_else(|| p.name.to_string())),
        other => {
            r.error(p.location.span(), ctx, format!("unknown location `{other}`; expected path or query"));
            Location::Path
        }
    };

    let given = [p.default.is_some(), p.default_from_config.is_some(), p.required].iter().filter(|b| **b).count();
    if given > 1 {
        r.error(p.name.span(), ctx, "use only one of `default`, `default_from_config` and `required`");
    }
    let default = if let Some(d) = &p.default {
        match &kind {
            ParamKind::Flag { .. } => match d.as_str() {
                "true" => DefaultValue::Bool(true),
                "false" => DefaultValue::Bool(false),
                other => {
                    r.error(d.span(), ctx, format!("default `{other}` is not a bool (true or false)"));
                    DefaultValue::Unset
                }
            },
            ParamKind::U32 { min, max } => match d.as_str().parse::<u32>() {
                Ok(v) => {
                    if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m) {
                        r.error(d.span(), ctx, format!("default {v} is outside `min`..=`max`"));
                    }
                    DefaultValue::U32(v)
                }
                Err(_) => {
                    r.error(d.span(), ctx, format!("default `{}` is not a u32", d.as_str()));
                    DefaultValue::Unset
                }
            },
            _ => {
                r.error(d.span(), ctx, format!("a `{}` parameter cannot have a literal `default`", p.ty.as_str()));
                DefaultValue::Unset
            }
        }
    } else if let Some(c) = &p.default_from_config {
        if !config_values.iter().any(|v| v == c.as_str()) {
            r.error(
                c.span(),
                ctx,
                format!("unknown config value `{}`; expected one of {}", c.as_str(), config_values.join(", ")),
            );
        }
        if !matches!(kind, ParamKind::Name { .. }) {
            r.error(c.span(), ctx, "`default_from_config` applies only to `name`, `group_name` and `uuid` parameters");
        }
        DefaultValue::FromConfig(c.to_string())
    } else if p.required {
        DefaultValue::Required
    } else if matches!(kind, ParamKind::Names { .. }) {
        DefaultValue::EmptyList
    } else {
        if matches!(kind, ParamKind::Flag { .. }) {
            r.error(p.ty.span(), ctx, "a `bool` parameter needs a `default`");
        }
        if location == Location::Path {
            r.error(p.name.span(), ctx, "a path parameter needs `required: true` or `default_from_config`");
        }
        DefaultValue::Unset
    };
    if r.count() > before {
        return None;
    }
    Some(Param { name: p.name.to_string(), docs: p.docs.trim().to_owned(), kind, location, default })
}

fn parse_u32(r: &mut Reporter<'_>, ctx: &str, value: Option<&Spanned<String>>, what: &str) -> Option<u32> {
    let value = value?;
    match value.as_str().parse() {
        Ok(v) => Some(v),
        Err(_) => {
            r.error(value.span(), ctx, format!("`{what}` `{}` is not a u32", value.as_str()));
            None
        }
    }
}

fn lower_type(r: &mut Reporter<'_>, ctx: &str, ty: &spec::TypeSpec) -> Option<TypeModel> {
    let before = r.count();
    let tctx = format!("{ctx}, type `{}`", ty.name.as_str());
    check_name(r, &ty.name, "type", is_pascal_case, "PascalCase");
    let mut fields: Vec<Field> = Vec::new();
    for f in &ty.fields {
        let fctx = format!("{tctx}, field `{}`", f.name.as_str());
        if fields.iter().any(|x| x.name == *f.name) {
            r.error(f.name.span(), &fctx, "duplicate field name");
            continue;
        }
        check_name(r, &f.name, "field", is_snake_case, "snake_case");
        let parsed = match TypeRef::parse(&f.ty) {
            Ok(t) => t,
            Err(message) => {
                r.error(f.ty.span(), &fctx, message);
                continue;
            }
        };
        if f.map_key && parsed != TypeRef::String {
            r.error(f.ty.span(), &fctx, "a `map_key` field must be a string");
        }
        if f.default_if_missing && !parsed.has_default() {
            r.error(
                f.name.span(),
                &fctx,
                "`default_if_missing` needs a type with an empty value (string, u64, json, list, map, option)",
            );
        }
        let item = stream::item_field(r, &fctx, f, &parsed);
        fields.push(Field {
            name: f.name.to_string(),
            ty: parsed,
            docs: f.docs.trim().to_owned(),
            wire_name: f.wire_name.clone().unwrap_or_else(|| f.name.to_string()),
            default_if_missing: f.default_if_missing,
            map_key: f.map_key,
            item,
        });
    }
    if fields.iter().filter(|f| f.map_key).count() > 1 {
        r.error(ty.name.span(), &tctx, "at most one field can be the `map_key`");
    }
    if let Some(from_string) = &ty.from_string {
        match fields.iter().find(|f| f.name == *from_string.as_str()) {
            Some(f) if f.ty == TypeRef::String => {
                for other in fields.iter().filter(|o| o.name != f.name && !o.map_key) {
                    if !other.ty.has_default() {
                        r.error(
                            from_string.span(),
                            &tctx,
                            format!("with `from_string`, field `{}` needs a type with an empty value", other.name),
                        );
                    }
                }
            }
            Some(_) => r.error(
                from_string.span(),
                &tctx,
                format!("`from_string` field `{}` must be a string", from_string.as_str()),
            ),
            None => {
                r.error(from_string.span(), &tctx, format!("`from_string` names no field: `{}`", from_string.as_str()))
            }
        }
    }
    if r.count() > before {
        return None;
    }
    let union = ty.union.as_ref().map(|u| stream::lower_union(r, &tctx, u));
    if r.count() > before {
        return None;
    }
    Some(TypeModel {
        name: ty.name.to_string(),
        docs: ty.docs.trim().to_owned(),
        python: ty.python.clone(),
        from_string: ty.from_string.as_ref().map(|f| f.to_string()),
        union,
        fields,
    })
}

/// Checks `pagination` against the operation's parameters and result type.
fn lower_pagination(
    r: &mut Reporter<'_>,
    ctx: &str,
    spec: &spec::PaginationSpec,
    params: &[Param],
    result: Option<&ResultModel>,
    types: &[TypeModel],
) -> Option<Pagination> {
    let before = r.count();
    let mut page_param = |name: &Spanned<String>, what: &str| -> Option<PageParam> {
        match params.iter().find(|p| p.name == **name) {
            Some(Param { kind: ParamKind::U32 { .. }, location: Location::Query(_), default, .. }) => {
                Some(PageParam { name: name.to_string(), optional: !matches!(default, DefaultValue::U32(_)) })
            }
            _ => {
                r.error(
                    name.span(),
                    ctx,
                    format!("pagination `{what}: {}` must name a `u32` query parameter", name.as_str()),
                );
                None
            }
        }
    };
    let limit = page_param(&spec.limit, "limit");
    let offset = page_param(&spec.offset, "offset");
    let Some(result) = result else {
        r.error(spec.entries.span(), ctx, "pagination needs a `result`");
        return None;
    };
    let result_type = types.iter().find(|t| t.name == result.ty)?;
    let entry_type = match result_type.fields.iter().find(|f| f.name == *spec.entries).map(|f| &f.ty) {
        Some(TypeRef::Map(inner)) => match &**inner {
            TypeRef::Named(name) => types.iter().find(|t| t.name == *name),
            _ => None,
        },
        _ => None,
    };
    let Some(entry_type) = entry_type else {
        r.error(
            spec.entries.span(),
            ctx,
            format!(
                "pagination `entries: {}` must be a `map<T>` field of `{}` with T a spec type",
                spec.entries.as_str(),
                result.ty
            ),
        );
        return None;
    };
    let field_of = |name: &Spanned<String>| entry_type.fields.iter().find(|f| f.name == **name).map(|f| &f.ty);
    if !matches!(field_of(&spec.items), Some(TypeRef::List(_))) {
        r.error(
            spec.items.span(),
            ctx,
            format!("pagination `items: {}` must be a `list<T>` field of `{}`", spec.items.as_str(), entry_type.name),
        );
    }
    if field_of(&spec.total) != Some(&TypeRef::U64) {
        r.error(
            spec.total.span(),
            ctx,
            format!("pagination `total: {}` must be a `u64` field of `{}`", spec.total.as_str(), entry_type.name),
        );
    }
    if r.count() > before {
        return None;
    }
    Some(Pagination {
        limit: limit?,
        offset: offset?,
        entries: spec.entries.to_string(),
        items: spec.items.to_string(),
        total: spec.total.to_string(),
    })
}

/// Resolves a name to a `names` parameter, reporting when it is not one.
type ListParamCheck<'a> = dyn Fn(&mut Reporter<'_>, &Spanned<String>, &str) -> Option<String> + 'a;

fn lower_result(
    r: &mut Reporter<'_>,
    ctx: &str,
    res: &spec::ResultSpec,
    types: &[TypeModel],
    list_param: &ListParamCheck<'_>,
) -> Option<ResultModel> {
    let Some(ty) = types.iter().find(|t| t.name == *res.ty) else {
        r.error(res.ty.span(), ctx, format!("result type `{}` is not defined under `types`", res.ty.as_str()));
        return None;
    };
    if ty.map_key_field().is_some() || ty.from_string.is_some() {
        r.error(res.ty.span(), ctx, "the result type itself cannot use `map_key` or `from_string`");
    }
    if res.shapes.is_empty() {
        r.error(res.ty.span(), ctx, "a result needs at least one shape");
    }
    let mut shapes: Vec<Shape> = Vec::new();
    for (i, shape) in res.shapes.iter().enumerate() {
        let last = i + 1 == res.shapes.len();
        check_name(r, &shape.name, "shape", is_snake_case, "snake_case");
        if res.shapes[..i].iter().any(|earlier| *earlier.name == *shape.name) {
            r.error(shape.name.span(), ctx, format!("duplicate shape name `{}`", shape.name.as_str()));
        }
        let span: &Span = shape.fields.first().map(|f| f.field.span()).unwrap_or(res.ty.span());
        let when = match &shape.when {
            Some(w) => {
                if last {
                    r.error(w.exactly_one.span(), ctx, "the last shape must not have `when` (it is the fallback)");
                }
                let exactly_one = list_param(r, &w.exactly_one, "when.exactly_one");
                let empty = w.empty.iter().filter_map(|n| list_param(r, n, "when.empty")).collect();
                exactly_one.map(|exactly_one| When { exactly_one, empty })
            }
            None => {
                if !last {
                    r.error(span, ctx, "only the last shape may omit `when`");
                }
                None
            }
        };
        let mut fields: Vec<(FieldSource, &Span)> = Vec::new();
        for f in &shape.fields {
            let fctx = format!("{ctx}, result field `{}`", f.field.as_str());
            let Some(field) = ty.fields.iter().find(|x| x.name == *f.field) else {
                r.error(f.field.span(), &fctx, format!("`{}` has no field `{}`", ty.name, f.field.as_str()));
                continue;
            };
            if fields.iter().any(|(x, _)| x.field == field.name) {
                r.error(f.field.span(), &fctx, "field given twice in this shape");
                continue;
            }
            let kinds = [f.constant.is_some(), f.single_entry_of.is_some() || f.from.is_some()];
            let source = match (&f.constant, &f.single_entry_of, &f.from) {
                (Some(c), None, None) => match (&field.ty, c.as_str().parse::<u64>()) {
                    (TypeRef::U64, Ok(v)) => Source::ConstU64(v),
                    _ => {
                        r.error(c.span(), &fctx, format!("constant `{}` must be a u64 for a u64 field", c.as_str()));
                        continue;
                    }
                },
                (None, Some(param), from) => {
                    if !matches!(field.ty, TypeRef::Map(_)) {
                        r.error(param.span(), &fctx, "`single_entry_of` needs a map field");
                    }
                    let Some(param) = list_param(r, param, "single_entry_of") else { continue };
                    let selected = when.as_ref().is_some_and(|w| w.exactly_one == param);
                    if !selected {
                        r.error(
                            f.field.span(),
                            &fctx,
                            format!("`single_entry_of: {param}` needs this shape's `when.exactly_one: {param}`"),
                        );
                    }
                    Source::SingleEntry { param, path: from.as_ref().map(|p| p.to_string()).unwrap_or_default() }
                }
                (None, None, Some(from)) => {
                    Source::Body { path: from.to_string(), default_if_missing: f.default_if_missing }
                }
                _ => {
                    let _ = kinds;
                    r.error(
                        f.field.span(),
                        &fctx,
                        "give exactly one of `from`, `const` or `single_entry_of` (with optional `from`)",
                    );
                    continue;
                }
            };
            if f.default_if_missing && !matches!(source, Source::Body { .. }) {
                r.error(f.field.span(), &fctx, "`default_if_missing` applies only with `from`");
            }
            fields.push((FieldSource { field: field.name.clone(), ty: field.ty.clone(), source }, f.field.span()));
        }
        for missing in ty.fields.iter().filter(|x| !fields.iter().any(|(f, _)| f.field == x.name)) {
            if !shape.fields.iter().any(|f| *f.field == missing.name) {
                r.error(span, ctx, format!("this shape gives no source for `{}.{}`", ty.name, missing.name));
            }
        }
        // Keep the type's field order whatever order the shape lists them in.
        fields.sort_by_key(|(f, _)| ty.fields.iter().position(|x| x.name == f.field));
        let Some(envelope) = envelope::plan(r, ctx, types, &fields) else { continue };
        shapes.push(Shape {
            name: shape.name.to_string(),
            when,
            fields: fields.into_iter().map(|(f, _)| f).collect(),
            envelope,
        });
    }
    Some(ResultModel { ty: ty.name.clone(), shapes })
}
