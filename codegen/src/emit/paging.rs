//! Emits, for an operation whose spec declares `pagination`, the builder's
//! `pages()` and `all_pages()` and its `rt::paging::Paged` impl: how to ask
//! for the next page and how to merge two pages. The runtime runs them.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::doc;
use crate::ir::{Operation, PageParam, Pagination};

/// Tokens added to the operation's module (nothing without `pagination`).
pub fn paging(op: &Operation) -> TokenStream {
    let (Some(paging), Some(result)) = (&op.pagination, &op.result) else { return quote!() };
    let builder = format_ident!("{}", op.builder);
    let page = format_ident!("{}", result.ty);
    let Pagination { limit, offset, entries, items, total } = paging;
    let (entries, items, total) =
        (format_ident!("{}", entries), format_ident!("{}", items), format_ident!("{}", total));
    let read = |param: &PageParam| {
        let name = format_ident!("{}", param.name);
        if param.optional { quote!(self.#name.unwrap_or(0)) } else { quote!(self.#name) }
    };
    let (limit_value, offset_value) = (read(limit), read(offset));
    let offset_name = format_ident!("{}", offset.name);
    let set_offset = if offset.optional { quote!(Some(next)) } else { quote!(next) };
    // `next_page`: a page size of 0 lists nothing, so there is no next page;
    // an entry is complete once `offset + limit` reaches its total (or it
    // listed nothing, as with `include_uuids(false)`).

    let pages_doc = doc(&format!(
        "Every page of the answer, as a stream: one request per page of `{limit}` {items} (`{offset}` 0, \
         `{limit}`, 2 × `{limit}`…), until each of the `{entries}` has all its `{total}` {items}. Each page \
         is requested when the previous one is taken. Read it with its `next()` method or any `Stream` \
         consumer.",
        limit = limit.name,
        offset = offset.name,
    ));
    let all_doc = doc(&format!(
        "Every page merged into one [`{page}`]: each of the `{entries}` with all its {items}. One request \
         per page, one after another; an item that moves between two requests can be missed or seen twice.",
    ));
    quote! {
        impl #builder {
            #pages_doc
            pub fn pages(self) -> rt::paging::Pages<Self> {
                rt::paging::Pages::new(self)
            }

            #all_doc
            pub async fn all_pages(self) -> Result<#page, rt::Error> {
                rt::paging::all(self).await
            }
        }

        impl rt::paging::Paged for #builder {
            type Page = #page;

            fn send_page(self) -> rt::paging::PageFuture<#page> {
                Box::pin(self.send())
            }

            fn next_page(&self, page: &#page) -> Option<Self> {
                let limit = #limit_value;
                let next = #offset_value.checked_add(limit).filter(|_| limit > 0)?;
                let more = page.#entries.values().any(|entry| !entry.#items.is_empty() && u64::from(next) < entry.#total);
                more.then(|| {
                    let mut request = self.clone();
                    request.#offset_name = #set_offset;
                    request
                })
            }

            fn merge(into: &mut #page, page: #page) {
                for (key, entry) in page.#entries {
                    match into.#entries.get_mut(&key) {
                        Some(merged) => merged.#items.extend(entry.#items),
                        None => {
                            into.#entries.insert(key, entry);
                        }
                    }
                }
            }
        }
    }
}
