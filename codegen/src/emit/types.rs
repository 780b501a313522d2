//! The result types users see, and the wire forms they are decoded from.

use crate::ir::{Missing, Operation, Source, TypeModel, TypeRef};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::doc;

/// Rust type of a result field.
pub(super) fn rust_ref(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(String),
        TypeRef::U64 => quote!(u64),
        TypeRef::Bool => quote!(bool),
        TypeRef::Json => quote!(serde_json::Value),
        TypeRef::List(inner) => {
            let inner = rust_ref(inner);
            quote!(Vec<#inner>)
        }
        TypeRef::Map(inner) => {
            let inner = rust_ref(inner);
            quote!(std::collections::BTreeMap<String, #inner>)
        }
        TypeRef::Option(inner) => {
            let inner = rust_ref(inner);
            quote!(Option<#inner>)
        }
        TypeRef::Named(name) => {
            let ident = format_ident!("{}", name);
            quote!(#ident)
        }
    }
}

/// How a getter hands out a field that may be absent (the getter's item is
/// of an unknown kind): its return type, and the value read from `field`.
/// Strings come borrowed, numbers and flags copied, an optional field
/// flattened (absent either way), anything else by reference.
pub(super) fn optional_getter(ty: &TypeRef, field: TokenStream) -> (TokenStream, TokenStream) {
    match ty {
        TypeRef::String => (quote!(Option<&str>), quote!(Some(#field.as_str()))),
        TypeRef::U64 | TypeRef::Bool => (rust_ref(&TypeRef::Option(Box::new(ty.clone()))), quote!(Some(#field))),
        TypeRef::Option(inner) => match **inner {
            TypeRef::String => (quote!(Option<&str>), quote!(#field.as_deref())),
            TypeRef::U64 | TypeRef::Bool => (rust_ref(ty), quote!(#field)),
            _ => {
                let inner = rust_ref(inner);
                (quote!(Option<&#inner>), quote!(#field.as_ref()))
            }
        },
        TypeRef::Json | TypeRef::List(_) | TypeRef::Map(_) | TypeRef::Named(_) => {
            let ty = rust_ref(ty);
            (quote!(Option<&#ty>), quote!(Some(&#field)))
        }
    }
}

/// Type the wire value deserializes into.
pub(super) fn wire_ref(ty: &TypeRef) -> TokenStream {
    match ty {
        // Lists of result types (converted item by item anyway) reserve room
        // up front; see `rt::body::HintedVec`.
        TypeRef::List(inner) if needs_conversion(inner) => {
            let inner = wire_ref(inner);
            quote!(rt::body::HintedVec<#inner>)
        }
        TypeRef::List(inner) => {
            let inner = wire_ref(inner);
            quote!(Vec<#inner>)
        }
        TypeRef::Map(inner) => {
            let inner = wire_ref(inner);
            quote!(std::collections::BTreeMap<String, #inner>)
        }
        TypeRef::Option(inner) => {
            let inner = wire_ref(inner);
            quote!(Option<#inner>)
        }
        TypeRef::Named(name) => {
            let ident = format_ident!("{}Wire", name);
            quote!(#ident)
        }
        other => rust_ref(other),
    }
}

pub(super) fn needs_conversion(ty: &TypeRef) -> bool {
    !ty.named().is_empty()
}

/// Converts a wire value `expr` of type `ty` into the result type.
pub(super) fn convert(op: &Operation, expr: TokenStream, ty: &TypeRef) -> TokenStream {
    if !needs_conversion(ty) {
        return expr;
    }
    match ty {
        TypeRef::Named(name) => {
            let ident = format_ident!("{}", name);
            quote!(#ident::from(#expr))
        }
        TypeRef::List(inner) => {
            let f = mapper(op, inner);
            quote!(#expr.into_iter().map(#f).collect())
        }
        TypeRef::Option(inner) => {
            let f = mapper(op, inner);
            quote!(#expr.map(#f))
        }
        TypeRef::Map(inner) => match keyed_value(op, inner, quote!(item)) {
            Some(value) => quote!(#expr.into_iter().map(|(key, item)| { #value (key, value) }).collect()),
            None => {
                let value = convert(op, quote!(item), inner);
                quote!(#expr.into_iter().map(|(key, item)| (key, #value)).collect())
            }
        },
        _ => expr,
    }
}

/// A function converting one element: `Type::from` or a closure.
pub(super) fn mapper(op: &Operation, ty: &TypeRef) -> TokenStream {
    if let TypeRef::Named(name) = ty {
        let ident = format_ident!("{}", name);
        return quote!(#ident::from);
    }
    let body = convert(op, quote!(item), ty);
    quote!(|item| #body)
}

/// For a map value of a type with a `map_key` field: the statements binding
/// `value`, converted from `expr`, with that field filled from `key` (a local
/// in scope). `None` when the type has no such field.
pub(super) fn keyed_value(op: &Operation, ty: &TypeRef, expr: TokenStream) -> Option<TokenStream> {
    let TypeRef::Named(name) = ty else { return None };
    let key_field = op.types.iter().find(|t| t.name == *name).and_then(TypeModel::map_key_field)?;
    let ident = format_ident!("{}", name);
    let field = format_ident!("{}", key_field.name);
    Some(quote! {
        let mut value = #ident::from(#expr);
        value.#field = key.clone();
    })
}

/// Types read from the wire (directly or nested), which need a wire form.
pub(super) fn decoded_types(op: &Operation) -> Vec<String> {
    let mut pending: Vec<String> = Vec::new();
    for shape in op.result.iter().flat_map(|r| &r.shapes) {
        for field in &shape.fields {
            if !matches!(field.source, Source::ConstU64(_)) {
                pending.extend(field.ty.named().into_iter().map(str::to_owned));
            }
        }
    }
    let mut found: Vec<String> = Vec::new();
    while let Some(name) = pending.pop() {
        if found.contains(&name) {
            continue;
        }
        if let Some(t) = op.types.iter().find(|t| t.name == name) {
            for f in &t.fields {
                pending.extend(f.ty.named().into_iter().map(str::to_owned));
            }
        }
        found.push(name);
    }
    found
}

/// A result type's docs, with its Python SDK equivalent.
pub(super) fn type_docs(t: &TypeModel) -> TokenStream {
    let mut text = t.docs.clone();
    if let Some(python) = &t.python {
        text.push_str(&format!("\n\nPython SDK equivalent: `{python}`."));
    }
    doc(&text)
}

pub(super) fn result_type(op: &Operation, t: &TypeModel, decoded: bool) -> TokenStream {
    let docs = type_docs(t);
    let name = format_ident!("{}", t.name);
    let fields = t.fields.iter().map(|f| {
        let docs = doc(&f.docs);
        let ident = format_ident!("{}", f.name);
        let ty = rust_ref(&f.ty);
        quote!(#docs pub #ident: #ty)
    });
    let from_impl = if decoded { from_wire(op, t) } else { quote!() };
    quote! {
        #docs
        #[derive(Debug, Clone, Default, PartialEq)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields,)*
        }

        #from_impl
    }
}

pub(super) fn wire_fields(t: &TypeModel) -> Vec<TokenStream> {
    t.fields
        .iter()
        .filter(|f| !f.map_key)
        .map(|f| {
            let ident = format_ident!("{}", f.name);
            let ty = wire_ref(&f.ty);
            let mut attrs = Vec::new();
            if f.wire_name != f.name {
                let wire = &f.wire_name;
                attrs.push(quote!(rename = #wire));
            }
            if f.missing() == Missing::Default {
                attrs.push(quote!(default));
            }
            let attr = if attrs.is_empty() { quote!() } else { quote!(#[serde(#(#attrs),*)]) };
            quote!(#attr #ident: #ty)
        })
        .collect()
}

pub(super) fn wire_type(t: &TypeModel) -> TokenStream {
    let wire = format_ident!("{}Wire", t.name);
    let fields = wire_fields(t);
    let docs = doc(&format!("Wire form of [`{}`], as the server sends it.", t.name));
    match &t.from_string {
        Some(bare_field) => {
            let name = format_ident!("{}", t.name);
            let object = format_ident!("{}WireObject", t.name);
            let object_docs = doc(&format!("Object form of [`{}`] on the wire.", t.name));
            let expecting = format!("a `{bare_field}` string or a `{}` object", t.name);
            let bare_fields = t.fields.iter().map(|f| {
                let ident = format_ident!("{}", f.name);
                if f.name == *bare_field {
                    quote!(#ident: value.to_owned())
                } else {
                    quote!(#ident: Default::default())
                }
            });
            // A hand-rolled visitor instead of `#[serde(untagged)]` (which buffers
            // every element before trying each form); it builds the result type
            // directly, so converting a `Vec` of these is free.
            quote! {
                #docs
                struct #wire(#name);

                #object_docs
                #[derive(serde::Deserialize)]
                struct #object {
                    #(#fields,)*
                }

                impl<'de> serde::Deserialize<'de> for #wire {
                    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                        struct WireVisitor;

                        impl<'de> serde::de::Visitor<'de> for WireVisitor {
                            type Value = #wire;

                            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                                formatter.write_str(#expecting)
                            }

                            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<#wire, E> {
                                Ok(#wire(#name { #(#bare_fields,)* }))
                            }

                            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<#wire, A::Error> {
                                let object: #object = serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                                Ok(#wire(#name::from(object)))
                            }
                        }

                        deserializer.deserialize_any(WireVisitor)
                    }
                }
            }
        }
        None => quote! {
            #docs
            #[derive(serde::Deserialize)]
            struct #wire {
                #(#fields,)*
            }
        },
    }
}

pub(super) fn from_wire(op: &Operation, t: &TypeModel) -> TokenStream {
    let name = format_ident!("{}", t.name);
    let wire = format_ident!("{}Wire", t.name);
    let assign = |source: &dyn Fn(&str) -> TokenStream| -> Vec<TokenStream> {
        t.fields
            .iter()
            .map(|f| {
                let ident = format_ident!("{}", f.name);
                if f.map_key {
                    // Filled in by the caller from the enclosing map's key.
                    return quote!(#ident: String::new());
                }
                let value = convert(op, source(&f.name), &f.ty);
                quote!(#ident: #value)
            })
            .collect()
    };
    if t.from_string.is_some() {
        let object = format_ident!("{}WireObject", t.name);
        let fields = assign(&|n| {
            let ident = format_ident!("{}", n);
            quote!(object.#ident)
        });
        return quote! {
            impl From<#object> for #name {
                fn from(object: #object) -> Self {
                    #name { #(#fields,)* }
                }
            }

            impl From<#wire> for #name {
                fn from(wire: #wire) -> Self {
                    wire.0
                }
            }
        };
    }
    let body = {
        let fields = assign(&|n| {
            let ident = format_ident!("{}", n);
            quote!(wire.#ident)
        });
        quote!(#name { #(#fields,)* })
    };
    quote! {
        impl From<#wire> for #name {
            fn from(wire: #wire) -> Self {
                #body
            }
        }
    }
}
