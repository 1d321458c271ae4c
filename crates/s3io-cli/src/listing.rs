//! Remote entries under a prefix, in key order, as a stream.
//!
//! A thin layer over the library's [`Client::list_objects_v2_pages`]: the pages are flattened into
//! one object at a time, and the next page is requested while the current one is being consumed
//! (a producer task one page ahead, through a channel of [`PAGES_AHEAD`] pages), so a recursive
//! command never waits for a listing round trip between pages and never holds more than a few
//! pages (1,000 keys each) in memory, however many keys there are.

use futures::{Stream, StreamExt as _};
use s3io::types::{ListObjectsOptions, ObjectSummary};
use s3io::Client;
use tokio::sync::mpsc;

/// Listing pages fetched ahead of the consumer.
pub(crate) const PAGES_AHEAD: usize = 1;

/// Every object whose key starts with `prefix` (the whole bucket for `""`), in key order: key,
/// size, last modified, ETag and storage class ([`ObjectSummary`]). A failed page ends the stream
/// with its error.
pub(crate) fn list_objects(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> impl Stream<Item = Result<ObjectSummary, s3io::Error>> + Send + 'static {
    let mut options = ListObjectsOptions::default();
    options.prefix = Some(prefix.to_owned()).filter(|p| !p.is_empty());
    let pages = client.list_objects_v2_pages(bucket, options);
    let (sender, mut receiver) = mpsc::channel(PAGES_AHEAD);
    let producer = tokio::spawn(async move {
        let mut pages = std::pin::pin!(pages);
        while let Some(page) = pages.next().await {
            let failed = page.is_err();
            if sender.send(page).await.is_err() || failed {
                return;
            }
        }
    });
    // Dropping the stream stops the producer (its next send fails); the guard aborts a request
    // already in flight as well.
    let guard = AbortOnDrop(producer);
    futures::stream::poll_fn(move |cx| {
        let _ = &guard;
        receiver.poll_recv(cx)
    })
    .flat_map(|page| match page {
        Ok(page) => futures::stream::iter(page.objects).map(Ok).left_stream(),
        Err(error) => futures::stream::once(std::future::ready(Err(error))).right_stream(),
    })
}

/// Aborts the listing task when the stream is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
