//! Paging: operations whose spec declares `pagination` get `pages()` (a
//! [`Stream`] of pages) and `all_pages()` (every page merged into one
//! result). The generated code says how to ask for the next page and how to
//! merge two pages (`Paged`); this module runs the requests one after
//! another.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use futures_core::Stream;

use crate::Error;

/// A boxed, sendable future of one page.
#[doc(hidden)]
pub type PageFuture<P> = Pin<Box<dyn Future<Output = Result<P, Error>> + Send>>;

/// A request builder whose answers come in pages. Implemented by generated
/// code from the spec's `pagination`.
#[doc(hidden)]
pub trait Paged: Clone + Send + Unpin + 'static {
    /// One page of the answer (the operation's result type).
    type Page: Send + 'static;

    /// Sends this request (one page).
    fn send_page(self) -> PageFuture<Self::Page>;

    /// The request for the page after `page`, or `None` when `page` was the last.
    fn next_page(&self, page: &Self::Page) -> Option<Self>;

    /// Adds `page`'s items to `into`.
    fn merge(into: &mut Self::Page, page: Self::Page);
}

/// The pages of a paged request, as a `Stream` (`futures_core::Stream`): each page is requested
/// when the previous one has been taken, so the stream never runs ahead of
/// its reader. An error ends the stream (after the client's retry policy
/// has had its say).
///
/// Pages are read one after another: an item that moves between two reads
/// (a user joining or leaving a channel while its occupants are paged) can
/// be missed or seen twice.
#[must_use = "a stream does nothing until polled"]
pub struct Pages<B: Paged> {
    next: Option<B>,
    in_flight: Option<(B, PageFuture<B::Page>)>,
}

impl<B: Paged> Pages<B> {
    /// The pages of `first` and of every request after it.
    pub fn new(first: B) -> Self {
        Pages { next: Some(first), in_flight: None }
    }

    /// The next page, or `None` after the last one (no need for a `Stream`
    /// extension trait).
    pub async fn next(&mut self) -> Option<Result<B::Page, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<B: Paged> std::fmt::Debug for Pages<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("in_flight", &self.in_flight.is_some())
            .field("done", &self.next.is_none())
            .finish()
    }
}

impl<B: Paged> Stream for Pages<B> {
    type Item = Result<B::Page, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.in_flight.is_none() {
            let Some(request) = this.next.take() else { return Poll::Ready(None) };
            let page = request.clone().send_page();
            this.in_flight = Some((request, page));
        }
        let Some((request, mut page)) = this.in_flight.take() else { return Poll::Ready(None) };
        match page.as_mut().poll(cx) {
            Poll::Pending => {
                this.in_flight = Some((request, page));
                Poll::Pending
            }
            Poll::Ready(Ok(page)) => {
                this.next = request.next_page(&page);
                Poll::Ready(Some(Ok(page)))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Some(Err(err))),
        }
    }
}

/// Every page of `first` merged into one result.
pub async fn all<B: Paged>(first: B) -> Result<B::Page, Error> {
    let mut merged = first.clone().send_page().await?;
    let mut next = first.next_page(&merged);
    while let Some(request) = next {
        let page = request.clone().send_page().await?;
        next = request.next_page(&page);
        B::merge(&mut merged, page);
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of 3 numbers out of 0..8.
    #[derive(Clone)]
    struct Numbers {
        offset: u32,
    }

    impl Paged for Numbers {
        type Page = Vec<u32>;
        fn send_page(self) -> PageFuture<Vec<u32>> {
            Box::pin(async move { Ok((self.offset..8).take(3).collect()) })
        }
        fn next_page(&self, page: &Vec<u32>) -> Option<Self> {
            (self.offset + 3 < 8 && !page.is_empty()).then(|| Numbers { offset: self.offset + 3 })
        }
        fn merge(into: &mut Vec<u32>, page: Vec<u32>) {
            into.extend(page);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn pages_come_one_by_one_and_merge_in_order() {
        let mut pages = Pages::new(Numbers { offset: 0 });
        let mut seen = Vec::new();
        while let Some(page) = pages.next().await {
            seen.push(page.unwrap());
        }
        assert_eq!(seen, [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        assert!(pages.next().await.is_none(), "a finished stream stays finished");
        assert_eq!(all(Numbers { offset: 0 }).await.unwrap(), (0..8).collect::<Vec<_>>());
    }
}
