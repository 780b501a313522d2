//! Lowers `result`: each wire shape's condition and field sources, checked
//! against the result type, and the envelope its decoder reads.

use marked_yaml::Span;

use super::envelope;
use super::model::{FieldSource, ResultModel, Shape, Source, TypeModel, TypeRef, When};
use super::naming::{check_name, is_snake_case};
use super::params::Params;
use crate::diagnostics::Reporter;
use crate::spec;

/// The result mapping, or `None` when its type is unknown.
pub(super) fn lower_result(
    r: &mut Reporter<'_>,
    ctx: &str,
    res: &spec::ResultSpec,
    types: &[TypeModel],
    params: &Params,
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
                let exactly_one = params.list_param(r, ctx, &w.exactly_one, "when.exactly_one");
                let empty = w.empty.iter().filter_map(|n| params.list_param(r, ctx, n, "when.empty")).collect();
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
                    let Some(param) = params.list_param(r, ctx, param, "single_entry_of") else { continue };
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
