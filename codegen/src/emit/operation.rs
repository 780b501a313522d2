//! Emits `generated/src/operations/<operation>.rs`: the builder, its request
//! encoding and validation, the result types and their wire decoders.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{crate_ident, doc, inner_doc};
use crate::ir::{
    Api, DefaultValue, JsonObject, JsonValue, Location, NameKind, Operation, Param, ParamKind, PathPart, Read, Rule, Shape,
    Source, TypeModel, TypeRef,
};

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

    let mut builder_doc = format!("Builder for [`{}::{}`](crate::{}::{}): {}", api.client_name, op.name, api.client_name, op.name, op.summary);
    if let Some(docs) = &op.docs {
        builder_doc.push_str("\n\n");
        builder_doc.push_str(docs);
    }
    if let Some(python) = &op.python {
        builder_doc.push_str(&format!("\n\nPython SDK equivalent: `{python}`."));
    }
    builder_doc.push_str(&format!(
        "\n\nAwait the builder (it implements [`IntoFuture`]) or call \
         [`send`]({}::send); both validate every parameter before any network I/O.",
        op.builder
    ));
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

    let (decode_response_body, decode) = match &op.result {
        Some(_) => (quote!(self.decode(http_status, body.as_ref())), decode_fn(op)),
        None => (
            quote!(rt::body::acknowledgement(http_status, body.as_ref())),
            quote!(),
        ),
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
        Some(result) => format!("Validates the parameters, sends the request and decodes the answer into [`{}`].", result.ty),
        None => "Validates the parameters and sends the request; `Ok(())` once the server acknowledges it.".to_owned(),
    });
    let new_doc = doc(&format!(
        "Starts a request with every parameter at its default; see [`{client}::{method}`](crate::{client}::{method}).",
        client = api.client_name
    ));

    let paging = super::paging::paging(op);
    let decoded = decoded_types(op);
    let types = op.types.iter().map(|t| result_type(op, t, decoded.contains(&t.name)));
    let wires = op.types.iter().filter(|t| decoded.contains(&t.name)).map(wire_type);

    quote! {
        #module_doc

        use pubnub_presence_runtime as rt;

        #builder_doc
        #[derive(Debug, Clone)]
        #[must_use = "a request builder does nothing until it is awaited or `send()` is called"]
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

            #send_doc
            pub async fn send(self) -> Result<#output, rt::Error> {
                let request = self.build_request()?;
                #send_body
            }

            #decode_response

            #decode
        }

        rt::into_future!(#builder => #output);

        #paging

        #(#types)*

        #(#wires)*
    }
}

fn field_type(p: &Param) -> TokenStream {
    match (&p.kind, &p.default) {
        (ParamKind::Names { .. }, _) => quote!(Vec<String>),
        (ParamKind::Name { .. }, _) => quote!(Option<String>),
        (ParamKind::Flag { .. }, _) => quote!(bool),
        (ParamKind::U32 { .. }, DefaultValue::U32(_)) => quote!(u32),
        (ParamKind::U32 { .. }, _) => quote!(Option<u32>),
        // The serialization outcome is kept until `build_request` reports it.
        (ParamKind::JsonObject { .. }, _) => quote!(Option<Result<serde_json::Value, String>>),
    }
}

fn setter(p: &Param) -> TokenStream {
    let name = format_ident!("{}", p.name);
    let mut text = p.docs.clone();
    let default = match (&p.kind, &p.default) {
        (_, DefaultValue::Required) => "Required.".to_owned(),
        (_, DefaultValue::EmptyList) => "Default: none.".to_owned(),
        (_, DefaultValue::Bool(b)) => format!("Default: `{b}`."),
        (_, DefaultValue::U32(v)) => format!("Default: `{v}`."),
        (_, DefaultValue::FromConfig(c)) => format!("Default: the client's `{c}`."),
        (_, DefaultValue::Unset) => "Default: not sent.".to_owned(),
    };
    text.push_str("\n\n");
    text.push_str(&default);
    match &p.kind {
        ParamKind::U32 { min, max } if min.is_some() || max.is_some() => {
            match (min, max) {
                (Some(lo), None) => text.push_str(&format!(" At least `{lo}`.")),
                _ => {
                    let lo = min.unwrap_or(0);
                    let hi = max.map(|v| v.to_string()).unwrap_or_default();
                    text.push_str(&format!(" Allowed: `{lo}..={hi}`."));
                }
            }
        }
        ParamKind::Names { .. } => text.push_str(
            " Takes one name or many (`\"a\"`, `[\"a\", \"b\"]`, a `Vec` or a slice) and replaces earlier values; \
             a name given twice is sent once.",
        ),
        _ => {}
    }
    let docs = doc(&text);
    let body = match (&p.kind, &p.default) {
        (ParamKind::Names { .. }, _) => quote! {
            pub fn #name(mut self, #name: impl rt::IntoNames) -> Self {
                self.#name = rt::IntoNames::into_names(#name);
                self
            }
        },
        (ParamKind::Name { .. }, _) => quote! {
            pub fn #name(mut self, #name: impl Into<String>) -> Self {
                self.#name = Some(#name.into());
                self
            }
        },
        (ParamKind::Flag { .. }, _) => quote! {
            pub fn #name(mut self, #name: bool) -> Self {
                self.#name = #name;
                self
            }
        },
        (ParamKind::U32 { .. }, DefaultValue::U32(_)) => quote! {
            pub fn #name(mut self, #name: u32) -> Self {
                self.#name = #name;
                self
            }
        },
        (ParamKind::U32 { .. }, _) => quote! {
            pub fn #name(mut self, #name: u32) -> Self {
                self.#name = Some(#name);
                self
            }
        },
        (ParamKind::JsonObject { .. }, _) => quote! {
            pub fn #name(mut self, #name: impl serde::Serialize) -> Self {
                self.#name = Some(serde_json::to_value(#name).map_err(|err| err.to_string()));
                self
            }
        },
    };
    quote!(#docs #body)
}

/// The runtime's rules for a kind of name.
fn name_kind(kind: NameKind) -> TokenStream {
    match kind {
        NameKind::Channel => quote!(rt::validate::NameKind::Channel),
        NameKind::ListedChannel => quote!(rt::validate::NameKind::ListedChannel),
        NameKind::ChannelGroup => quote!(rt::validate::NameKind::ChannelGroup),
        NameKind::Uuid => quote!(rt::validate::NameKind::Uuid),
    }
}

/// Binds each parameter to a local with its final value, validating it.
fn bind_param(p: &Param) -> TokenStream {
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
fn path_expr(op: &Operation, parts: &[PathPart]) -> TokenStream {
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

fn build_request(op: &Operation) -> TokenStream {
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

fn decode_fn(op: &Operation) -> TokenStream {
    let Some(result) = &op.result else { return quote!() };
    let ty = format_ident!("{}", result.ty);
    let mut branches = Vec::new();
    let mut unconditional = quote!();
    let mut envelopes = Vec::new();
    for shape in &result.shapes {
        let RenderedEnvelope { definitions, root, fields } = render_envelope(op, shape);
        envelopes.push(definitions);
        let fields = fields.into_iter().map(|(name, value)| quote!(#name: #value));
        let build = quote! {
            let envelope: #root = rt::body::parse_envelope(http_status, body)?;
            Ok(#ty { #(#fields,)* })
        };
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
                        return { #build };
                    }
                });
            }
            None => unconditional = build,
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

/// `{key: value}` for the request's only name in `param`.
fn single_entry(op: &Operation, ty: &TypeRef, param: &str, read: TokenStream) -> TokenStream {
    // `ir::lower` accepts `single_entry_of` on map fields only.
    let inner = match ty {
        TypeRef::Map(inner) => inner.as_ref(),
        other => other,
    };
    let wire = wire_ref(inner);
    let param = format_ident!("{}", param);
    let converted = convert_keyed(op, quote!(value), inner);
    let convert = if converted.to_string() == "value" { quote!() } else { quote!(let value = #converted;) };
    quote!({
        let value: #wire = #read;
        let key = self.#param[0].clone();
        #convert
        std::collections::BTreeMap::from([(key, value)])
    })
}

/// The envelope types of one shape (nested objects first, then the root),
/// its root type, and each result field's expression over `envelope`.
struct RenderedEnvelope {
    definitions: TokenStream,
    root: proc_macro2::Ident,
    fields: Vec<(proc_macro2::Ident, TokenStream)>,
}

/// Renders the envelope the IR planned for a shape (`<ShapeName>Body` and its
/// nested objects): one serde pass from body bytes to wire types, error
/// fields included.
fn render_envelope(op: &Operation, shape: &Shape) -> RenderedEnvelope {
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
                Read::At(path) => {
                    // The wire's own names: `envelope.payload.channels`.
                    let mut object = &shape.envelope.root;
                    let mut names = Vec::new();
                    for &position in path {
                        names.push(key_idents(object)[position].clone());
                        if let JsonValue::Object(inner) = &object.keys[position].1 {
                            object = inner;
                        }
                    }
                    quote!(envelope #(.#names)*)
                }
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

/// Rust field names for an object's keys: the key itself in snake_case
/// (`channel-group` → `channel_group`), numbered only where two keys, a
/// keyword or the error fields would clash.
fn key_idents(object: &JsonObject) -> Vec<proc_macro2::Ident> {
    let mut taken: Vec<String> = crate::ir::ERROR_KEYS.iter().map(|k| (*k).to_owned()).collect();
    object
        .keys
        .iter()
        .enumerate()
        .map(|(position, (key, _))| {
            let mut name: String =
                key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
            if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
                name.insert_str(0, "key_");
            }
            if name == "_" || crate::ir::KEYWORDS.contains(&name.as_str()) || taken.contains(&name) {
                name = format!("{name}_{position}");
            }
            taken.push(name.clone());
            format_ident!("{}", name)
        })
        .collect()
}

fn emit_object(object: &JsonObject, name: &proc_macro2::Ident, is_root: bool, out: &mut Vec<TokenStream>) {
    let mut fields = Vec::new();
    for ((key, value), ident) in object.keys.iter().zip(key_idents(object)) {
        let (ty, default) = match value {
            JsonValue::Leaf { ty, default } => (wire_ref(ty), *default),
            JsonValue::Object(inner) => {
                let inner_name = format_ident!("{}{}", name, pascal(key));
                emit_object(inner, &inner_name, false, out);
                (quote!(#inner_name), inner.all_default())
            }
        };
        // The key is the field's name unless it is not a Rust identifier.
        let mut attrs = Vec::new();
        if ident != key.as_str() {
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

fn pascal(key: &str) -> String {
    key.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Rust type of a result field.
fn rust_ref(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(String),
        TypeRef::U64 => quote!(u64),
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

/// Type the wire value deserializes into.
fn wire_ref(ty: &TypeRef) -> TokenStream {
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

fn needs_conversion(ty: &TypeRef) -> bool {
    !ty.named().is_empty()
}

/// Converts a wire value `expr` of type `ty` into the result type.
fn convert(op: &Operation, expr: TokenStream, ty: &TypeRef) -> TokenStream {
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
        TypeRef::Map(inner) => {
            let value = convert_keyed(op, quote!(item), inner);
            quote!(#expr.into_iter().map(|(key, item)| { let value = #value; (key, value) }).collect())
        }
        _ => expr,
    }
}

/// A function converting one element: `Type::from` or a closure.
fn mapper(op: &Operation, ty: &TypeRef) -> TokenStream {
    if let TypeRef::Named(name) = ty {
        let ident = format_ident!("{}", name);
        return quote!(#ident::from);
    }
    let body = convert(op, quote!(item), ty);
    quote!(|item| #body)
}

/// Like [`convert`] for a map value: fills the type's `map_key` field from `key`.
fn convert_keyed(op: &Operation, expr: TokenStream, ty: &TypeRef) -> TokenStream {
    if let TypeRef::Named(name) = ty
        && let Some(key_field) = op.types.iter().find(|t| t.name == *name).and_then(TypeModel::map_key_field)
    {
        let ident = format_ident!("{}", name);
        let field = format_ident!("{}", key_field.name);
        return quote!({
            let mut value = #ident::from(#expr);
            value.#field = key.clone();
            value
        });
    }
    convert(op, expr, ty)
}

/// Types read from the wire (directly or nested), which need a wire form.
fn decoded_types(op: &Operation) -> Vec<String> {
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

fn result_type(op: &Operation, t: &TypeModel, decoded: bool) -> TokenStream {
    let mut text = t.docs.clone();
    if let Some(python) = &t.python {
        text.push_str(&format!("\n\nPython SDK equivalent: `{python}`."));
    }
    let docs = doc(&text);
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

fn wire_fields(t: &TypeModel) -> Vec<TokenStream> {
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
            if f.default_if_missing {
                attrs.push(quote!(default));
            }
            let attr = if attrs.is_empty() { quote!() } else { quote!(#[serde(#(#attrs),*)]) };
            quote!(#attr #ident: #ty)
        })
        .collect()
}

fn wire_type(t: &TypeModel) -> TokenStream {
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
                if f.name == *bare_field { quote!(#ident: value.to_owned()) } else { quote!(#ident: Default::default()) }
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

fn from_wire(op: &Operation, t: &TypeModel) -> TokenStream {
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
                if ident == value.to_string() {
                    return quote!(#ident);
                }
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
