//! The validated model: what `lower` produces and `emit` reads, types only.
//! Each lowering pass fills its part: `params`, `paths`, `types`,
//! `results` (with `envelope`, how a shape's body is read in one pass),
//! `paging` and `stream`.

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
    /// Whether the crate is meant for crates.io.
    pub publish: bool,
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

impl DefaultValue {
    /// Whether the spec gives a literal value, so the builder field holds
    /// the value itself rather than an `Option` (or an empty list).
    pub fn is_literal(&self) -> bool {
        match self {
            DefaultValue::Bool(_) | DefaultValue::U32(_) => true,
            DefaultValue::EmptyList | DefaultValue::FromConfig(_) | DefaultValue::Unset | DefaultValue::Required => {
                false
            }
        }
    }
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
    /// More names of the Python class (checked identifiers, none the class's own).
    pub python_aliases: Vec<String>,
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
    /// The Python class's attribute holding the discriminator value (the
    /// spec's `python_field`, else `other_field`).
    pub python_field: String,
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
    /// The Python bindings' class for this type: its `python` name when that
    /// is one identifier (`PNHereNowResult`), else its Rust name (a `python`
    /// note such as `PNPresenceEventResult (event "join")` only documents).
    pub fn python_class(&self) -> &str {
        python_class_name(self.python.as_deref(), &self.name)
    }

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
    /// The Python bindings' attribute name (the spec's `python`, else `name`).
    pub python_name: String,
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

/// How one shape's body is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The body's keys that are read, as a tree (the root object).
    pub root: JsonObject,
    /// How each of the shape's fields is read, in the shape's field order.
    pub reads: Vec<Read>,
}

/// How one result field is read from the envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// A constant: nothing is read.
    Const,
    /// The value at these key positions, from the root down.
    At(Vec<usize>),
    /// The whole body as type `ty`, whose fields (all but its `map_key`
    /// field) are keys of the root object at these positions.
    WholeBody {
        /// The spec type the body is.
        ty: String,
        /// Each of the type's fields with its position among the root's keys.
        fields: Vec<(String, usize)>,
    },
}

/// A JSON object: the keys read from it, in first-use order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonObject {
    /// Key and what is read under it.
    pub keys: Vec<(String, JsonValue)>,
}

/// What is read under one key.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    /// A value of this (result) type; `default` when it may be missing.
    Leaf {
        /// The result type it becomes.
        ty: TypeRef,
        /// Missing or null gives the type's default.
        default: bool,
    },
    /// A nested object.
    Object(JsonObject),
}

impl JsonObject {
    /// Every leaf below may be missing, so the object itself may be too.
    pub fn all_default(&self) -> bool {
        self.keys.iter().all(|(_, value)| match value {
            JsonValue::Leaf { default, .. } => *default,
            JsonValue::Object(object) => object.all_default(),
        })
    }
}

/// How a stream's items are read.
#[derive(Debug, Clone)]
pub struct StreamModel {
    /// The union type items decode to.
    pub item: String,
    /// Every key read from an item, as a tree; each leaf is optional on the
    /// wire (a variant that needs it says so when it is missing).
    pub root: JsonObject,
    /// Key positions of the discriminator.
    pub discriminator: Vec<usize>,
    /// Its dotted path, e.g. `d.action`.
    pub discriminator_key: String,
    /// Key positions of each value identifying a redelivery.
    pub dedup: Vec<Vec<usize>>,
    /// Values cleared before dispatch when equal to another: (value, other).
    pub unless_equal: Vec<(Vec<usize>, Vec<usize>)>,
    /// The union's own fields, read once whatever the variant.
    pub common: Vec<ItemRead>,
    /// How each variant's struct is filled, beyond the common fields.
    pub variants: Vec<VariantRead>,
    /// The catch-all variant, holding the discriminator and the item's JSON.
    pub other: String,
    /// Its field holding the discriminator value (the path's last key).
    pub other_field: String,
}

/// One variant's struct, field by field.
#[derive(Debug, Clone)]
pub struct VariantRead {
    /// Discriminator value.
    pub value: String,
    /// Variant name.
    pub name: String,
    /// Struct type.
    pub ty: String,
    /// Its own fields (the union's common fields come first in the struct).
    pub fields: Vec<ItemRead>,
}

/// How one field is read from the item.
#[derive(Debug, Clone)]
pub struct ItemRead {
    /// Field name.
    pub field: String,
    /// Key positions of its value.
    pub at: Vec<usize>,
    /// Its dotted path, for error messages.
    pub key: String,
    /// What a missing value means.
    pub missing: Missing,
    /// One trailing suffix removed.
    pub strip_suffix: Option<String>,
    /// A `u64` sent as a string of digits.
    pub decimal_string: bool,
}

/// What a missing (or `null`) value means for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The item is not this variant's shape: a decode error naming the key.
    Error,
    /// `None` (an `option<T>` field).
    None,
    /// The type's empty value (`default_if_missing`).
    Default,
}

impl Missing {
    /// The one rule: an `option<T>` is `None` when missing (whatever
    /// `default_if_missing` says: serde reads a missing `Option` as `None`
    /// already); anything else is its empty value with `default_if_missing`,
    /// else an error.
    pub fn of(ty: &TypeRef, default_if_missing: bool) -> Missing {
        match ty {
            TypeRef::Option(_) => Missing::None,
            _ if default_if_missing => Missing::Default,
            _ => Missing::Error,
        }
    }
}

impl Field {
    /// What this field's value is when the wire leaves it out ([`Missing::of`]).
    pub fn missing(&self) -> Missing {
        Missing::of(&self.ty, self.default_if_missing)
    }
}

/// A result type's Python class: its `python` name when that is one
/// identifier, else its Rust name.
pub fn python_class_name<'a>(python: Option<&'a str>, name: &'a str) -> &'a str {
    match python {
        Some(python) if !python.is_empty() && python.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => python,
        _ => name,
    }
}
