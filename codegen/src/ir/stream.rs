//! Long-polled operations (`stream`): checks the union their items decode
//! to, and plans the item's wire form: every key any variant reads, in one
//! tree, so an item is decoded in one typed serde pass and then dispatched
//! on its discriminator.

use marked_yaml::Spanned;

use super::model::{
    Field, ItemField, ItemRead, JsonObject, JsonValue, StreamModel, TypeModel, TypeRef, UnionModel, Variant,
    VariantRead,
};
use super::naming::{is_pascal_case, is_snake_case, snake_key};
use crate::diagnostics::Reporter;
use crate::spec;

const DECIMAL_STRING: &str = "decimal_string";

/// Checks a field's stream-item attributes; `None` when it has no `from`.
pub(super) fn item_field(r: &mut Reporter<'_>, ctx: &str, f: &spec::FieldSpec, ty: &TypeRef) -> Option<ItemField> {
    let Some(from) = &f.from else {
        let stray = [f.none_if_equals.as_ref(), f.encoding.as_ref()].into_iter().flatten().next();
        if let Some(stray) = stray {
            r.error(stray.span(), ctx, "`none_if_equals` and `encoding` need `from` (stream item fields)");
        } else if f.strip_suffix.is_some() {
            r.error(f.name.span(), ctx, "`strip_suffix` needs `from` (stream item fields)");
        }
        return None;
    };
    check_path(r, ctx, from);
    let is_string = matches!(ty, TypeRef::String) || *ty == TypeRef::Option(Box::new(TypeRef::String));
    if f.strip_suffix.is_some() && !is_string {
        r.error(f.ty.span(), ctx, "`strip_suffix` applies to `string` and `option<string>` fields");
    }
    if let Some(other) = &f.none_if_equals {
        check_path(r, ctx, other);
        if *ty != TypeRef::Option(Box::new(TypeRef::String)) {
            r.error(other.span(), ctx, "`none_if_equals` applies to `option<string>` fields");
        }
    }
    let decimal_string = match &f.encoding {
        Some(encoding) if encoding.as_str() == DECIMAL_STRING => {
            if *ty != TypeRef::U64 {
                r.error(encoding.span(), ctx, "`encoding: decimal_string` applies to `u64` fields");
            }
            true
        }
        Some(encoding) => {
            r.error(
                encoding.span(),
                ctx,
                format!("unknown field encoding `{}`; expected decimal_string", encoding.as_str()),
            );
            false
        }
        None => false,
    };
    if !ty.named().is_empty() {
        r.error(f.ty.span(), ctx, "a stream item field holds string, u64, bool, json, list<…> or option<…> values");
    }
    Some(ItemField {
        from: from.to_string(),
        strip_suffix: f.strip_suffix.clone(),
        none_if_equals: f.none_if_equals.as_ref().map(|o| o.to_string()),
        decimal_string,
    })
}

fn check_path(r: &mut Reporter<'_>, ctx: &str, path: &Spanned<String>) {
    if path.split('.').any(str::is_empty) {
        r.error(path.span(), ctx, format!("`{}` is not a dotted path of keys", path.as_str()));
    }
}

/// Checks a union's names and values.
pub(super) fn lower_union(r: &mut Reporter<'_>, ctx: &str, u: &spec::UnionSpec) -> UnionModel {
    let discriminator = match &u.discriminator {
        Some(discriminator) => {
            check_path(r, ctx, discriminator);
            discriminator.to_string()
        }
        None => {
            r.error(
                u.other.span(),
                ctx,
                "a union needs a `discriminator`: the dotted path of the string that chooses the variant",
            );
            String::new()
        }
    };
    let mut variants: Vec<Variant> = Vec::new();
    for v in std::iter::once(&u.other).chain(u.variants.iter().map(|v| &v.name)) {
        if !is_pascal_case(v) {
            r.error(v.span(), ctx, format!("variant name `{}` must be PascalCase", v.as_str()));
        }
    }
    if u.variants.is_empty() {
        r.error(u.other.span(), ctx, "a union needs at least one variant");
    }
    for v in &u.variants {
        if variants.iter().any(|known| known.value == *v.value) {
            r.error(v.value.span(), ctx, format!("discriminator value `{}` is given twice", v.value.as_str()));
        }
        if variants.iter().any(|known| known.name == *v.name) || *v.name == *u.other {
            r.error(v.name.span(), ctx, format!("variant name `{}` is used twice", v.name.as_str()));
        }
        variants.push(Variant {
            value: v.value.to_string(),
            name: v.name.to_string(),
            ty: v.ty.to_string(),
            docs: v.docs.trim().to_owned(),
        });
    }
    let last = discriminator.rsplit('.').next().unwrap_or_default();
    let mut other_field = snake_key(last);
    if !is_snake_case(&other_field) || other_field == "item" {
        other_field = "value".to_owned();
    }
    let python_field = match &u.python_field {
        Some(name) if is_snake_case(name) => name.to_string(),
        Some(name) => {
            r.error(name.span(), ctx, format!("python_field `{}` must be snake_case", name.as_str()));
            other_field.clone()
        }
        None => other_field.clone(),
    };
    UnionModel { discriminator, other: u.other.to_string(), other_field, python_field, variants }
}

/// Checks a `stream` against its item union, gives each variant's struct the
/// union's common fields, and plans the item's wire tree.
pub(super) fn plan(
    r: &mut Reporter<'_>,
    ctx: &str,
    spec: &spec::StreamSpec,
    spec_types: &[spec::TypeSpec],
    types: &mut [TypeModel],
) -> Option<StreamModel> {
    let before = r.count();
    let Some(union_type) = types.iter().find(|t| t.name == *spec.item).cloned() else {
        // A type that failed to lower has been reported already.
        if !spec_types.iter().any(|t| t.name.as_str() == spec.item.as_str()) {
            r.error(
                spec.item.span(),
                ctx,
                format!("stream item `{}` is not a type of this operation", spec.item.as_str()),
            );
        }
        return None;
    };
    let Some(union) = &union_type.union else {
        r.error(spec.item.span(), ctx, format!("stream item `{}` must be a `union` type", spec.item.as_str()));
        return None;
    };
    let union_spec = spec_types.iter().find(|t| t.name == *spec.item).and_then(|t| t.union.as_ref())?;
    for field in union_type.fields.iter().filter(|f| f.item.is_none()) {
        r.error(spec.item.span(), ctx, format!("union `{}` field `{}` needs `from`", union_type.name, field.name));
    }

    let mut root = JsonObject::default();
    let mut leaf = |r: &mut Reporter<'_>, span: &marked_yaml::Span, path: &str, wire: TypeRef, who: &str| {
        let segments: Vec<&str> = path.split('.').collect();
        match insert_shared(&mut root, &segments, &wire) {
            Ok(at) => Some(at),
            Err(clash) => {
                r.error(
                    span,
                    ctx,
                    format!("variant field clash: {who} reads `{path}` as {}, {clash}", describe(&wire)),
                );
                None
            }
        }
    };
    let discriminator_span = union_spec.discriminator.as_ref().map_or(union_spec.other.span(), |d| d.span());
    let discriminator = leaf(r, discriminator_span, &union.discriminator, TypeRef::String, "the discriminator");
    let mut dedup = Vec::new();
    for path in &spec.dedup_on {
        check_path(r, ctx, path);
        dedup.extend(leaf(r, path.span(), path, TypeRef::String, "`dedup_on`"));
    }

    // How one field is read from the item; `taken` are the reads already
    // planned for the same struct (a key is read once).
    let mut unless_equal = Vec::new();
    let mut read = |r: &mut Reporter<'_>, field: &Field, span: &marked_yaml::Span, owner: &str, taken: &[ItemRead]| {
        let item = field.item.as_ref()?;
        let who = format!("`{owner}.{}`", field.name);
        if item.from == union.discriminator {
            r.error(
                span,
                ctx,
                format!("{who} reads the discriminator `{}`: the variant already says which it is", item.from),
            );
            return None;
        }
        if let Some(other) = taken.iter().find(|read| read.key == item.from) {
            r.error(span, ctx, format!("{who} reads `{}`, which `{}` already reads", item.from, other.field));
            return None;
        }
        let at = leaf(r, span, &item.from, wire_base(field, item), &who)?;
        if let Some(other) = &item.none_if_equals
            && let Some(other_at) = leaf(r, span, other, TypeRef::String, &who)
            && !unless_equal.iter().any(|(value, _)| *value == at)
        {
            unless_equal.push((at.clone(), other_at));
        }
        let missing = field.missing();
        Some(ItemRead {
            field: field.name.clone(),
            at,
            key: item.from.clone(),
            missing,
            strip_suffix: item.strip_suffix.clone(),
            decimal_string: item.decimal_string,
        })
    };
    let span_of = |ty: &str, field: &str, otherwise: &marked_yaml::Span| {
        let type_spec = spec_types.iter().find(|t| t.name.as_str() == ty);
        type_spec
            .and_then(|t| t.fields.iter().find(|f| f.name.as_str() == field))
            .map_or(*otherwise, |f| *f.name.span())
    };

    // The union's fields start every variant's struct and are read once
    // (one without `from` was reported above).
    let mut common: Vec<ItemRead> = Vec::new();
    for field in &union_type.fields {
        let span = span_of(&union_type.name, &field.name, spec.item.span());
        if let Some(read) = read(r, field, &span, &union_type.name, &common) {
            common.push(read);
        }
    }

    let mut variants = Vec::new();
    let mut used_types: Vec<&str> = Vec::new();
    for (variant, variant_spec) in union.variants.iter().zip(&union_spec.variants) {
        if used_types.contains(&variant.ty.as_str()) {
            r.error(
                variant_spec.ty.span(),
                ctx,
                format!("variant type `{}` is used by two variants; give each variant its own type", variant.ty),
            );
            continue;
        }
        used_types.push(&variant.ty);
        let Some(index) = types.iter().position(|t| t.name == variant.ty) else {
            r.error(
                variant_spec.ty.span(),
                ctx,
                format!("variant type `{}` is not a type of this operation", variant.ty),
            );
            continue;
        };
        if types[index].union.is_some() {
            r.error(variant_spec.ty.span(), ctx, format!("variant type `{}` is itself a union", variant.ty));
            continue;
        }
        // The union's fields come first in every variant's struct.
        let own = std::mem::take(&mut types[index].fields);
        let mut fields: Vec<Field> = union_type.fields.clone();
        let mut taken = common.clone();
        for field in own {
            if union_type.fields.iter().any(|f| f.name == field.name) {
                r.error(
                    variant_spec.ty.span(),
                    ctx,
                    format!(
                        "variant field clash: `{}` has a field `{}`, which every variant of `{}` already has",
                        variant.ty, field.name, union_type.name
                    ),
                );
                continue;
            }
            let span = span_of(&variant.ty, &field.name, variant_spec.ty.span());
            if field.item.is_none() {
                r.error(
                    &span,
                    ctx,
                    format!("field `{}.{}` needs `from` (its path in the item)", variant.ty, field.name),
                );
            } else if let Some(read) = read(r, &field, &span, &variant.ty, &taken) {
                taken.push(read);
            }
            fields.push(field);
        }
        types[index].fields = fields;
        variants.push(VariantRead {
            value: variant.value.clone(),
            name: variant.name.clone(),
            ty: variant.ty.clone(),
            fields: taken.split_off(common.len()),
        });
    }
    (r.count() == before).then(|| StreamModel {
        item: union_type.name.clone(),
        root,
        discriminator: discriminator.unwrap_or_default(),
        discriminator_key: union.discriminator.clone(),
        dedup,
        unless_equal,
        common,
        variants,
        other: union.other.clone(),
        other_field: union.other_field.clone(),
    })
}

/// The value's type on the wire, before it is made optional.
fn wire_base(field: &Field, item: &ItemField) -> TypeRef {
    if item.decimal_string {
        return TypeRef::String;
    }
    match &field.ty {
        TypeRef::Option(inner) => (**inner).clone(),
        other => other.clone(),
    }
}

fn describe(ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "a string".to_owned(),
        TypeRef::U64 => "a u64".to_owned(),
        TypeRef::Bool => "a bool".to_owned(),
        TypeRef::Json => "any JSON".to_owned(),
        TypeRef::List(inner) => format!("a list of {}", describe(inner)),
        other => format!("{other:?}"),
    }
}

/// Adds an optional leaf of type `wire` at `segments`, or finds the same one
/// already there; the positions leading to it, or what it clashes with.
fn insert_shared(object: &mut JsonObject, segments: &[&str], wire: &TypeRef) -> Result<Vec<usize>, String> {
    let Some((first, rest)) = segments.split_first() else { return Err("an empty path".to_owned()) };
    let leaf = TypeRef::Option(Box::new(wire.clone()));
    let position = match object.keys.iter().position(|(key, _)| key == first) {
        Some(position) => position,
        None => {
            let value = if rest.is_empty() {
                JsonValue::Leaf { ty: leaf.clone(), default: true }
            } else {
                JsonValue::Object(JsonObject::default())
            };
            object.keys.push(((*first).to_owned(), value));
            object.keys.len() - 1
        }
    };
    match (&mut object.keys[position].1, rest.is_empty()) {
        (JsonValue::Leaf { ty, .. }, true) if *ty == leaf => Ok(vec![position]),
        (JsonValue::Leaf { ty: TypeRef::Option(other), .. }, true) => {
            Err(format!("another reads it as {}", describe(other)))
        }
        (JsonValue::Leaf { .. }, _) => Err(format!("another reads `{first}` whole")),
        (JsonValue::Object(_), true) => Err("another reads keys inside it".to_owned()),
        (JsonValue::Object(inner), false) => {
            let mut at = vec![position];
            at.extend(insert_shared(inner, rest, wire)?);
            Ok(at)
        }
    }
}
