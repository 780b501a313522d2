//! Layer 1: serde types mirroring the YAML in `spec/` one to one.
//!
//! Nothing here is validated beyond YAML syntax and field names
//! (`deny_unknown_fields`); values that need checking are `Spanned` so the
//! next layer (`ir`) can point at them with file:line:column.

use marked_yaml::Spanned;
use serde::Deserialize;

/// `spec/api.yaml`: facts shared by every operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    /// Cargo package name of the generated crate.
    pub package: Spanned<String>,
    /// Its version.
    pub version: Spanned<String>,
    /// One-line Cargo description.
    pub description: String,
    /// Crate-level documentation (Markdown).
    pub docs: String,
    /// The client type users create.
    pub client: ClientSpec,
    /// Configuration values path templates may use, e.g. `subscribe_key`.
    pub config_values: Vec<ConfigValueSpec>,
    /// Whether the generated crate is meant for crates.io (its Cargo.toml
    /// says `publish = false` otherwise); default `true`.
    #[serde(default)]
    pub publish: Option<bool>,
    /// Hand-written modules under `inlineable/` copied into the crate as
    /// they are (each `<name>.rs` becomes `src/<name>.rs`, its public items
    /// re-exported): code built on the generated operations, not on the wire.
    #[serde(default)]
    pub inlineable: Vec<Spanned<String>>,
}

/// The generated client type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Type name, e.g. `PubNub`.
    pub name: Spanned<String>,
    /// Rustdoc.
    pub docs: String,
}

/// A configuration value usable in paths and parameter defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigValueSpec {
    /// Name, e.g. `subscribe_key`; read with `Config::<name>_value()`.
    pub name: Spanned<String>,
}

/// `spec/endpoints/<operation>.yaml`: one operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// snake_case method name on the client, e.g. `here_now`.
    pub operation: Spanned<String>,
    /// PascalCase builder type name, e.g. `HereNow`.
    pub builder: Spanned<String>,
    /// One-line summary (first line of the rustdoc).
    pub summary: String,
    /// Further documentation.
    #[serde(default)]
    pub docs: Option<String>,
    /// The matching call in PubNub's Python SDK docs.
    #[serde(default)]
    pub python: Option<String>,
    /// HTTP method; the Presence API uses `GET` throughout.
    pub method: Spanned<String>,
    /// Sending the request twice has the same effect as once, so the client
    /// may retry it after a connect error, timeout, `429` or `5xx`.
    pub idempotent: bool,
    /// Path templates, tried in order; the last one has no `when_empty`.
    pub paths: Vec<PathSpec>,
    /// Parameters, in setter order.
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    /// Rules spanning several parameters.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// What the operation returns and how each wire shape maps to it.
    #[serde(default)]
    pub result: Option<ResultSpec>,
    /// Result types this operation defines.
    #[serde(default)]
    pub types: Vec<TypeSpec>,
    /// The answer comes in pages the generated `pages()` / `all_pages()` walk.
    #[serde(default)]
    pub pagination: Option<PaginationSpec>,
    /// The operation is long-polled: `subscribe()` yields a stream of items
    /// instead of one result (no `result` then).
    #[serde(default)]
    pub stream: Option<StreamSpec>,
    /// Body of the rustdoc example (lines of Rust; `pubnub` is in scope).
    pub example: String,
}

/// How an operation's answer is paged: each entry of a map field of the
/// result lists part of its items per request, `limit` at a time from
/// `offset`, until the entry's total is reached.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaginationSpec {
    /// The `u32` parameter giving the page size.
    pub limit: Spanned<String>,
    /// The `u32` parameter giving how many items to skip.
    pub offset: Spanned<String>,
    /// The result's map field whose entries are paged.
    pub entries: Spanned<String>,
    /// The entry type's list field that each page extends.
    pub items: Spanned<String>,
    /// The entry type's `u64` field with the number of items in all.
    pub total: Spanned<String>,
}

/// A long-polled operation: each answer is `{"t": cursor, "m": [item…]}`
/// (the runtime's `stream` module runs the loop).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// The union type (under `types`) each item of `m` decodes to.
    pub item: Spanned<String>,
    /// Dotted paths in an item whose values, together, identify a
    /// redelivery of the same item (each a string on the wire).
    #[serde(default)]
    pub dedup_on: Vec<Spanned<String>>,
}

/// One path template.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSpec {
    /// e.g. `/v2/presence/sub-key/{subscribe_key}/channel/{channels}`.
    pub template: Spanned<String>,
    /// Use this template only when all these list parameters are empty.
    #[serde(default)]
    pub when_empty: Vec<Spanned<String>>,
}

/// One parameter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// snake_case setter name.
    pub name: Spanned<String>,
    /// `names`, `group_names`, `name`, `group_name`, `uuid`, `bool`, `u32`, `json_object`, `json_object_of_objects`.
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
    /// `path` or `query`.
    #[serde(rename = "in")]
    pub location: Spanned<String>,
    /// Name on the wire when it differs (query only).
    #[serde(default)]
    pub wire_name: Option<Spanned<String>>,
    /// For `bool`: `flag_if_true` or `flag_if_false` (sends `=1`).
    #[serde(default)]
    pub encoding: Option<Spanned<String>>,
    /// For `names` and `group_names`: text appended to each name on the wire
    /// (e.g. `-pnpres`, a channel's presence channel).
    #[serde(default)]
    pub suffix: Option<Spanned<String>>,
    /// For `names` and `group_names` where presence is made (heartbeat,
    /// set_state, leave): a name ending in `-pnpres`, a presence channel on
    /// which no one is ever present, is refused before any I/O.
    #[serde(default)]
    pub refuse_presence_names: Option<Spanned<bool>>,
    /// Typed default, e.g. `1000` or `true`.
    #[serde(default)]
    pub default: Option<Spanned<String>>,
    /// Default taken from a config value, e.g. `user_id`.
    #[serde(default)]
    pub default_from_config: Option<Spanned<String>>,
    /// The caller must set it.
    #[serde(default)]
    pub required: bool,
    /// Inclusive lower bound (integers).
    #[serde(default)]
    pub min: Option<Spanned<String>>,
    /// Inclusive upper bound (integers).
    #[serde(default)]
    pub max: Option<Spanned<String>>,
    /// Rustdoc for the setter.
    pub docs: String,
}

/// A rule spanning parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// At least one of these list parameters must be non-empty.
    pub required_one_of: Vec<Spanned<String>>,
}

/// The result of an operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultSpec {
    /// Name of a type in `types`.
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
    /// Wire shapes, tried in order; the last has no `when`.
    pub shapes: Vec<ShapeSpec>,
}

/// One wire shape of a response and where each result field comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeSpec {
    /// snake_case name of the wire shape, e.g. `single_channel`; names the
    /// decoder's body struct (`SingleChannelBody`).
    pub name: Spanned<String>,
    /// When this shape applies (decided from the request).
    #[serde(default)]
    pub when: Option<WhenSpec>,
    /// One entry per result field.
    pub fields: Vec<FieldSourceSpec>,
}

/// Request condition selecting a shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenSpec {
    /// This list parameter has exactly one name…
    pub exactly_one: Spanned<String>,
    /// …and these list parameters are empty.
    #[serde(default)]
    pub empty: Vec<Spanned<String>>,
}

/// Where one result field comes from in a shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSourceSpec {
    /// Result field name.
    pub field: Spanned<String>,
    /// Dotted JSON path in the body (`""` is the whole body).
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// Missing or `null` at `from` gives the empty/default value.
    #[serde(default)]
    pub default_if_missing: bool,
    /// A constant instead of a body value.
    #[serde(default, rename = "const")]
    pub constant: Option<Spanned<String>>,
    /// Builds a one-entry map keyed by the only name of this list parameter,
    /// whose value is read from `from`.
    #[serde(default)]
    pub single_entry_of: Option<Spanned<String>>,
}

/// A result type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeSpec {
    /// PascalCase type name.
    pub name: Spanned<String>,
    /// Rustdoc.
    pub docs: String,
    /// The Python SDK's name for it, e.g. `PNHereNowResult`.
    #[serde(default)]
    pub python: Option<String>,
    /// More names the Python class is importable by (another spelling
    /// users know it by), e.g. `[PNHereNowOccupantData]`.
    #[serde(default)]
    pub python_aliases: Vec<Spanned<String>>,
    /// The wire may send a bare string instead of an object; it fills this field.
    #[serde(default)]
    pub from_string: Option<Spanned<String>>,
    /// A tagged union: which variant an item is, chosen by a discriminator
    /// value. Its `fields` are then the fields every variant's struct starts with.
    #[serde(default)]
    pub union: Option<UnionSpec>,
    /// Fields in declaration order.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// A tagged union of stream items.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnionSpec {
    /// Dotted path of the string that chooses the variant, e.g. `d.action`
    /// (required; optional here so that its absence is reported at the union).
    #[serde(default)]
    pub discriminator: Option<Spanned<String>>,
    /// Name of the catch-all variant for any other value (it keeps the
    /// value and the item's JSON).
    pub other: Spanned<String>,
    /// The Python bindings flatten a union into one class: the attribute
    /// holding the discriminator value (default: the path's last key).
    #[serde(default)]
    pub python_field: Option<Spanned<String>>,
    /// The known values.
    pub variants: Vec<VariantSpec>,
}

/// One variant of a union.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// The discriminator's value on the wire, e.g. `state-change`.
    pub value: Spanned<String>,
    /// PascalCase variant name, e.g. `StateChange`.
    pub name: Spanned<String>,
    /// The type (under `types`) holding the variant's own fields.
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
    /// Rustdoc.
    pub docs: String,
}

/// A result type's field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// snake_case field name.
    pub name: Spanned<String>,
    /// `string`, `u64`, `bool`, `json`, `list<T>`, `map<T>`, `option<T>` or a type name.
    #[serde(rename = "type")]
    pub ty: Spanned<String>,
    /// Rustdoc.
    pub docs: String,
    /// JSON key when it differs from `name`.
    #[serde(default)]
    pub wire_name: Option<String>,
    /// Missing on the wire gives the empty/default value.
    #[serde(default)]
    pub default_if_missing: bool,
    /// Filled from the key of the map this value sits in, not from the wire object.
    #[serde(default)]
    pub map_key: bool,
    /// In a stream item (a union's or a variant type's field): the dotted
    /// path of the value in the item, e.g. `d.uuid`.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// In a stream item: one trailing suffix removed from the string (`-pnpres`).
    #[serde(default)]
    pub strip_suffix: Option<String>,
    /// In a stream item, for an `option<string>`: `None` when the value equals
    /// the one at this other path (compared as sent).
    #[serde(default)]
    pub none_if_equals: Option<Spanned<String>>,
    /// In a stream item: `decimal_string` for a `u64` sent as a string of digits.
    #[serde(default)]
    pub encoding: Option<Spanned<String>>,
    /// The Python bindings' attribute name, when it differs from `name`
    /// (PubNub's Python SDK calls `joined` `join`).
    #[serde(default)]
    pub python: Option<Spanned<String>>,
}
