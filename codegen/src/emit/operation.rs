//! Emits `generated/src/operations/<operation>.rs`. This file: the module,
//! the builder and its setters; `request.rs` builds and checks the request,
//! `decode.rs` reads each wire shape, `types.rs` emits the result types and
//! their wire forms, `paging.rs` the paging methods.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{crate_ident, doc, inner_doc};
use crate::ir::{Api, DefaultValue, Operation, Param, ParamKind};

use super::decode::decode_fn;
use super::request::build_request;
use super::types::{decoded_types, result_type, wire_type};

/// Tokens of one operation module.
pub fn operation(api: &Api, op: &Operation) -> TokenStream {
    let builder = format_ident!("{}", op.builder);
    let krate = crate_ident(api);
    let method = format_ident!("{}", op.name);
    let module_doc = inner_doc(&format!("`{}`: {}", op.name, op.summary));

    let output = match &op.result {
        Some(result) => {
            let ty = format_ident!("{}", result.ty);
            quote!(#ty)
        }
        None => quote!(()),
    };

    let mut builder_doc = format!(
        "Builder for [`{}::{}`](crate::{}::{}): {}",
        api.client_name, op.name, api.client_name, op.name, op.summary
    );
    if let Some(docs) = &op.docs {
        builder_doc.push_str("\n\n");
        builder_doc.push_str(docs);
    }
    if let Some(python) = &op.python {
        builder_doc.push_str(&format!("\n\nPython SDK equivalent: `{python}`."));
    }
    // A long-polled operation is subscribed to rather than sent: how the
    // builder starts, what forgetting to start it says, and its methods.
    let (how_to_start, must_use, methods, after_impl) = match &op.stream {
        Some(stream) => (
            format!(
                "\n\nCall [`subscribe`]({}::subscribe) to start: a stream of items, after every parameter \
                 is checked.",
                op.builder
            ),
            "a subscription builder does nothing until `subscribe()` is called",
            quote!(),
            super::stream::stream_methods(op, stream),
        ),
        None => (
            format!(
                "\n\nAwait the builder (it implements [`IntoFuture`]) or call \
                 [`send`]({}::send); both validate every parameter before any network I/O.",
                op.builder
            ),
            "a request builder does nothing until it is awaited or `send()` is called",
            send_methods(op, &output),
            quote!(rt::into_future!(#builder => #output);),
        ),
    };
    builder_doc.push_str(&how_to_start);
    builder_doc.push_str("\n\n# Example\n\n```no_run\n");
    builder_doc.push_str(&format!(
        "# async fn example(pubnub: {krate}::{client}) -> Result<(), {krate}::Error> {{\n",
        krate = krate,
        client = api.client_name
    ));
    builder_doc.push_str(&op.example);
    builder_doc.push_str("\n# Ok(())\n# }\n```");
    let builder_doc = doc(&builder_doc);

    let fields = op.params.iter().map(|p| {
        let name = format_ident!("{}", p.name);
        let ty = field_type(p);
        quote!(#name: #ty)
    });
    let defaults = op.params.iter().map(|p| {
        let name = format_ident!("{}", p.name);
        let value = match &p.default {
            DefaultValue::EmptyList => quote!(Vec::new()),
            DefaultValue::Bool(b) => quote!(#b),
            DefaultValue::U32(v) => {
                let v = Literal::u32_unsuffixed(*v);
                quote!(#v)
            }
            DefaultValue::FromConfig(_) | DefaultValue::Unset | DefaultValue::Required => quote!(None),
        };
        quote!(#name: #value)
    });
    let setters = op.params.iter().map(setter);
    let build_request = build_request(op);

    let new_doc = doc(&format!(
        "Starts a request with every parameter at its default; see [`{client}::{method}`](crate::{client}::{method}).",
        client = api.client_name
    ));

    let paging = super::paging::paging(op);
    let decoded = decoded_types(op);
    let types = op.types.iter().map(|t| match &t.union {
        Some(union) => super::stream::union_type(t, union),
        None => result_type(op, t, decoded.contains(&t.name)),
    });
    let wires = op.types.iter().filter(|t| decoded.contains(&t.name)).map(wire_type);

    quote! {
        #module_doc

        use pubnub_presence_runtime as rt;

        #builder_doc
        #[derive(Debug, Clone)]
        #[must_use = #must_use]
        pub struct #builder {
            client: std::sync::Arc<rt::Client>,
            #(#fields,)*
        }

        impl #builder {
            #new_doc
            pub(crate) fn new(client: std::sync::Arc<rt::Client>) -> Self {
                #builder { client, #(#defaults,)* }
            }

            #(#setters)*

            #build_request

            #methods
        }

        #after_impl

        #paging

        #(#types)*

        #(#wires)*
    }
}

/// A sent operation's `send`, `decode_response` and `decode` methods.
fn send_methods(op: &Operation, output: &TokenStream) -> TokenStream {
    let (decode_response_body, decode) = match &op.result {
        Some(_) => (quote!(self.decode(http_status, body.as_ref())), decode_fn(op)),
        None => (quote!(rt::body::acknowledgement(http_status, body.as_ref())), quote!()),
    };
    // Decoding happens inside the client's retry loop, so an error the body
    // reports (a 503 inside a 200) is retried like the same HTTP status.
    let send_body = quote! {
        self.client.execute(request, |status, body| self.decode_response(status, body)).await
    };
    let decode_response_doc = doc(&format!(
        "Decodes a raw HTTP response (status and body bytes) exactly as [`send`]({}::send) would \
         for this request: an error status or error body becomes an [`Error`](crate::Error), any \
         other body is mapped onto the result. Never panics, whatever the bytes. Useful to \
         replay recorded responses.",
        op.builder
    ));
    let decode_response = quote! {
        #decode_response_doc
        pub fn decode_response(&self, http_status: u16, body: impl AsRef<[u8]>) -> Result<#output, rt::Error> {
            #decode_response_body
        }
    };
    let send_doc = doc(&match &op.result {
        Some(result) => {
            format!("Validates the parameters, sends the request and decodes the answer into [`{}`].", result.ty)
        }
        None => "Validates the parameters and sends the request; `Ok(())` once the server acknowledges it.".to_owned(),
    });
    quote! {
        #send_doc
        pub async fn send(self) -> Result<#output, rt::Error> {
            let request = self.build_request()?;
            #send_body
        }

        #decode_response

        #decode
    }
}

/// The builder field holding a parameter: the setter's value, or `None`
/// (`Vec::new()` for lists) until it is called when the spec gives no
/// literal default.
fn field_type(p: &Param) -> TokenStream {
    let has_default = p.default.is_literal();
    match &p.kind {
        ParamKind::Names { .. } => quote!(Vec<String>),
        ParamKind::Name { .. } => quote!(Option<String>),
        ParamKind::Flag { .. } => quote!(bool),
        ParamKind::U32 { .. } if has_default => quote!(u32),
        ParamKind::U32 { .. } => quote!(Option<u32>),
        // The serialization outcome is kept until `build_request` reports it.
        ParamKind::JsonObject { .. } => quote!(Option<Result<serde_json::Value, String>>),
    }
}

fn setter(p: &Param) -> TokenStream {
    let name = format_ident!("{}", p.name);
    let mut text = p.docs.clone();
    text.push_str("\n\n");
    text.push_str(&match &p.default {
        DefaultValue::Required => "Required.".to_owned(),
        DefaultValue::EmptyList => "Default: none.".to_owned(),
        DefaultValue::Bool(b) => format!("Default: `{b}`."),
        DefaultValue::U32(v) => format!("Default: `{v}`."),
        DefaultValue::FromConfig(c) => format!("Default: the client's `{c}`."),
        DefaultValue::Unset => "Default: not sent.".to_owned(),
    });
    // What the setter takes, how it stores it, and what the docs add about it.
    let (input, stored, rule) = match &p.kind {
        ParamKind::Names { refuse_presence_names, .. } => (
            quote!(impl rt::IntoNames),
            quote!(rt::IntoNames::into_names(#name)),
            format!(
                " Takes one name or many (`\"a\"`, `[\"a\", \"b\"]`, a `Vec` or a slice) and replaces earlier values; \
                 a name given twice is sent once.{}",
                if *refuse_presence_names {
                    " A name ending in `-pnpres` (a presence channel, on which no one is ever present) is refused."
                } else {
                    ""
                }
            ),
        ),
        ParamKind::Name { .. } => (quote!(impl Into<String>), quote!(Some(#name.into())), String::new()),
        ParamKind::Flag { .. } => (quote!(bool), quote!(#name), String::new()),
        ParamKind::U32 { min, max } => {
            let stored = if p.default.is_literal() { quote!(#name) } else { quote!(Some(#name)) };
            let rule = match (min, max) {
                (None, None) => String::new(),
                (Some(lo), None) => format!(" At least `{lo}`."),
                (lo, Some(hi)) => format!(" Allowed: `{}..={hi}`.", lo.unwrap_or(0)),
            };
            (quote!(u32), stored, rule)
        }
        ParamKind::JsonObject { .. } => (
            quote!(impl serde::Serialize),
            quote!(Some(serde_json::to_value(#name).map_err(|err| err.to_string()))),
            String::new(),
        ),
    };
    text.push_str(&rule);
    let docs = doc(&text);
    quote! {
        #docs
        pub fn #name(mut self, #name: #input) -> Self {
            self.#name = #stored;
            self
        }
    }
}
