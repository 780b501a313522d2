//! Plans each response shape's *envelope*: the tree of JSON keys its decoder
//! reads, so that a body is decoded in one typed serde pass. A shape the
//! envelope cannot express is a spec error, reported here with its position.

use marked_yaml::Span;

use super::model::{Envelope, FieldSource, JsonObject, JsonValue, Read, Source, TypeModel, TypeRef};
use crate::diagnostics::Reporter;

/// Keys any body may carry, which every decoder reads to spot error bodies;
/// a result field cannot read them.
pub const ERROR_KEYS: [&str; 2] = ["status", "error"];

impl JsonObject {
    /// Adds a leaf at `segments`; returns the key positions leading to it, or
    /// `None` when the key is already read (as a value, or as a value and an object).
    fn insert(&mut self, segments: &[&str], ty: &TypeRef, default: bool) -> Option<Vec<usize>> {
        let (first, rest) = segments.split_first()?;
        let existing = self.keys.iter().position(|(key, _)| key == first);
        let position = match existing {
            Some(position) => position,
            None => {
                let value = if rest.is_empty() {
                    JsonValue::Leaf { ty: ty.clone(), default }
                } else {
                    JsonValue::Object(JsonObject::default())
                };
                self.keys.push(((*first).to_owned(), value));
                self.keys.len() - 1
            }
        };
        if rest.is_empty() {
            return existing.is_none().then(|| vec![position]);
        }
        match &mut self.keys[position].1 {
            JsonValue::Object(next) => {
                let mut path = vec![position];
                path.extend(next.insert(rest, ty, default)?);
                Some(path)
            }
            JsonValue::Leaf { .. } => None,
        }
    }
}

/// The type a source reads: a `single_entry_of` field reads its map's value.
fn read_type(source: &FieldSource) -> &TypeRef {
    match (&source.source, &source.ty) {
        (Source::SingleEntry { .. }, TypeRef::Map(inner)) => inner,
        (_, ty) => ty,
    }
}

fn path_of(source: &FieldSource) -> Option<&str> {
    match &source.source {
        Source::Body { path, .. } | Source::SingleEntry { path, .. } => Some(path),
        Source::ConstU64(_) => None,
    }
}

/// Plans the envelope of a shape whose `fields` (each with the span of its
/// spec entry) are already checked one by one. Reports and returns `None`
/// when the fields cannot be read in one pass.
pub(super) fn plan(
    r: &mut Reporter<'_>,
    ctx: &str,
    types: &[TypeModel],
    fields: &[(FieldSource, &Span)],
) -> Option<Envelope> {
    let before = r.count();
    let mut root = JsonObject::default();

    // A field read from the whole body (`from: ""`) has its type's fields
    // at the root. Other fields may read the same `u64` keys again (e.g.
    // `occupancy`, both a total and the channel's count).
    let mut whole_body: Option<(&TypeModel, Vec<(String, usize)>)> = None;
    let field_ctx = |source: &FieldSource| format!("{ctx}, result field `{}`", source.field);
    for (source, span) in fields.iter().filter(|(source, _)| path_of(source) == Some("")) {
        let ctx = &field_ctx(source);
        if whole_body.is_some() {
            r.error(span, ctx, "only one field of a shape can read the whole body (`from: \"\"`)");
            continue;
        }
        let named = match read_type(source) {
            TypeRef::Named(name) => types.iter().find(|t| t.name == *name && t.from_string.is_none()),
            _ => None,
        };
        let Some(ty) = named else {
            r.error(span, ctx, "a field reading the whole body (`from: \"\"`) needs a spec type without `from_string`");
            continue;
        };
        let mut positions = Vec::new();
        for field in ty.fields.iter().filter(|field| !field.map_key) {
            if ERROR_KEYS.contains(&field.wire_name.as_str()) {
                r.error(
                    span,
                    ctx,
                    format!(
                        "`{}.{}` would read the body's `{}`, which every decoder reads to spot error bodies",
                        ty.name, field.name, field.wire_name
                    ),
                );
                continue;
            }
            match root.insert(&[field.wire_name.as_str()], &field.ty, field.default_if_missing) {
                Some(at) => positions.push((field.name.clone(), at[0])),
                None => {
                    r.error(span, ctx, format!("`{}` has two fields read from the key `{}`", ty.name, field.wire_name))
                }
            }
        }
        whole_body = Some((ty, positions));
    }

    let mut reads = Vec::new();
    for (source, span) in fields {
        let Some(path) = path_of(source) else {
            reads.push(Read::Const);
            continue;
        };
        if path.is_empty() {
            let (ty, positions) = whole_body.as_ref()?;
            reads.push(Read::WholeBody { ty: ty.name.clone(), fields: positions.clone() });
            continue;
        }
        let ctx = &field_ctx(source);
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|segment| segment.is_empty()) {
            r.error(span, ctx, format!("`{path}` is not a dotted path of keys (empty segment)"));
            continue;
        }
        if ERROR_KEYS.contains(&segments[0]) {
            r.error(
                span,
                ctx,
                format!(
                    "`{}` is read by every decoder to spot error bodies; a result field cannot read it",
                    segments[0]
                ),
            );
            continue;
        }
        let default = matches!(source.source, Source::Body { default_if_missing: true, .. });
        // Shared with the whole-body type: only a required `u64` (a Copy
        // value) can be read twice.
        let shared = whole_body.as_ref().and_then(|(ty, positions)| {
            let field = ty.fields.iter().find(|field| !field.map_key && segments == [field.wire_name.as_str()])?;
            let position = positions.iter().find(|(name, _)| *name == field.name)?.1;
            (field.ty == TypeRef::U64
                && source.ty == TypeRef::U64
                && !default
                && matches!(source.source, Source::Body { .. }))
            .then_some(vec![position])
        });
        match shared.or_else(|| root.insert(&segments, read_type(source), default)) {
            Some(at) => reads.push(Read::At(at)),
            None => r.error(span, ctx, format!(
                "`{path}` overlaps a key another field of this shape reads (the same key, or a key inside a value read whole)"
            )),
        }
    }
    (r.count() == before).then_some(Envelope { root, reads })
}
