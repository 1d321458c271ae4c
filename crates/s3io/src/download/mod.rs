//! The parallel download engine.
//!
//! A download is planned from its first answer: the first request is a ranged GET of the first
//! part (no HEAD round-trip), whose `Content-Range` gives the object's size and whose ETag pins
//! the version; objects that fit in one part are done after that one request. The other parts go
//! out as ranged GETs with `If-Match` on that ETag, so an object replaced mid-download fails with
//! a clear error instead of yielding a file that mixes two versions.
//!
//! The flow goes one way: [`plan`] makes the first request and decides what to verify (a
//! `Plan`); [`run`] drives a fixed set of workers (as many as the concurrency, fewer for small
//! objects) that take part numbers from a shared counter and fetch each part ([`part`]) into a
//! writer the [`sink`] hands them — no task and no buffer per part. The sink is a file (positional
//! writes through two small staging buffers per worker, off the runtime's threads, into a temporary
//! file renamed into place when complete), memory (one buffer of the exact size, filled in place),
//! or an in-order stream (parts in pooled buffers, within a reordering window bounded by the memory
//! limit).
//!
//! A body that breaks off mid-part is resumed: the retry asks only for the bytes still missing, and
//! the bytes already written are kept. Every download is verified where the store gives something
//! to verify against (see [`plan`]): a one-part download against the checksum its answer carries or
//! its single-part ETag (MD5); a larger one against the full-object CRC64NVME that a HEAD, running
//! beside the parts, fetches. Each part's CRC is computed as its bytes stream past and the part
//! CRCs are combined at the end (no second pass over the data); a mismatch fails the download and
//! [`DownloadOutput::verified_checksum`] says what was verified.

mod journal;
mod part;
mod plan;
mod run;
mod sink;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWrite;
use tokio_util::sync::CancellationToken;

use crate::checksum::ChecksumValue;
use crate::client::Client;
use crate::config::{ChecksumMode, TransferConfig};
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::progress::Progress;
use crate::s3::object::SseCustomerKey;

pub(crate) use plan::{Check, Plan};

/// [`Download::to_bytes`] takes a pooled buffer for objects of up to the part size or this share
/// of the pool's cap (a sixteenth: 16 MiB of the default 256 MiB, so sixteen such downloads in
/// flight fit), whichever is larger.
const POOLED_OBJECT_SHARE: u64 = 16;

/// What a finished download reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadOutput {
    /// The object's size, in bytes.
    pub size: u64,
    /// The ETag the download was pinned to.
    pub etag: Option<String>,
    /// GET requests the plan needed (retries not counted).
    pub parts: u64,
    /// The full-object checksum that was verified, if the object carried one.
    pub verified_checksum: Option<ChecksumValue>,
    /// Parts requested a second time because they held up an in-order stream.
    pub hedged_parts: u64,
    /// The object's last modification time, as its first answer gave it (`Last-Modified`).
    pub last_modified: Option<SystemTime>,
    /// Bytes a resumed download found complete from an earlier run and did not fetch again
    /// (see [`Download::resume`]); 0 otherwise.
    pub resumed_bytes: u64,
}

/// A download being set up: per-transfer overrides, then one of the `to_*` methods runs it.
#[must_use = "a download does nothing until one of its `to_*` methods is awaited"]
#[derive(Debug, Clone)]
pub struct Download {
    client: Client,
    /// The bucket and key, as every error of the download names them (made once: each request
    /// carries a clone that shares their text).
    context: ErrorContext,
    transfer: TransferConfig,
    /// The caller's token, if any (no token: nothing to watch, nothing allocated).
    cancel: Option<CancellationToken>,
    progress: Option<Arc<Progress>>,
    /// The object's SSE-C key, sent with every request.
    sse_customer_key: Option<SseCustomerKey>,
    /// The version every request is pinned to.
    version_id: Option<String>,
}

impl Client {
    /// Starts setting up a download of `bucket/key`, with the client's transfer settings.
    pub fn download(&self, bucket: impl AsRef<str>, key: impl AsRef<str>) -> Download {
        Download {
            client: self.clone(),
            context: ErrorContext::new(Operation::Download, bucket.as_ref(), Some(key.as_ref())),
            transfer: self.config().transfer.clone(),
            cancel: None,
            progress: None,
            sse_customer_key: None,
            version_id: None,
        }
    }
}

impl Download {
    /// Bytes per ranged GET. By default the client's [`TransferConfig::part_size`].
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.transfer.part_size = bytes;
        self
    }

    /// Pins the ranged GETs in flight at `requests` (within the client-wide limit). By default
    /// the client's [`TransferConfig::concurrency`] (adaptive).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.transfer.concurrency = Some(requests);
        self
    }

    /// Cap on this download's pooled memory (the in-order stream's reordering window, and with
    /// it the stream's requests in flight; downloads to files and memory hold no part buffers).
    /// By default the client's [`TransferConfig::stream_buffer`] within its
    /// [`TransferConfig::memory_limit`]; the client-wide pool cap always applies too.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.transfer.memory_limit = bytes;
        self.transfer.stream_buffer = bytes;
        self
    }

    /// Verify full-object checksums or not. By default the client's [`TransferConfig::checksum_mode`].
    pub fn checksum_mode(mut self, mode: ChecksumMode) -> Self {
        self.transfer.checksum_mode = mode;
        self
    }

    /// Makes a file download ([`Download::to_file`]) resumable: it writes into
    /// `.NAME.s3io-partial.tmp` beside the destination and records each finished part in a
    /// journal beside it (`.NAME.s3io-partial.journal`). A run that stops without cleaning up
    /// (killed, power lost) or fails on a transient error (the endpoint unreachable, timeouts,
    /// 5xx) leaves both; the next resumable download to the same file reads the journal, asks
    /// for the first missing part with `If-Match` on the ETag it recorded, and fetches only the
    /// missing parts (in the journal's part size). If the object changed, it starts afresh.
    /// Cancelling, or any other failure, removes both files. A download without resuming
    /// removes the partial files a resumable one left. By default the client's
    /// [`TransferConfig::resume`] (`false`). Memory and stream downloads ignore it.
    pub fn resume(mut self, resume: bool) -> Self {
        self.transfer.resume = resume;
        self
    }

    /// Syncs the downloaded file and then its directory before [`Download::to_file`] returns,
    /// so the file survives a power loss once reported done. By default the client's
    /// [`TransferConfig::fsync`] (`false`).
    pub fn fsync(mut self, fsync: bool) -> Self {
        self.transfer.fsync = fsync;
        self
    }

    /// Cancels the download when this token is cancelled. By default a token nobody cancels;
    /// dropping the download's future cancels it too. A file download that is renaming its
    /// complete file into place when the token is cancelled finishes instead: an
    /// [`Error::Cancelled`] means the file is not there.
    pub fn cancel_token(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Counts bytes into `progress` as they arrive (and sets its total once known); a stream
    /// ([`Download::to_writer`]) counts them as the writer takes them, in order.
    pub fn progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The customer-provided key the object was stored with (SSE-C), sent with every GET and
    /// HEAD of the download. By default none. Such an object's ETag is not the MD5 of its bytes,
    /// so a one-part download without a stored checksum verifies nothing.
    pub fn sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer_key = Some(key);
        self
    }

    /// Downloads this version of the object (`versionId`): every ranged GET (and the HEAD that
    /// verifies) asks for it. By default the latest version, pinned by its ETag.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    fn context(&self) -> ErrorContext {
        self.context.clone()
    }

    pub(crate) fn bucket(&self) -> &str {
        self.context.bucket()
    }

    pub(crate) fn key(&self) -> &str {
        self.context.key().unwrap_or_default()
    }

    /// Downloads into the file at `path`: written to a temporary file in the same directory and
    /// renamed over `path` only when complete and verified, so a failed or cancelled download
    /// never leaves a truncated file under the final name. See [`Download::resume`] for
    /// downloads that survive being killed.
    pub async fn to_file(self, path: impl AsRef<Path>) -> Result<DownloadOutput> {
        self.transfer.validate()?;
        let path = path.as_ref().to_owned();
        let Some(token) = self.cancel.clone() else {
            return sink::file::download(&self, &path, Arc::default()).await;
        };
        // Cancelled before the rename into place, never during it: a caller told "cancelled"
        // knows the file is not there.
        let flags = Arc::new(sink::file::TempFlags::default());
        let mut work = std::pin::pin!(sink::file::download(&self, &path, flags.clone()));
        tokio::select! {
            biased;
            () = token.cancelled() => {
                if flags.committing.load(std::sync::atomic::Ordering::SeqCst) {
                    work.await
                } else {
                    Err(Error::cancelled(self.context()))
                }
            }
            result = &mut work => result,
        }
    }

    /// Downloads into memory. An object of at most the part size, or of at most a sixteenth of
    /// the client's memory limit if that is more (16 MiB at the defaults), lands in a buffer from
    /// the client's [`BufferPool`](crate::BufferPool) (waiting, like any pooled buffer, while the
    /// pool is at its cap), which goes back to the pool when the last clone of the returned
    /// `Bytes` is dropped: a service downloading objects of any size into memory allocates no
    /// payload buffer in steady state. Keep the `Bytes` only as long as needed (copy what is kept
    /// for long), since it holds pool capacity. A larger object gets a freshly allocated buffer of
    /// its exact size.
    pub async fn to_bytes(self) -> Result<Bytes> {
        self.transfer.validate()?;
        let cancel = self.cancel.clone().map(|token| (token, self.context()));
        with_cancel(cancel, async {
            let (plan, first) = Plan::make(&self).await?;
            let size = plan.size;
            let pool = self.client.buffer_pool();
            let pooled_max = self.transfer.part_size.max(pool.limit() / POOLED_OBJECT_SHARE).min(pool.limit());
            if size == 0 || size > pooled_max {
                let (buffer, _) = sink::memory::download(&self, plan, first, BytesMut::new()).await?;
                return Ok(buffer.freeze());
            }
            // The pool may make the download wait: the first answer must not hold its request
            // slot meanwhile (memory first, then a slot, so no wait can close a cycle).
            let mut first = first;
            first.answer.body.release_slot();
            let mut pooled = pool.acquire(size as usize).await?;
            let storage = pooled.take_storage();
            let (filled, _) = sink::memory::download(&self, plan, first, storage).await?;
            pooled.restore_storage(filled, size as usize);
            Ok(pooled.freeze())
        })
        .await
    }

    /// Downloads into `buffer`, reusing its memory: the buffer is cut or extended to the object's
    /// size and filled with the object (bytes it held before are overwritten, not zeroed first). A caller that passes the same buffer back for each download (after dropping any
    /// clones) allocates no payload memory once the buffer is large enough.
    pub async fn into_buffer(self, buffer: BytesMut) -> Result<(BytesMut, DownloadOutput)> {
        self.transfer.validate()?;
        let cancel = self.cancel.clone().map(|token| (token, self.context()));
        with_cancel(cancel, async {
            let (plan, first) = Plan::make(&self).await?;
            sink::memory::download(&self, plan, first, buffer).await
        })
        .await
    }

    /// Downloads into memory the caller provides once the object's size is known: `make(size)`
    /// returns the destination, and the object is written in place into the first `size` bytes
    /// of its `as_mut()` slice, with no buffer in between. This is for memory that is not a
    /// `BytesMut`: a buffer lent by another runtime (a Python `bytearray` or NumPy array, kept by
    /// the value `make` returns) or allocated by it at the right size (a Python `bytes`).
    ///
    /// `make` is called once, after the first answer, before any byte is written; a destination
    /// shorter than the object fails the download with [`Error::BufferTooSmall`]. The value is
    /// handed back when the download succeeds. When it fails or is dropped, the value is dropped
    /// once the last worker has let go of it (a worker may still be writing into it when the
    /// download's future returns): its bytes are then unspecified.
    pub async fn into_memory<B, F>(self, make: F) -> Result<(B, DownloadOutput)>
    where
        B: AsMut<[u8]> + Send + 'static,
        F: FnOnce(u64) -> B + Send,
    {
        self.transfer.validate()?;
        let cancel = self.cancel.clone().map(|token| (token, self.context()));
        with_cancel(cancel, async {
            let (plan, first) = Plan::make(&self).await?;
            let buffer = make(plan.size);
            sink::memory::download_lent(&self, plan, first, buffer).await
        })
        .await
    }

    /// Downloads into `writer` in order (stdout in the CLI). Parts may arrive out of order; they
    /// wait in pooled buffers, at most the memory limit's worth, and a part is not requested until
    /// the reordering window has room for it. When the head-of-line part is still missing
    /// three times the typical part time (at least 100 ms) after it became the head, it is
    /// requested again (up to twice); the first
    /// answer wins and the other requests are dropped, so one slow connection cannot stall the
    /// stream. One part of the memory limit is kept for that second request.
    pub async fn to_writer<W: AsyncWrite + Unpin + Send>(self, writer: W) -> Result<DownloadOutput> {
        self.transfer.validate()?;
        let cancel = self.cancel.clone().map(|token| (token, self.context()));
        with_cancel(cancel, async {
            let (plan, first) = Plan::make(&self).await?;
            sink::stream::download(&self, plan, first, sink::stream::AsyncOutput(writer)).await
        })
        .await
    }

    /// [`to_writer`](Self::to_writer) for a blocking [`std::io::Write`] (stdout, a pipe, a
    /// socket): its writes run on a thread of tokio's blocking pool, straight from the pooled
    /// part buffers, so no byte is copied on the way and a slow reader never blocks the runtime.
    /// (`tokio::io::stdout()` copies every write into a buffer of its own first.)
    pub async fn to_blocking_writer<W: std::io::Write + Send + 'static>(self, writer: W) -> Result<DownloadOutput> {
        self.transfer.validate()?;
        let cancel = self.cancel.clone().map(|token| (token, self.context()));
        with_cancel(cancel, async {
            let (plan, first) = Plan::make(&self).await?;
            sink::stream::download(&self, plan, first, sink::stream::BlockingOutput::new(writer)).await
        })
        .await
    }
}

/// Runs `work` until it ends or the token, if there is one, is cancelled (then the error names
/// the context).
async fn with_cancel<T>(
    cancel: Option<(CancellationToken, ErrorContext)>,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let Some((token, context)) = cancel else { return work.await };
    tokio::select! {
        biased;
        _ = token.cancelled() => Err(Error::cancelled(context)),
        result = work => result,
    }
}
