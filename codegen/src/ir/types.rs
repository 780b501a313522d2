//! Lowers `types`: the result types' fields, their type expressions and
//! wire attributes, and the names they refer to.

use super::model::{Field, TypeModel, TypeRef};
use super::naming::{check_name, is_pascal_case, is_snake_case};
use super::stream;
use crate::diagnostics::Reporter;
use crate::spec;

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
}

/// The operation's types that lowered, each field's named types checked to
/// be among them.
pub(super) fn lower_types(r: &mut Reporter<'_>, ctx: &str, specs: &[spec::TypeSpec]) -> Vec<TypeModel> {
    let mut types = Vec::new();
    for ty in specs {
        if let Some(t) = lower_type(r, ctx, ty) {
            types.push(t);
        }
    }
    let type_names: Vec<String> = specs.iter().map(|t| t.name.to_string()).collect();
    for (t, ts) in types.iter().zip(specs) {
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
    types
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
            python_name: python_name(r, &tctx, f),
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
    // Reported, but the type stays defined (no "not defined" error follows).
    // (Where it clashes with another name is checked across the spec.)
    for alias in ty.python_aliases.iter().filter(|alias| !is_pascal_case(alias)) {
        r.error(alias.span(), &tctx, format!("python alias `{}` must be PascalCase", alias.as_str()));
    }
    let before = r.count();
    let union = ty.union.as_ref().map(|u| stream::lower_union(r, &tctx, u));
    if r.count() > before {
        return None;
    }
    Some(TypeModel {
        name: ty.name.to_string(),
        docs: ty.docs.trim().to_owned(),
        python: ty.python.clone(),
        python_aliases: ty.python_aliases.iter().map(|a| a.to_string()).collect(),
        from_string: ty.from_string.as_ref().map(|f| f.to_string()),
        union,
        fields,
    })
}

/// A field's Python attribute name: the spec's `python`, checked, else its name.
fn python_name(r: &mut Reporter<'_>, ctx: &str, f: &spec::FieldSpec) -> String {
    match &f.python {
        Some(name) if is_snake_case(name) => name.to_string(),
        Some(name) => {
            r.error(name.span(), ctx, format!("python name `{}` must be snake_case", name.as_str()));
            f.name.to_string()
        }
        None => f.name.to_string(),
    }
}
