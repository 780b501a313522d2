//! The builder's `build_request`: each parameter checked and encoded by the
//! runtime function of its kind (`rt::param`) and bound to a local, the path
//! picked and filled, the query pushed.

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};

use super::doc;
use crate::ir::{DefaultValue, Location, NameKind, Operation, Param, ParamKind, PathPart, Rule};

/// The runtime's rules for a kind of name (`rt::param::NameKind`).
pub(super) fn name_kind(kind: NameKind) -> TokenStream {
    match kind {
        NameKind::Channel => quote!(rt::param::NameKind::Channel),
        NameKind::ListedChannel => quote!(rt::param::NameKind::ListedChannel),
        NameKind::ChannelGroup => quote!(rt::param::NameKind::ChannelGroup),
        NameKind::Uuid => quote!(rt::param::NameKind::Uuid),
    }
}

/// Binds each parameter to a local holding its checked, encoded value
/// (`None` when it is not sent): one runtime function per parameter kind.
pub(super) fn bind_param(p: &Param) -> TokenStream {
    let name = format_ident!("{}", p.name);
    let label = &p.name;
    let encoded = match &p.kind {
        ParamKind::Names { kind, suffix, refuse_presence_names } => {
            let kind = name_kind(*kind);
            let presence = if *refuse_presence_names {
                quote!(rt::param::PresenceNames::Refused)
            } else {
                quote!(rt::param::PresenceNames::Allowed)
            };
            quote!(rt::param::names(#label, &self.#name, #kind, #presence, #suffix)?)
        }
        ParamKind::Name { kind } => {
            let kind = name_kind(*kind);
            let value = match &p.default {
                DefaultValue::FromConfig(config) => {
                    let getter = format_ident!("{}_value", config);
                    quote!(self.#name.as_deref().or(Some(self.client.config().#getter())))
                }
                _ => quote!(self.#name.as_deref()),
            };
            quote!(rt::param::name(#label, #value, #kind)?)
        }
        ParamKind::Flag { send_when } => quote!(rt::param::flag(self.#name, #send_when)),
        // Any `u32` is allowed: nothing to check, only the decimal to send.
        ParamKind::U32 { min: None | Some(0), max: None } => match p.default {
            DefaultValue::U32(_) => quote!(Some(self.#name.to_string())),
            _ => quote!(self.#name.map(|#name| #name.to_string())),
        },
        ParamKind::U32 { min, max } => {
            let min = Literal::u32_unsuffixed(min.unwrap_or(0));
            let max = match max {
                Some(max) => Literal::u32_unsuffixed(*max).into_token_stream(),
                None => quote!(u32::MAX),
            };
            quote!(rt::param::integer(#label, self.#name, #min, #max)?)
        }
        ParamKind::JsonObject { of_objects } => {
            quote!(rt::param::json_object(#label, self.#name.as_ref(), #of_objects)?)
        }
    };
    if p.default == DefaultValue::Required {
        quote!(let #name = rt::param::require(#label, #encoded)?;)
    } else {
        quote!(let #name = #encoded;)
    }
}

/// A path template as statements binding each placeholder, encoded, to a
/// local of its own name, so the template reads as written in the spec
/// (`format!("/v2/presence/sub-key/{subscribe_key}/channel/{channels}")`),
/// and the request to that path, which records the bytes each placeholder's
/// value takes (to name the one that makes a URL too long).
pub(super) fn path_request(op_name: &str, parts: &[PathPart]) -> (Vec<TokenStream>, TokenStream) {
    let mut format = String::new();
    let mut binds = Vec::new();
    let mut values = Vec::new();
    for part in parts {
        let (name, bind) = match part {
            PathPart::Literal(text) => {
                format.push_str(&text.replace('{', "{{").replace('}', "}}"));
                continue;
            }
            PathPart::Config(name) => {
                let local = format_ident!("{}", name);
                let getter = format_ident!("{}_value", name);
                (name, quote!(let #local = rt::encoding::component(self.client.config().#getter());))
            }
            PathPart::Param(name) => {
                let local = format_ident!("{}", name);
                (name, quote!(let #local = rt::param::path_segment(#local);))
            }
        };
        format.push_str(&format!("{{{name}}}"));
        binds.push(bind);
        let local = format_ident!("{}", name);
        values.push(quote!(.path_value(#name, &#local)));
    }
    (binds, quote!(rt::request::Request::new(#op_name, format!(#format)) #(#values)*))
}

pub(super) fn build_request(op: &Operation) -> TokenStream {
    let binds = op.params.iter().map(bind_param);
    let rules = op.rules.iter().map(|rule| match rule {
        Rule::RequiredOneOf(names) => {
            let pairs = names.iter().map(|n| {
                let ident = format_ident!("{}", n);
                quote!((#n, #ident.is_some()))
            });
            quote!(rt::validate::required_one_of(&[#(#pairs),*])?;)
        }
    });
    let op_name = &op.name;
    // Path: the first template whose `when_empty` lists are all empty. With
    // one template its statements come first; with more, each is a branch.
    let mut templates = op.paths.iter().rev();
    let (mut binds_before, mut path) = match templates.next() {
        Some(last) => path_request(op_name, &last.parts),
        None => (Vec::new(), quote!(unreachable!())),
    };
    let mut chained = false;
    for template in templates {
        let (binds, expr) = path_request(op_name, &template.parts);
        let conds = template.when_empty.iter().map(|n| {
            let ident = format_ident!("{}", n);
            quote!(#ident.is_none())
        });
        // The last template's statements open its branch; an earlier `if` chains as `else if`.
        path = if binds_before.is_empty() && chained {
            quote!(if #(#conds)&&* { #(#binds)* #expr } else #path)
        } else {
            let otherwise = std::mem::take(&mut binds_before);
            quote!(if #(#conds)&&* { #(#binds)* #expr } else { #(#otherwise)* #path })
        };
        chained = true;
    }
    let path_binds = binds_before;
    let mutable = if op.idempotent || op.params.iter().any(|p| matches!(p.location, Location::Query(_))) {
        quote!(mut)
    } else {
        quote!()
    };
    let queries = op.params.iter().filter_map(|p| {
        let Location::Query(wire) = &p.location else { return None };
        let name = format_ident!("{}", p.name);
        let label = &p.name;
        Some(quote!(request.push_param(#label, #wire, #name);))
    });
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
         after checking every parameter and that the whole URL fits in the 32 KiB the API accepts. No I/O happens \
         here; useful for logging and tests.",
    );
    quote! {
        #docs
        pub fn build_request(&self) -> Result<rt::request::Request, rt::Error> {
            #(#binds)*
            #(#rules)*
            #(#path_binds)*
            let #mutable request = #path;
            #idempotent
            #(#queries)*
            self.client.check_url(&request)?;
            Ok(request)
        }
    }
}
