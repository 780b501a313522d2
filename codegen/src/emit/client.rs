//! Emits `src/lib.rs` (crate docs, re-exports, the client type with one
//! method per operation) and `src/operations/mod.rs`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{doc, inner_doc};
use crate::ir::Api;

pub fn lib_rs(api: &Api) -> TokenStream {
    let crate_docs = inner_doc(&api.docs);
    let client = format_ident!("{}", api.client_name);
    let client_docs = doc(&api.client_docs);
    let reexports = api.operations.iter().map(|op| {
        let module = format_ident!("{}", op.name);
        let mut names = vec![format_ident!("{}", op.builder)];
        names.extend(op.types.iter().map(|t| format_ident!("{}", t.name)));
        quote!(#[doc(inline)] #[rustfmt::skip] pub use operations::#module::{#(#names),*};)
    });
    // A long-polled operation's stream types, named from the crate root.
    // Each runtime type a user names (or is handed) has one public path: the
    // crate root. Paging and streams bring theirs only when the spec has them.
    let paging_types = if api.operations.iter().any(|op| op.pagination.is_some()) {
        quote! {
            #[doc(inline)]
            #[rustfmt::skip]
            pub use pubnub_presence_runtime::paging::Pages;
        }
    } else {
        quote!()
    };
    let stream_types = if api.operations.iter().any(|op| op.stream.is_some()) {
        quote! {
            #[doc(inline)]
            #[rustfmt::skip]
            pub use pubnub_presence_runtime::stream::{Answer, Cursor, Subscription};
        }
    } else {
        quote!()
    };
    // Hand-written modules copied in; their public items read as the crate's own.
    let inlineable = api.inlineable.iter().map(|module| {
        let module = format_ident!("{}", module);
        quote!(mod #module; #[doc(inline)] pub use #module::*;)
    });
    let methods = api.operations.iter().map(|op| {
        let method = format_ident!("{}", op.name);
        let builder = format_ident!("{}", op.builder);
        let next = match op.stream {
            Some(_) => "call its `subscribe()` for the stream",
            None => "await it to send the request",
        };
        let docs = doc(&format!("{}\n\nReturns a [`{}`] builder; {next}.", op.summary, op.builder));
        quote! {
            #docs
            pub fn #method(&self) -> #builder {
                #builder::new(self.client.clone())
            }
        }
    });
    // `mod operations` is private: every operation's types are re-exported
    // at the root, their one public path.
    // `#[doc(inline)]`: the crate page shows the runtime's items as its own,
    // not as `pub use` lines. `#[rustfmt::skip]`: prettyplease formatted this
    // file and `codegen -- --check` pins it, so `cargo fmt --all` leaves the
    // generated items (and, through `mod operations`, their files) alone; the
    // inlineable modules are hand-written and rustfmt-formatted.
    quote! {
        #crate_docs
        #![warn(missing_docs)]

        #[rustfmt::skip]
        mod operations;
        #(#inlineable)*

        #[doc(inline)]
        #[rustfmt::skip]
        pub use pubnub_presence_runtime::{Config, Error, IntoNames, RetryPolicy, TimeoutKind};
        #[doc(inline)]
        #[rustfmt::skip]
        pub use pubnub_presence_runtime::request::Request;
        #paging_types
        #stream_types
        #(#reexports)*

        #client_docs
        #[derive(Debug, Clone)]
        #[rustfmt::skip]
        pub struct #client {
            client: std::sync::Arc<pubnub_presence_runtime::Client>,
        }

        #[rustfmt::skip]
        impl #client {
            /// Creates a client. Nothing is sent until an operation is awaited;
            /// configuration problems (an empty `user_id`, say) are reported by
            /// the first request as [`Error::InvalidInput`].
            pub fn new(config: Config) -> Self {
                #client { client: std::sync::Arc::new(pubnub_presence_runtime::Client::new(config)) }
            }

            /// The configuration this client was created with.
            pub fn config(&self) -> &Config {
                self.client.config()
            }

            #(#methods)*
        }
    }
}

pub fn operations_mod(api: &Api) -> TokenStream {
    let modules = api.operations.iter().map(|op| {
        let module = format_ident!("{}", op.name);
        let docs = doc(&op.summary);
        quote!(#docs pub mod #module;)
    });
    quote! {
        //! One module per operation: its builder, result types and wire decoding.
        #(#modules)*
    }
}
