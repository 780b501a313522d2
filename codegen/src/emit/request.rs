//! The builder's `build_request`: each parameter checked and bound to a
//! local, the path picked and filled, the query encoded.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::doc;
use crate::ir::{DefaultValue, Location, NameKind, Operation, Param, ParamKind, PathPart, Rule};

/// The runtime's rules for a kind of name.
pub(super) fn name_kind(kind: NameKind) -> TokenStream {
    match kind {
        NameKind::Channel => quote!(rt::validate::NameKind::Channel),
        NameKind::ListedChannel => quote!(rt::validate::NameKind::ListedChannel),
        NameKind::ChannelGroup => quote!(rt::validate::NameKind::ChannelGroup),
        NameKind::Uuid => quote!(rt::validate::NameKind::Uuid),
    }
}

/// Binds each parameter to a local with its final value, validating it.
pub(super) fn bind_param(p: &Param) -> TokenStream {
    let name = format_ident!("{}", p.name);
    let label = &p.name;
    match (&p.kind, &p.default) {
        (ParamKind::Names { kind }, _) => {
            let kind = name_kind(*kind);
            // The setter already dropped repeated names.
            quote! {
                let #name = &self.#name;
                rt::validate::names(#label, #name.as_slice(), #kind)?;
            }
        }
        (ParamKind::Name { kind }, default) => {
            let kind = name_kind(*kind);
            match default {
                DefaultValue::FromConfig(config) => {
                    let getter = format_ident!("{}_value", config);
                    quote! {
                        let #name = self.#name.as_deref().unwrap_or(self.client.config().#getter());
                        rt::validate::name(#label, #name, #kind)?;
                    }
                }
                DefaultValue::Required => quote! {
                    let #name = rt::validate::required(#label, self.#name.as_deref())?;
                    rt::validate::name(#label, #name, #kind)?;
                },
                _ => quote! {
                    let #name = self.#name.as_deref();
                    if let Some(value) = #name {
                        rt::validate::name(#label, value, #kind)?;
                    }
                },
            }
        }
        (ParamKind::Flag { .. }, _) => quote!(let #name = self.#name;),
        (ParamKind::U32 { min, max }, default) => {
            let check = |value: TokenStream| match (min, max) {
                (None, None) => quote!(),
                (Some(min), None) => {
                    let lo = Literal::u64_unsuffixed(u64::from(*min));
                    quote!(rt::validate::at_least(#label, u64::from(#value), #lo)?;)
                }
                _ => {
                    let lo = Literal::u64_unsuffixed(u64::from(min.unwrap_or(0)));
                    let hi = Literal::u64_unsuffixed(u64::from(max.unwrap_or(u32::MAX)));
                    quote!(rt::validate::range(#label, u64::from(#value), #lo, #hi)?;)
                }
            };
            if matches!(default, DefaultValue::U32(_)) {
                let c = check(quote!(#name));
                quote! {
                    let #name = self.#name;
                    #c
                }
            } else {
                let c = check(quote!(value));
                let c = if c.is_empty() { c } else { quote!(if let Some(value) = #name { #c }) };
                quote! {
                    let #name = self.#name;
                    #c
                }
            }
        }
        (ParamKind::JsonObject { of_objects }, default) => {
            let check = if *of_objects { quote!(json_object_of_objects) } else { quote!(json_object) };
            if *default == DefaultValue::Required {
                quote! {
                    let #name = rt::validate::serialized(#label, rt::validate::required(#label, self.#name.as_ref())?)?;
                    rt::validate::#check(#label, #name)?;
                }
            } else {
                quote! {
                    let #name = match &self.#name {
                        Some(outcome) => Some(rt::validate::serialized(#label, outcome)?),
                        None => None,
                    };
                    if let Some(value) = #name {
                        rt::validate::#check(#label, value)?;
                    }
                }
            }
        }
    }
}

/// The statements of a block that binds each placeholder, encoded, to a local
/// of its own name, so the template reads as written in the spec:
/// `format!("/v2/presence/sub-key/{subscribe_key}/channel/{channels}")`.
pub(super) fn path_expr(op: &Operation, parts: &[PathPart]) -> TokenStream {
    let mut format = String::new();
    let mut binds = Vec::new();
    for part in parts {
        match part {
            PathPart::Literal(text) => format.push_str(&text.replace('{', "{{").replace('}', "}}")),
            PathPart::Config(name) => {
                format.push_str(&format!("{{{name}}}"));
                let local = format_ident!("{}", name);
                let getter = format_ident!("{}_value", name);
                binds.push(quote!(let #local = rt::encoding::component(self.client.config().#getter());));
            }
            PathPart::Param(name) => {
                format.push_str(&format!("{{{name}}}"));
                let local = format_ident!("{}", name);
                let param = op.params.iter().find(|p| p.name == *name);
                binds.push(match param.map(|p| &p.kind) {
                    Some(ParamKind::Names { .. }) => quote!(let #local = rt::encoding::path_names(#local.as_slice());),
                    _ => quote!(let #local = rt::encoding::component(#local);),
                });
            }
        }
    }
    quote! {
        #(#binds)*
        format!(#format)
    }
}

pub(super) fn build_request(op: &Operation) -> TokenStream {
    let binds = op.params.iter().map(bind_param);
    let rules = op.rules.iter().map(|rule| match rule {
        Rule::RequiredOneOf(names) => {
            let pairs = names.iter().map(|n| {
                let ident = format_ident!("{}", n);
                quote!((#n, !#ident.is_empty()))
            });
            quote!(rt::validate::required_one_of(&[#(#pairs),*])?;)
        }
    });
    // Path: the first template whose `when_empty` lists are all empty.
    let mut path = quote!();
    for (i, template) in op.paths.iter().enumerate().rev() {
        let expr = path_expr(op, &template.parts);
        if i + 1 == op.paths.len() {
            path = quote!({ #expr });
        } else {
            let conds = template.when_empty.iter().map(|n| {
                let ident = format_ident!("{}", n);
                quote!(#ident.is_empty())
            });
            path = quote!(if #(#conds)&&* { #expr } else { #path });
        }
    }
    let queries = op.params.iter().filter_map(|p| {
        let Location::Query(wire) = &p.location else { return None };
        let name = format_ident!("{}", p.name);
        Some(match (&p.kind, &p.default) {
            (ParamKind::Names { .. }, _) => quote! {
                if !#name.is_empty() {
                    request.push_encoded(#wire, rt::encoding::query_names(#name.as_slice()));
                }
            },
            (ParamKind::Name { .. }, DefaultValue::Unset) => quote! {
                if let Some(value) = #name {
                    request.push_encoded(#wire, rt::encoding::component(value));
                }
            },
            (ParamKind::Name { .. }, _) => quote!(request.push_encoded(#wire, rt::encoding::component(#name));),
            (ParamKind::Flag { send_when: true }, _) => quote! {
                if #name {
                    request.push_encoded(#wire, "1".to_owned());
                }
            },
            (ParamKind::Flag { send_when: false }, _) => quote! {
                if !#name {
                    request.push_encoded(#wire, "1".to_owned());
                }
            },
            (ParamKind::U32 { .. }, DefaultValue::U32(_)) => quote!(request.push_encoded(#wire, #name.to_string());),
            (ParamKind::U32 { .. }, _) => quote! {
                if let Some(value) = #name {
                    request.push_encoded(#wire, value.to_string());
                }
            },
            (ParamKind::JsonObject { .. }, DefaultValue::Required) => {
                quote!(request.push_encoded(#wire, rt::encoding::component(&#name.to_string()));)
            }
            (ParamKind::JsonObject { .. }, _) => quote! {
                if let Some(value) = #name {
                    request.push_encoded(#wire, rt::encoding::component(&value.to_string()));
                }
            },
        })
    });
    let op_name = &op.name;
    // The spec's `idempotent: true` lets the client's retry policy resend it.
    let idempotent = if op.idempotent {
        quote! {
            request.set_idempotent(true);
        }
    } else {
        quote!()
    };
    let docs = doc(
        "The request exactly as it will be sent (before the client adds `uuid`, `pnsdk`, `auth` and the signature), \
         after checking every parameter. No I/O happens here; useful for logging and tests.",
    );
    quote! {
        #docs
        pub fn build_request(&self) -> Result<rt::request::Request, rt::Error> {
            #(#binds)*
            #(#rules)*
            let path = #path;
            let mut request = rt::request::Request::new(#op_name, path);
            #idempotent
            #(#queries)*
            Ok(request)
        }
    }
}
