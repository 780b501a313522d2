//! `cargo run -p codegen -- diff [<git-ref>]`: what an edit of `spec/`
//! does to the generated crate's users. Both specs go through the same
//! loader (validated IRs); every difference is classified by one rule of
//! [`RULES`], which also says the semver bump it needs.

use std::fmt;

use crate::ir::{Api, DefaultValue, Operation, Param, ParamKind, TypeModel};
use crate::{SpecSource, load};

/// How a change affects the crate's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Code that compiled (or worked) before may not now.
    Breaking,
    /// Something new; existing code is unaffected.
    Additive,
    /// The Rust API is unchanged but what is sent or read on the wire is not.
    WireOnly,
    /// Documentation only.
    DocsOnly,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Breaking => "breaking",
            Class::Additive => "additive",
            Class::WireOnly => "wire-only",
            Class::DocsOnly => "docs-only",
        })
    }
}

/// One classification rule (the table in docs/SPEC.md lists the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, shown in reports.
    pub id: &'static str,
    /// Its class.
    pub class: Class,
    /// When it applies.
    pub when: &'static str,
}

const fn rule(id: &'static str, class: Class, when: &'static str) -> Rule {
    Rule { id, class, when }
}

/// An operation is removed (a rename is a removal and an addition).
pub const OPERATION_REMOVED: Rule =
    rule("operation-removed", Class::Breaking, "an operation is removed (a rename is a removal and an addition)");
/// An operation's builder type is renamed.
pub const BUILDER_RENAMED: Rule = rule("builder-renamed", Class::Breaking, "an operation's builder type is renamed");
/// A parameter is removed or renamed.
pub const PARAMETER_REMOVED: Rule = rule("parameter-removed", Class::Breaking, "a parameter is removed or renamed");
/// A required parameter is added.
pub const PARAMETER_ADDED_REQUIRED: Rule =
    rule("parameter-added-required", Class::Breaking, "a required parameter is added");
/// An optional parameter becomes required.
pub const PARAMETER_MADE_REQUIRED: Rule =
    rule("parameter-made-required", Class::Breaking, "an optional parameter becomes required");
/// A parameter's type changes, or its bounds narrow (`refuse_presence_names` set).
pub const PARAMETER_TYPE_CHANGED: Rule = rule(
    "parameter-type-changed",
    Class::Breaking,
    "a parameter's type changes, or its bounds narrow (`refuse_presence_names` set)",
);
/// A default changes, so unchanged code sends another request.
pub const PARAMETER_DEFAULT_CHANGED: Rule =
    rule("parameter-default-changed", Class::Breaking, "a default changes, so unchanged code sends another request");
/// A rule across parameters is added (calls that passed may now fail).
pub const RULE_ADDED: Rule =
    rule("rule-added", Class::Breaking, "a rule across parameters is added (calls that passed may now fail)");
/// An operation's result type (or stream item) changes, or it stops paging.
pub const RESULT_CHANGED: Rule =
    rule("result-changed", Class::Breaking, "an operation's result type (or stream item) changes, or it stops paging");
/// A result type is removed or renamed.
pub const TYPE_REMOVED: Rule = rule("type-removed", Class::Breaking, "a result type is removed or renamed");
/// A result field is removed or renamed.
pub const FIELD_REMOVED: Rule = rule("field-removed", Class::Breaking, "a result field is removed or renamed");
/// A result field's type changes.
pub const FIELD_TYPE_CHANGED: Rule = rule("field-type-changed", Class::Breaking, "a result field's type changes");
/// A union variant is removed or renamed.
pub const VARIANT_REMOVED: Rule = rule("variant-removed", Class::Breaking, "a union variant is removed or renamed");
/// The package or the client type is renamed, or an inlineable module removed.
pub const CRATE_RENAMED: Rule = rule(
    "crate-renamed",
    Class::Breaking,
    "the package or the client type is renamed, or an inlineable module removed",
);
/// A name the Python bindings expose changes.
pub const PYTHON_NAME_CHANGED: Rule = rule(
    "python-name-changed",
    Class::Breaking,
    "a Python class or attribute name changes (a type's `python`, a field's `python`, a union's `python_field`) or a Python alias is removed",
);
/// A type gains a Python alias.
pub const PYTHON_ALIAS_ADDED: Rule = rule(
    "python-alias-added",
    Class::Additive,
    "a result type gains a Python alias, or its class is renamed keeping the old name as an alias",
);
/// An operation is added.
pub const OPERATION_ADDED: Rule = rule("operation-added", Class::Additive, "an operation is added");
/// An optional parameter is added.
pub const PARAMETER_ADDED: Rule = rule("parameter-added", Class::Additive, "an optional parameter is added");
/// A required parameter becomes optional.
pub const PARAMETER_MADE_OPTIONAL: Rule =
    rule("parameter-made-optional", Class::Additive, "a required parameter becomes optional");
/// A parameter's bounds widen (`refuse_presence_names` unset).
pub const PARAMETER_BOUNDS_WIDENED: Rule =
    rule("parameter-bounds-widened", Class::Additive, "a parameter's bounds widen (`refuse_presence_names` unset)");
/// A rule across parameters is removed.
pub const RULE_REMOVED: Rule = rule("rule-removed", Class::Additive, "a rule across parameters is removed");
/// A result type is added.
pub const TYPE_ADDED: Rule = rule("type-added", Class::Additive, "a result type is added");
/// A result field is added (result types are `#[non_exhaustive]`).
pub const FIELD_ADDED: Rule =
    rule("field-added", Class::Additive, "a result field is added (result types are `#[non_exhaustive]`)");
/// A union variant is added (unions are `#[non_exhaustive]`).
pub const VARIANT_ADDED: Rule =
    rule("variant-added", Class::Additive, "a union variant is added (unions are `#[non_exhaustive]`)");
/// An operation starts paging (`pages()`, `all_pages()`).
pub const PAGING_ADDED: Rule =
    rule("paging-added", Class::Additive, "an operation starts paging (`pages()`, `all_pages()`)");
/// An inlineable module is added.
pub const INLINEABLE_ADDED: Rule = rule("inlineable-added", Class::Additive, "an inlineable module is added");
/// A parameter's wire name, location, encoding or suffix changes.
pub const PARAMETER_WIRE_CHANGED: Rule =
    rule("parameter-wire-changed", Class::WireOnly, "a parameter's wire name, location, encoding or suffix changes");
/// An operation's path templates change.
pub const PATH_CHANGED: Rule = rule("path-changed", Class::WireOnly, "an operation's path templates change");
/// An operation becomes (non-)idempotent, so it is (not) retried.
pub const RETRY_CHANGED: Rule =
    rule("retry-changed", Class::WireOnly, "an operation becomes (non-)idempotent, so it is (not) retried");
/// A response is read differently: shapes, keys, paths, defaults, dedup, paging.
pub const DECODING_CHANGED: Rule = rule(
    "decoding-changed",
    Class::WireOnly,
    "a response is read differently: shapes, keys, paths, defaults, dedup, paging",
);
/// Documentation, summaries, examples or Python names change.
pub const DOCS_CHANGED: Rule =
    rule("docs-changed", Class::DocsOnly, "documentation, summaries, examples or Python notes change");

/// Every rule, in the order reports list classes.
pub const RULES: &[Rule] = &[
    OPERATION_REMOVED,
    BUILDER_RENAMED,
    PARAMETER_REMOVED,
    PARAMETER_ADDED_REQUIRED,
    PARAMETER_MADE_REQUIRED,
    PARAMETER_TYPE_CHANGED,
    PARAMETER_DEFAULT_CHANGED,
    RULE_ADDED,
    RESULT_CHANGED,
    TYPE_REMOVED,
    FIELD_REMOVED,
    FIELD_TYPE_CHANGED,
    VARIANT_REMOVED,
    CRATE_RENAMED,
    PYTHON_NAME_CHANGED,
    OPERATION_ADDED,
    PARAMETER_ADDED,
    PARAMETER_MADE_OPTIONAL,
    PARAMETER_BOUNDS_WIDENED,
    RULE_REMOVED,
    TYPE_ADDED,
    FIELD_ADDED,
    VARIANT_ADDED,
    PAGING_ADDED,
    INLINEABLE_ADDED,
    PYTHON_ALIAS_ADDED,
    PARAMETER_WIRE_CHANGED,
    PATH_CHANGED,
    RETRY_CHANGED,
    DECODING_CHANGED,
    DOCS_CHANGED,
];

/// One difference between the two specs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The rule that classifies it.
    pub rule: Rule,
    /// Where: `file:line` in the new spec (or the old one for a removal).
    pub at: String,
    /// What changed, in words.
    pub message: String,
}

/// A spec at one revision: its sources (to locate lines) and its IR.
pub struct Revision {
    /// `spec/api.yaml` and `spec/endpoints/*.yaml`.
    pub sources: Vec<SpecSource>,
    /// The validated model.
    pub api: Api,
}

impl Revision {
    /// Loads sources (the first is `spec/api.yaml`) through the generator's loader.
    pub fn load(sources: Vec<SpecSource>) -> Result<Self, String> {
        let (api, endpoints) = sources.split_first().ok_or("no spec/api.yaml")?;
        let model = load(api, endpoints)
            .map_err(|diagnostics| diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
        Ok(Revision { sources, api: model })
    }

    /// `file:line` of the first line containing the last of `needles`, each
    /// searched after the previous one (e.g. the type, then its field).
    fn locate(&self, file: &str, needles: &[String]) -> String {
        let Some(source) = self.sources.iter().find(|s| s.path == file) else { return file.to_owned() };
        let mut line = 0;
        for needle in needles {
            match source.text.lines().enumerate().skip(line).find(|(_, text)| text.contains(needle.as_str())) {
                Some((found, _)) => line = found,
                None => break,
            }
        }
        format!("{file}:{}", line + 1)
    }
}

/// Everything that differs from `old` to `new`, breaking changes first.
pub fn compare(old: &Revision, new: &Revision) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |rule: Rule, at: String, message: String| out.push(Change { rule, at, message });
    let api_file = "spec/api.yaml".to_owned();
    let (a, b) = (&old.api, &new.api);
    if a.package != b.package {
        push(
            CRATE_RENAMED,
            new.locate(&api_file, &["package:".into()]),
            format!("package `{}` is now `{}`", a.package, b.package),
        );
    }
    if a.client_name != b.client_name {
        push(
            CRATE_RENAMED,
            new.locate(&api_file, &["client:".into()]),
            format!("client `{}` is now `{}`", a.client_name, b.client_name),
        );
    }
    if a.docs != b.docs || a.client_docs != b.client_docs || a.description != b.description {
        push(DOCS_CHANGED, new.locate(&api_file, &["docs:".into()]), "crate or client docs".to_owned());
    }
    for module in a.inlineable.iter().filter(|m| !b.inlineable.contains(m)) {
        push(CRATE_RENAMED, old.locate(&api_file, &[format!("{module}.rs")]), format!("inlineable `{module}` removed"));
    }
    for module in b.inlineable.iter().filter(|m| !a.inlineable.contains(m)) {
        push(
            INLINEABLE_ADDED,
            new.locate(&api_file, &[format!("{module}.rs")]),
            format!("inlineable `{module}` added"),
        );
    }
    for op in &a.operations {
        match b.operations.iter().find(|o| o.name == op.name) {
            Some(now) => compare_operation(old, new, op, now, &mut push),
            None => push(
                OPERATION_REMOVED,
                old.locate(&op.source, &["operation:".into()]),
                format!("operation `{}` removed", op.name),
            ),
        }
    }
    for op in b.operations.iter().filter(|o| !a.operations.iter().any(|x| x.name == o.name)) {
        push(OPERATION_ADDED, new.locate(&op.source, &["operation:".into()]), format!("operation `{}` added", op.name));
    }
    // Breaking first; within a class, by file and line.
    let position = |change: &Change| {
        let (file, line) = change.at.rsplit_once(':').unwrap_or((&change.at, "0"));
        (change.rule.class, file.to_owned(), line.parse::<usize>().unwrap_or(0))
    };
    out.sort_by_key(position);
    out
}

fn compare_operation(
    old: &Revision,
    new: &Revision,
    a: &Operation,
    b: &Operation,
    push: &mut impl FnMut(Rule, String, String),
) {
    let name = &b.name;
    let file = &b.source;
    let at = |needles: &[String]| new.locate(file, needles);
    if a.builder != b.builder {
        push(
            BUILDER_RENAMED,
            at(&["builder:".into()]),
            format!("`{name}`: builder `{}` is now `{}`", a.builder, b.builder),
        );
    }
    if (&a.summary, &a.docs, &a.python, &a.example) != (&b.summary, &b.docs, &b.python, &b.example) {
        push(DOCS_CHANGED, at(&["summary:".into()]), format!("`{name}`: summary, docs, Python name or example"));
    }
    if a.idempotent != b.idempotent {
        push(
            RETRY_CHANGED,
            at(&["idempotent:".into()]),
            format!("`{name}`: idempotent {} → {}", a.idempotent, b.idempotent),
        );
    }
    if a.paths != b.paths {
        push(PATH_CHANGED, at(&["paths:".into()]), format!("`{name}`: path templates"));
    }
    for param in &a.params {
        match b.params.iter().find(|p| p.name == param.name) {
            Some(now) => compare_param(name, param, now, &at(&["params:".into(), format!("name: {}", now.name)]), push),
            None => push(
                PARAMETER_REMOVED,
                old.locate(&a.source, &["params:".into(), format!("name: {}", param.name)]),
                format!("`{name}`: parameter `{}` removed", param.name),
            ),
        }
    }
    for param in b.params.iter().filter(|p| !a.params.iter().any(|x| x.name == p.name)) {
        let id = if param.default == DefaultValue::Required { PARAMETER_ADDED_REQUIRED } else { PARAMETER_ADDED };
        push(
            id,
            at(&["params:".into(), format!("name: {}", param.name)]),
            format!("`{name}`: parameter `{}` added", param.name),
        );
    }
    let (ra, rb) = (&a.rules, &b.rules);
    if rb.iter().any(|r| !ra.contains(r)) {
        push(RULE_ADDED, at(&["rules:".into()]), format!("`{name}`: a rule across parameters"));
    }
    if ra.iter().any(|r| !rb.contains(r)) {
        push(RULE_REMOVED, at(&["rules:".into()]), format!("`{name}`: a rule across parameters removed"));
    }
    let output = |op: &Operation| match (&op.result, &op.stream) {
        (_, Some(stream)) => format!("stream of {}", stream.item),
        (Some(result), None) => result.ty.clone(),
        (None, None) => "()".to_owned(),
    };
    if output(a) != output(b) {
        push(
            RESULT_CHANGED,
            at(&["result:".into()]),
            format!("`{name}`: returns {} instead of {}", output(b), output(a)),
        );
    } else {
        let reads_differently = a.result.as_ref().map(|r| &r.shapes) != b.result.as_ref().map(|r| &r.shapes)
            || a.stream.as_ref().map(|s| (&s.dedup, &s.root)) != b.stream.as_ref().map(|s| (&s.dedup, &s.root));
        if reads_differently {
            push(DECODING_CHANGED, at(&["result:".into()]), format!("`{name}`: how the response is read"));
        }
    }
    match (&a.pagination, &b.pagination) {
        (None, Some(_)) => push(PAGING_ADDED, at(&["pagination:".into()]), format!("`{name}`: pages")),
        (Some(_), None) => push(RESULT_CHANGED, at(&["operation:".into()]), format!("`{name}`: no longer pages")),
        (Some(x), Some(y)) if x != y => {
            push(DECODING_CHANGED, at(&["pagination:".into()]), format!("`{name}`: paging"))
        }
        _ => {}
    }
    for ty in &a.types {
        match b.types.iter().find(|t| t.name == ty.name) {
            Some(now) => compare_type(
                name,
                ty,
                now,
                &|needles: &[String]| {
                    let mut all = vec!["types:".to_owned(), format!("name: {}", now.name)];
                    all.extend_from_slice(needles);
                    new.locate(file, &all)
                },
                push,
            ),
            None => push(
                TYPE_REMOVED,
                old.locate(&a.source, &["types:".into(), format!("name: {}", ty.name)]),
                format!("`{name}`: type `{}` removed", ty.name),
            ),
        }
    }
    for ty in b.types.iter().filter(|t| !a.types.iter().any(|x| x.name == t.name)) {
        push(
            TYPE_ADDED,
            at(&["types:".into(), format!("name: {}", ty.name)]),
            format!("`{name}`: type `{}` added", ty.name),
        );
    }
}

fn compare_param(op: &str, a: &Param, b: &Param, at: &str, push: &mut impl FnMut(Rule, String, String)) {
    let what = format!("`{op}`: parameter `{}`", b.name);
    if a.docs != b.docs {
        push(DOCS_CHANGED, at.to_owned(), format!("{what} docs"));
    }
    if a.location != b.location {
        push(
            PARAMETER_WIRE_CHANGED,
            at.to_owned(),
            format!("{what} travels as {:?} instead of {:?}", b.location, a.location),
        );
    }
    match (&a.kind, &b.kind) {
        (ParamKind::U32 { min: a_min, max: a_max }, ParamKind::U32 { min: b_min, max: b_max }) => {
            let (lo_a, lo_b) = (a_min.unwrap_or(0), b_min.unwrap_or(0));
            let (hi_a, hi_b) = (a_max.unwrap_or(u32::MAX), b_max.unwrap_or(u32::MAX));
            if lo_b > lo_a || hi_b < hi_a {
                push(
                    PARAMETER_TYPE_CHANGED,
                    at.to_owned(),
                    format!("{what} bounds narrow to {lo_b}..={hi_b} from {lo_a}..={hi_a}"),
                );
            } else if (lo_b, hi_b) != (lo_a, hi_a) {
                push(
                    PARAMETER_BOUNDS_WIDENED,
                    at.to_owned(),
                    format!("{what} bounds widen to {lo_b}..={hi_b} from {lo_a}..={hi_a}"),
                );
            }
        }
        (
            ParamKind::Names { kind: ka, suffix: sa, refuse_presence_names: ra },
            ParamKind::Names { kind: kb, suffix: sb, refuse_presence_names: rb },
        ) => {
            if ka != kb {
                push(PARAMETER_TYPE_CHANGED, at.to_owned(), format!("{what} names are {kb:?} instead of {ka:?}"));
            }
            if sa != sb {
                push(PARAMETER_WIRE_CHANGED, at.to_owned(), format!("{what} suffix `{sb}` instead of `{sa}`"));
            }
            // Refusing names narrows what the setter accepts; accepting them again widens it.
            match (ra, rb) {
                (false, true) => {
                    push(PARAMETER_TYPE_CHANGED, at.to_owned(), format!("{what} refuses names ending in `-pnpres`"))
                }
                (true, false) => push(
                    PARAMETER_BOUNDS_WIDENED,
                    at.to_owned(),
                    format!("{what} accepts names ending in `-pnpres` again"),
                ),
                _ => {}
            }
        }
        (ParamKind::Flag { send_when: x }, ParamKind::Flag { send_when: y }) => {
            if x != y {
                push(PARAMETER_WIRE_CHANGED, at.to_owned(), format!("{what} encoding (sent when {y} instead of {x})"));
            }
        }
        (ParamKind::Name { kind: x }, ParamKind::Name { kind: y }) => {
            if x != y {
                push(PARAMETER_TYPE_CHANGED, at.to_owned(), format!("{what} names a {y:?} instead of a {x:?}"));
            }
        }
        (ParamKind::JsonObject { of_objects: x }, ParamKind::JsonObject { of_objects: y }) => {
            if x != y {
                push(PARAMETER_TYPE_CHANGED, at.to_owned(), format!("{what} is {:?} instead of {:?}", b.kind, a.kind));
            }
        }
        // Every kind listed, not `_`: a new kind must say here how its own changes count.
        (
            ParamKind::Names { .. }
            | ParamKind::Name { .. }
            | ParamKind::Flag { .. }
            | ParamKind::U32 { .. }
            | ParamKind::JsonObject { .. },
            _,
        ) => {
            push(PARAMETER_TYPE_CHANGED, at.to_owned(), format!("{what} is {:?} instead of {:?}", b.kind, a.kind));
        }
    }
    match (&a.default, &b.default) {
        (x, y) if x == y => {}
        (_, DefaultValue::Required) => push(PARAMETER_MADE_REQUIRED, at.to_owned(), format!("{what} is now required")),
        (DefaultValue::Required, _) => push(PARAMETER_MADE_OPTIONAL, at.to_owned(), format!("{what} is now optional")),
        (x, y) => push(PARAMETER_DEFAULT_CHANGED, at.to_owned(), format!("{what} default {y:?} instead of {x:?}")),
    }
}

fn compare_type<'a>(
    op: &str,
    a: &'a TypeModel,
    b: &'a TypeModel,
    at: &dyn Fn(&[String]) -> String,
    push: &mut impl FnMut(Rule, String, String),
) {
    let what = format!("`{op}`: type `{}`", b.name);
    // What Python code can import: the class's name and its aliases.
    let names = |t: &'a TypeModel| -> Vec<&'a str> {
        std::iter::once(t.python_class()).chain(t.python_aliases.iter().map(String::as_str)).collect()
    };
    let (before, after) = (names(a), names(b));
    let (old_class, new_class) = (a.python_class(), b.python_class());
    if old_class != new_class {
        let (rule, kept) = if after.contains(&old_class) {
            (PYTHON_ALIAS_ADDED, " (the old name stays, as an alias)")
        } else {
            (PYTHON_NAME_CHANGED, "")
        };
        push(rule, at(&[]), format!("{what}: Python class `{old_class}` is now `{new_class}`{kept}"));
    } else if (&a.docs, &a.python) != (&b.docs, &b.python) {
        push(DOCS_CHANGED, at(&[]), format!("{what} docs"));
    }
    for name in before.iter().filter(|n| **n != old_class && !after.contains(n)) {
        push(PYTHON_NAME_CHANGED, at(&[]), format!("{what}: Python alias `{name}` removed"));
    }
    for name in after.iter().filter(|n| **n != new_class && !before.contains(n)) {
        push(PYTHON_ALIAS_ADDED, at(&[]), format!("{what}: Python alias `{name}` added"));
    }
    if a.from_string != b.from_string {
        push(DECODING_CHANGED, at(&["from_string".into()]), format!("{what} bare-string form"));
    }
    for field in &a.fields {
        match b.fields.iter().find(|f| f.name == field.name) {
            None => push(FIELD_REMOVED, at(&[]), format!("{what}: field `{}` removed", field.name)),
            Some(now) => {
                let here = at(&[format!("name: {}", now.name)]);
                if field.ty != now.ty {
                    push(
                        FIELD_TYPE_CHANGED,
                        here.clone(),
                        format!("{what}: field `{}` is {:?} instead of {:?}", now.name, now.ty, field.ty),
                    );
                }
                if (&field.wire_name, field.default_if_missing, field.map_key, &field.item)
                    != (&now.wire_name, now.default_if_missing, now.map_key, &now.item)
                {
                    push(DECODING_CHANGED, here.clone(), format!("{what}: field `{}` is read differently", now.name));
                }
                if field.python_name != now.python_name {
                    push(
                        PYTHON_NAME_CHANGED,
                        here.clone(),
                        format!(
                            "{what}: field `{}` is `{}` in Python, was `{}`",
                            now.name, now.python_name, field.python_name
                        ),
                    );
                }
                if field.docs != now.docs {
                    push(DOCS_CHANGED, here, format!("{what}: field `{}` docs", now.name));
                }
            }
        }
    }
    for field in b.fields.iter().filter(|f| !a.fields.iter().any(|x| x.name == f.name)) {
        push(FIELD_ADDED, at(&[format!("name: {}", field.name)]), format!("{what}: field `{}` added", field.name));
    }
    if let (Some(x), Some(y)) = (&a.union, &b.union) {
        // The catch-all is a variant users match on too.
        if (&x.other, &x.other_field) != (&y.other, &y.other_field) {
            push(
                VARIANT_REMOVED,
                at(&["union:".into()]),
                format!(
                    "{what}: catch-all `{} {{ {} }}` is now `{} {{ {} }}`",
                    x.other, x.other_field, y.other, y.other_field
                ),
            );
        } else if x.discriminator != y.discriminator {
            push(DECODING_CHANGED, at(&["union:".into()]), format!("{what}: discriminator `{}`", y.discriminator));
        }
        if x.python_field != y.python_field {
            push(
                PYTHON_NAME_CHANGED,
                at(&["union:".into()]),
                format!("{what}: the Python attribute of the kind is `{}`, was `{}`", y.python_field, x.python_field),
            );
        }
    }
    let variants = |t: &TypeModel| t.union.as_ref().map(|u| u.variants.clone()).unwrap_or_default();
    let (va, vb) = (variants(a), variants(b));
    for v in &va {
        match vb.iter().find(|x| x.name == v.name) {
            None => push(VARIANT_REMOVED, at(&["variants:".into()]), format!("{what}: variant `{}` removed", v.name)),
            Some(now) if (&now.value, &now.ty) != (&v.value, &v.ty) => {
                let id = if now.ty != v.ty { RESULT_CHANGED } else { DECODING_CHANGED };
                push(id, at(&[format!("name: {}", now.name)]), format!("{what}: variant `{}` changed", now.name));
            }
            Some(now) if now.docs != v.docs => {
                push(DOCS_CHANGED, at(&[format!("name: {}", now.name)]), format!("{what}: variant `{}` docs", now.name))
            }
            Some(_) => {}
        }
    }
    for v in vb.iter().filter(|v| !va.iter().any(|x| x.name == v.name)) {
        push(VARIANT_ADDED, at(&[format!("name: {}", v.name)]), format!("{what}: variant `{}` added", v.name));
    }
}

/// The heading a `--changelog` entry goes under: the version the change
/// needs, when spec/api.yaml was not bumped yet (or the bumped one, if
/// higher); "Unreleased" when the change needs no bump (docs only), so it
/// never lands in the entry of a version already out.
pub fn changelog_version(old: &Revision, new: &Revision, changes: &[Change]) -> String {
    let (Some(from), Some(to)) = (parse_version(&old.api.version), parse_version(&new.api.version)) else {
        return "Unreleased".to_owned();
    };
    let (a, b, c) = to.max(required_version(from, changes));
    if (a, b, c) > from { format!("{a}.{b}.{c}") } else { "Unreleased".to_owned() }
}

/// Whether a changelog heading is a draft the new entry supersedes:
/// "Unreleased", or a version above the one compared with (`old`'s).
pub fn is_unreleased(heading: &str, old: &Revision) -> bool {
    heading == "Unreleased"
        || parse_version(heading).zip(parse_version(&old.api.version)).is_some_and(|(v, from)| v > from)
}

/// A version as `major.minor.patch`.
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().split(['-', '+']).next()?.split('.').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The smallest version after `from` that the changes allow (Cargo's rules:
/// below 1.0 the first non-zero part is the major one).
pub fn required_version(from: (u64, u64, u64), changes: &[Change]) -> (u64, u64, u64) {
    let worst = changes.iter().map(|c| c.rule.class).min();
    let (major, minor, patch) = from;
    match worst {
        None | Some(Class::DocsOnly) => from,
        Some(Class::Breaking) if major > 0 => (major + 1, 0, 0),
        Some(Class::Breaking) if minor > 0 => (0, minor + 1, 0),
        Some(Class::Breaking) => (0, 0, patch + 1),
        Some(Class::Additive | Class::WireOnly) if major > 0 => (major, minor + 1, 0),
        Some(Class::Additive | Class::WireOnly) => (0, minor, patch + 1),
    }
}

/// The report: each change, then the version verdict. Returns the text and
/// whether a breaking change lacks its bump.
pub fn report(old: &Revision, new: &Revision, changes: &[Change]) -> (String, bool) {
    let mut text = String::new();
    if changes.is_empty() {
        text.push_str("no changes to the generated crate's API, wire or docs\n");
    }
    for change in changes {
        text.push_str(&format!(
            "{:<9}  {}  {} [{}]\n",
            change.rule.class.to_string(),
            change.at,
            change.message,
            change.rule.id
        ));
    }
    let (Some(from), Some(to)) = (parse_version(&old.api.version), parse_version(&new.api.version)) else {
        text.push_str(&format!("\nversion {} → {}: not semver\n", old.api.version, new.api.version));
        return (text, true);
    };
    let needed = required_version(from, changes);
    let fmt = |(a, b, c): (u64, u64, u64)| format!("{a}.{b}.{c}");
    let breaking = changes.iter().any(|c| c.rule.class == Class::Breaking);
    let worst = changes.iter().map(|c| c.rule.class).min().map_or("no".to_owned(), |c| c.to_string());
    let held = breaking && to < needed;
    text.push_str(&format!(
        "\n{} `{}`: {worst} changes; version {} → {}; needs {}{}\n",
        if held { "HELD" } else { "ok" },
        new.api.package,
        fmt(from),
        fmt(to),
        if needed == from { "no bump".to_owned() } else { format!("at least {}", fmt(needed)) },
        if held {
            " (a breaking change without the bump it needs)"
        } else if to < needed {
            " (bump it when releasing)"
        } else {
            ""
        },
    ));
    (text, held)
}

/// The CHANGELOG.md entry for `version`.
pub fn changelog_entry(version: &str, changes: &[Change]) -> String {
    let mut entry = format!("## {version}\n");
    type Belongs<'a> = &'a dyn Fn(&Change) -> bool;
    let sections: [(&str, Belongs); 4] = [
        ("Added", &|c| c.rule.class == Class::Additive),
        ("Changed", &|c| {
            c.rule.class == Class::Breaking && !c.rule.id.ends_with("-removed") || c.rule.class == Class::DocsOnly
        }),
        ("Removed", &|c| c.rule.class == Class::Breaking && c.rule.id.ends_with("-removed")),
        ("Wire changes", &|c| c.rule.class == Class::WireOnly),
    ];
    for (title, belongs) in sections {
        let lines: Vec<String> = changes
            .iter()
            .filter(|c| belongs(c))
            .map(|c| format!("- {}{}\n", c.message, if c.rule.class == Class::Breaking { " (breaking)" } else { "" }))
            .collect();
        if !lines.is_empty() {
            entry.push_str(&format!("\n### {title}\n\n"));
            entry.extend(lines);
        }
    }
    entry
}

/// `changelog` with `entry` first under the title (and preamble). Entries
/// that `entry` supersedes are dropped: the same version's, and those for
/// which `unreleased` says yes (drafts above the last release, which this
/// entry, covering every change since that release, replaces).
pub fn insert_entry(changelog: &str, version: &str, entry: &str, unreleased: impl Fn(&str) -> bool) -> String {
    let changelog = changelog.replace("\r\n", "\n");
    // Split into the preamble and `## ` sections.
    let mut starts: Vec<usize> = changelog.match_indices("\n## ").map(|(i, _)| i + 1).collect();
    if changelog.starts_with("## ") {
        starts.insert(0, 0);
    }
    let preamble_end = starts.first().copied().unwrap_or(changelog.len());
    let mut out = changelog[..preamble_end].to_owned();
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
    }
    out.push_str(entry);
    out.push('\n');
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(changelog.len());
        let section = &changelog[*start..end];
        // `## 0.2.0`, `## 0.2.0 - 2026-11-29`, `## [0.2.0]`: the version is the first word.
        let heading = section.lines().next().unwrap_or_default().trim_start_matches("## ");
        let section_version = heading.split_whitespace().next().unwrap_or_default().trim_matches(['[', ']']);
        if section_version == version || unreleased(section_version) {
            continue;
        }
        out.push_str(section);
    }
    out
}
