//! Emits, for an operation whose spec declares `stream`, the builder's
//! `subscribe()` / `subscribe_from()` / `decode_response()`, its
//! `rt::stream::LongPoll` impl with the one-pass item decoder, and the
//! union enum items decode to. The runtime runs the long-poll loop.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::decode::{emit_object, field_access};
use super::doc;
use crate::ir::{Missing, Operation, StreamModel, TypeModel, UnionModel};

/// The builder's stream methods and its `LongPoll` impl.
pub(super) fn stream_methods(op: &Operation, stream: &StreamModel) -> TokenStream {
    let builder = format_ident!("{}", op.builder);
    let item = format_ident!("{}", stream.item);
    let subscribe_doc = doc(&format!(
        "Starts the subscription: a stream of [`{}`] items, from now on. Checks every parameter first; \
         a bad one is the stream's only item. See [`Subscription`](crate::Subscription) for reconnects, \
         de-duplication and how the stream ends.",
        stream.item
    ));
    let from_doc = doc("Resumes from `cursor` (a previous subscription's [`cursor`](crate::Subscription::cursor)) \
         without a handshake, so that nothing delivered since then is missed.");
    let decode_doc =
        doc("Decodes one raw answer (status and body bytes) exactly as the subscription would: its cursor \
         and each item, decoded on its own. Never panics, whatever the bytes. Useful to replay recorded \
         answers.");
    let decoder = item_decoder(stream);
    quote! {
        impl #builder {
            #subscribe_doc
            pub fn subscribe(self) -> rt::stream::Subscription<Self> {
                rt::stream::Subscription::new(self)
            }

            #from_doc
            pub fn subscribe_from(self, cursor: rt::stream::Cursor) -> rt::stream::Subscription<Self> {
                rt::stream::Subscription::starting_at(self, Some(cursor))
            }

            #decode_doc
            pub fn decode_response(
                &self,
                http_status: u16,
                body: impl AsRef<[u8]>,
            ) -> Result<rt::stream::Answer<#item>, rt::Error> {
                rt::stream::decode_answer(http_status, body.as_ref(), <Self as rt::stream::LongPoll>::decode_item)
            }
        }

        impl rt::stream::LongPoll for #builder {
            type Item = #item;

            fn client(&self) -> &std::sync::Arc<rt::Client> {
                &self.client
            }

            fn build_request(&self) -> Result<rt::request::Request, rt::Error> {
                #builder::build_request(self)
            }

            #decoder
        }
    }
}

/// `decode_item`: the item's wire struct (every key any variant reads), one
/// serde pass, then a match on the discriminator.
fn item_decoder(stream: &StreamModel) -> TokenStream {
    let item_ty = format_ident!("{}", stream.item);
    let wire = format_ident!("{}Item", stream.item);
    let mut definitions = Vec::new();
    emit_object(&stream.root, &wire, false, &mut definitions);
    let at = |path: &[usize]| field_access(quote!(item), &stream.root, path);
    let dedup: Vec<TokenStream> = stream
        .dedup
        .iter()
        .map(|path| {
            let value = at(path);
            quote!(#value.as_deref())
        })
        .collect();
    // Without `dedup_on` no two items can be told apart: none is skipped.
    let key = if dedup.is_empty() { quote!(None) } else { quote!(Some(rt::stream::dedup_key(&[#(#dedup),*]))) };
    let known: Vec<&str> = stream.variants.iter().map(|v| v.value.as_str()).collect();
    let path_keys: Vec<&str> = stream.discriminator_key.split('.').collect();
    let normalize = stream.unless_equal.iter().map(|(value, other)| {
        let (value, other) = (at(value), at(other));
        quote!(#value = rt::stream::unless_equal(#value.take(), #other.as_deref());)
    });
    let discriminator = at(&stream.discriminator);
    let discriminator_key = &stream.discriminator_key;
    // One field's value, read from the item (each path is moved out once).
    let read_value = |read: &crate::ir::ItemRead| {
        let key = &read.key;
        let raw = at(&read.at);
        let mut value = match read.missing {
            Missing::Error => quote!(rt::stream::required(#key, #raw, json)?),
            Missing::None => quote!(#raw),
            Missing::Default => quote!(#raw.unwrap_or_default()),
        };
        if read.decimal_string {
            value = quote!(rt::stream::decimal(#key, &#value, json)?);
        }
        if let Some(suffix) = &read.strip_suffix {
            value = match read.missing {
                Missing::None => quote!(#value.map(|value| rt::stream::strip_suffix(value, #suffix))),
                Missing::Error | Missing::Default => quote!(rt::stream::strip_suffix(#value, #suffix)),
            };
        }
        value
    };
    let common_names: Vec<proc_macro2::Ident> =
        stream.common.iter().map(|read| format_ident!("{}", read.field)).collect();
    let common_values = stream.common.iter().map(read_value);
    let builds: Vec<TokenStream> = stream
        .variants
        .iter()
        .map(|variant| {
            let name = format_ident!("{}", variant.name);
            let ty = format_ident!("{}", variant.ty);
            let own = variant.fields.iter().map(|read| {
                let field = format_ident!("{}", read.field);
                let value = read_value(read);
                quote!(#field: #value)
            });
            quote!(#item_ty::#name(#ty { #(#common_names,)* #(#own,)* }))
        })
        .collect();
    // The known kinds read the union's fields first, then their own; the
    // last known kind takes the inner match's `_` (the outer one is exhaustive).
    let known_arm = match builds.split_last() {
        // `ir::lower` rejects a union without variants; were there none, every kind is the catch-all.
        None => quote!(),
        Some((last, first)) => {
            let choose = if first.is_empty() {
                quote!(#last)
            } else {
                let first_values = &known[..first.len()];
                quote! {
                    match kind {
                        #(#first_values => #first,)*
                        _ => #last,
                    }
                }
            };
            quote! {
                kind @ (#(#known)|*) => {
                    #(let #common_names = #common_values;)*
                    #choose
                }
            }
        }
    };
    let other = format_ident!("{}", stream.other);
    let other_field = format_ident!("{}", stream.other_field);
    // An item whose keys have other types than the known kinds read is still
    // fine for an unknown kind: it becomes the catch-all, not an error.
    let docs = doc("Decodes one item of an answer's `m` from its JSON text, in one pass.");
    quote! {
        #docs
        fn decode_item(json: &str) -> Result<rt::stream::Decoded<#item_ty>, rt::Error> {
            #(#definitions)*
            let mut item: #wire = match rt::stream::parse_item(json) {
                Ok(item) => item,
                Err(error) => {
                    let (#other_field, item) = rt::stream::unknown_kind(json, error, &[#(#path_keys),*], &[#(#known),*])?;
                    return Ok(rt::stream::Decoded { item: #item_ty::#other { #other_field, item }, key: None });
                }
            };
            let key = #key;
            #(#normalize)*
            let discriminator = rt::stream::required(#discriminator_key, #discriminator.take(), json)?;
            let item = match discriminator.as_str() {
                #known_arm
                _ => #item_ty::#other { #other_field: discriminator.clone(), item: rt::stream::raw_json(json)? },
            };
            Ok(rt::stream::Decoded { item, key })
        }
    }
}

/// The union's enum: one tuple variant per value, holding its struct, and
/// the catch-all.
pub(super) fn union_type(t: &TypeModel, union: &UnionModel) -> TokenStream {
    let docs = super::types::type_docs(t);
    let name = format_ident!("{}", t.name);
    let variants = union.variants.iter().map(|v| {
        let docs = doc(&format!("`{}` = `{}`: {}", union.discriminator, v.value, v.docs));
        let variant = format_ident!("{}", v.name);
        let ty = format_ident!("{}", v.ty);
        quote!(#docs #variant(#ty))
    });
    let other = format_ident!("{}", union.other);
    let other_field = format_ident!("{}", union.other_field);
    let other_docs = doc(&format!(
        "Any other `{}`: a kind of item this version does not know, kept whole rather than dropped or mistaken for another.",
        union.discriminator
    ));
    let other_value_docs = doc(&format!("The `{}` value.", union.discriminator));
    // The fields every known kind has, read without matching on the kind.
    let variant_names: Vec<proc_macro2::Ident> = union.variants.iter().map(|v| format_ident!("{}", v.name)).collect();
    let accessors = t.fields.iter().map(|field| {
        let docs = doc(&format!("{} `None` for a kind this version does not know.", field.docs));
        let name = format_ident!("{}", field.name);
        let (ty, value) = super::types::optional_getter(&field.ty, quote!(item.#name));
        quote! {
            #docs
            pub fn #name(&self) -> #ty {
                match self {
                    #(Self::#variant_names(item) => #value,)*
                    Self::#other { .. } => None,
                }
            }
        }
    });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants,)*
            #other_docs
            #other {
                #other_value_docs
                #other_field: String,
                /// The whole item, as JSON.
                item: serde_json::Value,
            },
        }

        impl #name {
            #(#accessors)*
        }
    }
}
