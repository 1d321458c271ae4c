//! Where downloaded bytes go: the [`Sink`] trait, and one sink per file ([`file`], [`memory`],
//! [`stream`]).
//!
//! A sink hands each worker of a [`Run`](super::run::Run) a [`PartWriter`], readies it for each
//! part the worker takes (the stream sink waits there for room in its reordering window), and
//! takes the part back once it is complete. The writer gets the part's bytes chunk by chunk at
//! their offset in the object.
//!
//! - **File**: positional writes through two small staging batches per worker, off the runtime's
//!   threads, into a temporary file renamed into place when complete.
//! - **Memory**: one buffer of the exact size, cut into per-part pieces filled in place.
//! - **Stream**: parts in pooled buffers, written in order, within a reordering window bounded by
//!   the memory limit, the head of line requested again when it lags.

pub(crate) mod file;
pub(crate) mod memory;
pub(crate) mod stream;

use std::future::Future;

use bytes::Bytes;

use crate::error::Result;

/// Where a part's bytes go, chunk by chunk, at their offset in the object.
pub(crate) trait PartWriter {
    /// Takes `chunk`, whose first byte is at `offset` in the object.
    fn write(&mut self, offset: u64, chunk: Bytes) -> impl Future<Output = Result<()>> + Send;
    /// Makes every byte taken so far durable in the sink (written to the file, for files).
    fn flush(&mut self) -> impl Future<Output = Result<()>> + Send;
}

/// A destination of downloaded parts, shared by the workers of one run.
pub(crate) trait Sink: Send + Sync + 'static {
    /// One worker's writer, reused for every part the worker fetches.
    type Writer: PartWriter + Send + 'static;

    /// `true` when the sink counts progress itself (as its output takes the bytes, in order);
    /// otherwise the run counts bytes as they arrive.
    const COUNTS_ITS_OWN_PROGRESS: bool = false;

    /// A writer for one worker.
    fn writer(&self) -> Self::Writer;

    /// Readies `writer` for part `index`, bytes `range` (`[start, end)`) of the object, waiting
    /// if the sink has no room for it yet. `false` when the sink takes no more parts.
    fn start_part(
        &self,
        writer: &mut Self::Writer,
        index: u64,
        range: (u64, u64),
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Takes part `index`, complete in `writer`. `false` when the sink takes no more parts.
    fn finish_part(&self, writer: &mut Self::Writer, index: u64) -> impl Future<Output = Result<bool>> + Send;

    /// Resolves when part `index` need not be fetched any more (another request for it won).
    fn overtaken(&self, _index: u64) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}
