//! Lowers `pagination`: the page parameters and the result fields paging
//! reads, checked against the operation's parameters and result type.

use marked_yaml::Spanned;

use super::model::{Location, PageParam, Pagination, Param, ParamKind, ResultModel, TypeModel, TypeRef};
use crate::diagnostics::Reporter;
use crate::spec;

/// Checks `pagination` against the operation's parameters and result type.
pub(super) fn lower_pagination(
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
                Some(PageParam { name: name.to_string(), optional: !default.is_literal() })
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
