//! The builder's `decode`: one body struct per wire shape (named from the
//! spec, fields named from the wire), and the mapping of each shape onto the
//! one result type.

use crate::ir::naming::{KEYWORDS, snake_key};
use crate::ir::{ERROR_KEYS, JsonObject, JsonValue, Missing, Operation, Read, Shape, Source, TypeRef};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::doc;
use super::types::{convert, keyed_value, wire_ref};

pub(super) fn decode_fn(op: &Operation) -> TokenStream {
    let Some(result) = &op.result else { return quote!() };
    let ty = format_ident!("{}", result.ty);
    let mut branches = Vec::new();
    let mut unconditional = quote!();
    let mut envelopes = Vec::new();
    for shape in &result.shapes {
        let RenderedEnvelope { definitions, root, fields } = render_envelope(op, shape);
        envelopes.push(definitions);
        let fields = fields.into_iter().map(|(name, value)| quote!(#name: #value));
        let parse = quote!(let envelope: #root = rt::body::parse_envelope(http_status, body)?;);
        let value = quote!(#ty { #(#fields,)* });
        match &shape.when {
            Some(when) => {
                let one = format_ident!("{}", when.exactly_one);
                let empties = when.empty.iter().map(|n| {
                    let ident = format_ident!("{}", n);
                    quote!(&& self.#ident.is_empty())
                });
                // Lists hold distinct names (the setters drop repeats), so
                // the count is the count sent.
                branches.push(quote! {
                    if self.#one.len() == 1 #(#empties)* {
                        #parse
                        return Ok(#value);
                    }
                });
            }
            None => unconditional = quote!(#parse Ok(#value)),
        }
    }
    let docs = doc("Maps whichever wire shape this request gets back onto the one result type.");
    quote! {
        #docs
        fn decode(&self, http_status: u16, body: &[u8]) -> Result<#ty, rt::Error> {
            #(#envelopes)*
            #(#branches)*
            #unconditional
        }
    }
}

/// `{key: value}` for the request's only name in `param`, the value read by
/// `read`; an entry type with a `map_key` field gets the key there too.
pub(super) fn single_entry(op: &Operation, ty: &TypeRef, param: &str, read: TokenStream) -> TokenStream {
    // `ir::lower` accepts `single_entry_of` on map fields only.
    let inner = match ty {
        TypeRef::Map(inner) => inner.as_ref(),
        other => other,
    };
    let param = format_ident!("{}", param);
    match keyed_value(op, inner, read.clone()) {
        Some(value) => quote!({
            let key = self.#param[0].clone();
            #value
            std::collections::BTreeMap::from([(key, value)])
        }),
        None => {
            let value = convert(op, read, inner);
            quote!(std::collections::BTreeMap::from([(self.#param[0].clone(), #value)]))
        }
    }
}

/// The envelope types of one shape (nested objects first, then the root),
/// its root type, and each result field's expression over `envelope`.
pub(super) struct RenderedEnvelope {
    pub(super) definitions: TokenStream,
    pub(super) root: proc_macro2::Ident,
    pub(super) fields: Vec<(proc_macro2::Ident, TokenStream)>,
}

/// Renders the envelope the IR planned for a shape (`<ShapeName>Body` and its
/// nested objects): one serde pass from body bytes to wire types, error
/// fields included.
pub(super) fn render_envelope(op: &Operation, shape: &Shape) -> RenderedEnvelope {
    let root = format_ident!("{}Body", pascal(&shape.name));
    let mut definitions = Vec::new();
    emit_object(&shape.envelope.root, &root, true, &mut definitions);
    let fields = shape
        .fields
        .iter()
        .zip(&shape.envelope.reads)
        .map(|(f, read)| {
            let name = format_ident!("{}", f.field);
            let read = match read {
                Read::Const => quote!(),
                Read::At(path) => field_access(quote!(envelope), &shape.envelope.root, path),
                // The whole-body type's wire value, rebuilt from its fields at the root.
                Read::WholeBody { ty, fields } => {
                    let wire = format_ident!("{}Wire", ty);
                    let keys = key_idents(&shape.envelope.root);
                    let fields = fields.iter().map(|(name, position)| {
                        let name = format_ident!("{}", name);
                        let at = &keys[*position];
                        quote!(#name: envelope.#at)
                    });
                    quote!(#wire { #(#fields,)* })
                }
            };
            let value = match &f.source {
                Source::ConstU64(v) => {
                    let v = Literal::u64_unsuffixed(*v);
                    quote!(#v)
                }
                Source::Body { .. } => convert(op, read, &f.ty),
                Source::SingleEntry { param, .. } => single_entry(op, &f.ty, param, read),
            };
            (name, value)
        })
        .collect();
    RenderedEnvelope { definitions: quote!(#(#definitions)*), root, fields }
}

/// `base.payload.channels`: the wire's own names along key positions `path`.
pub(super) fn field_access(base: TokenStream, root: &JsonObject, path: &[usize]) -> TokenStream {
    let names = field_path(root, path).into_iter().map(|name| format_ident!("{}", name));
    quote!(#base #(.#names)*)
}

/// The Rust field name of each key of `object`, in key order: the key itself
/// in snake_case (`channel-group` → `channel_group`), numbered only where two
/// keys, a keyword or the error fields would clash.
fn field_names(object: &JsonObject) -> Vec<String> {
    let mut taken: Vec<String> = ERROR_KEYS.iter().map(|k| (*k).to_owned()).collect();
    for (position, (key, _)) in object.keys.iter().enumerate() {
        let mut name = snake_key(key);
        if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
            name.insert_str(0, "key_");
        }
        if name == "_" || KEYWORDS.contains(&name.as_str()) || taken.contains(&name) {
            name = format!("{name}_{position}");
        }
        taken.push(name);
    }
    taken.split_off(ERROR_KEYS.len())
}

/// The Rust field names (see [`field_names`]) along key positions `path`,
/// from `object` down: `["payload", "channels"]`.
fn field_path(object: &JsonObject, path: &[usize]) -> Vec<String> {
    let mut object = object;
    let mut names = Vec::new();
    for &position in path {
        names.push(field_names(object)[position].clone());
        if let JsonValue::Object(inner) = &object.keys[position].1 {
            object = inner;
        }
    }
    names
}

fn key_idents(object: &JsonObject) -> Vec<proc_macro2::Ident> {
    field_names(object).iter().map(|name| format_ident!("{}", name)).collect()
}

pub(super) fn emit_object(object: &JsonObject, name: &proc_macro2::Ident, is_root: bool, out: &mut Vec<TokenStream>) {
    let mut fields = Vec::new();
    for ((key, value), field) in object.keys.iter().zip(field_names(object)) {
        let ident = format_ident!("{}", field);
        let (ty, default) = match value {
            JsonValue::Leaf { ty, default } => (wire_ref(ty), Missing::of(ty, *default) == Missing::Default),
            JsonValue::Object(inner) => {
                let inner_name = format_ident!("{}{}", name, pascal(key));
                emit_object(inner, &inner_name, false, out);
                (quote!(#inner_name), inner.all_default())
            }
        };
        // The key is the field's name unless it is not a Rust identifier.
        let mut attrs = Vec::new();
        if field != *key {
            attrs.push(quote!(rename = #key));
        }
        if default {
            attrs.push(quote!(default));
        }
        let attrs = if attrs.is_empty() { quote!() } else { quote!(#[serde(#(#attrs),*)]) };
        fields.push(quote!(#attrs #ident: #ty));
    }
    let derive_default = if !is_root && object.all_default() { quote!(Default,) } else { quote!() };
    if is_root {
        let docs = doc("The body as this shape expects it, with the error fields every body may carry.");
        out.push(quote! {
            #docs
            #[derive(serde::Deserialize)]
            struct #name {
                #[serde(default)]
                status: rt::body::WireStatus,
                #[serde(default)]
                error: rt::body::WireFlag,
                #(#fields,)*
            }

            rt::envelope_error_fields!(#name);
        });
    } else {
        out.push(quote! {
            #[derive(#derive_default serde::Deserialize)]
            struct #name {
                #(#fields,)*
            }
        });
    }
}

pub(super) fn pascal(key: &str) -> String {
    key.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}
