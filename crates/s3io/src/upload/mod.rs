//! The upload engine: local files, memory and streams to S3, in parallel parts with checksums.
//!
//! [`Client::upload`] returns an [`Upload`] builder with per-transfer overrides; its
//! [`from_file`](Upload::from_file), [`from_bytes`](Upload::from_bytes) and
//! [`from_reader`](Upload::from_reader) run the transfer:
//!
//! - **Planning** (`plan`): objects up to the multipart threshold (by default the part size) go
//!   as one PutObject; larger ones as a multipart upload, the part size grown so that no upload
//!   needs more than 10,000 parts. A part size under S3's 5 MiB minimum is rejected up front.
//! - **Run** (`run`): `concurrency` workers, joined in the caller's task, run one loop over a
//!   part source; each owns its scratch state. The multipart upload's life cycle (create,
//!   complete, abort) lives there too.
//! - **Sources** (`source`): a file part streams from disk through small pooled chunks and is
//!   re-read for a retry (`source/file`); a `Bytes` part is a zero-copy slice (`source/bytes`); a
//!   stream is read part by part into pooled buffers, never more than the memory limit at once
//!   (`source/stream`).
//! - **Integrity**: every request carries a checksum of its body (CRC64NVME by default, CRC32C,
//!   CRC32, SHA-256, SHA-1, or Content-MD5) unless [`ChecksumMode::WhenRequired`]; a multipart
//!   upload's full-object CRC is combined from the part CRCs, sent with
//!   CompleteMultipartUpload (CRC64NVME) and returned in [`UploadOutput::checksum`]; a SHA
//!   upload's composite checksum is computed from the part checksums and checked against the
//!   store's.
//! - **Cleanup**: a multipart upload that fails for good, is cancelled, or whose future is
//!   dropped is aborted ([`Error::UploadAborted`](crate::Error::UploadAborted) says so);
//!   [`Client::abort_stale_uploads`] sweeps up after clients that died (`stale`).
//!
//! ```no_run
//! # async fn demo(client: s3io::Client) -> s3io::Result<()> {
//! let progress = std::sync::Arc::new(s3io::Progress::new());
//! let output = client
//!     .upload("bucket", "backups/db.tar")
//!     .concurrency(16)
//!     .progress(progress.clone())
//!     .from_file("/var/backups/db.tar")
//!     .await?;
//! println!("{} bytes in {} parts, {:?}", output.size, output.parts, output.checksum);
//! # Ok(())
//! # }
//! ```

pub(crate) mod plan;
mod resume;
pub(crate) mod run;
mod source;
mod stale;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncRead;
use tokio_util::sync::CancellationToken;

use self::plan::UploadPlan;
use self::run::sent_checksum;
use self::source::{bytes_checksum, BytesSource, FileBody, FileSource, PartBody, SharedFile};
use crate::checksum::ChecksumValue;
use crate::client::Client;
use crate::config::{ChecksumAlgorithm, ChecksumMode, TransferConfig};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::s3::object::PutObjectOptions;

pub use self::plan::MAX_OBJECT_SIZE;

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOutput {
    /// Bytes uploaded.
    pub size: u64,
    /// The new object's ETag, as the store sent it (`"…-N"` for multipart objects).
    pub etag: Option<String>,
    /// Parts of the multipart upload; 0 when the object went as one PutObject.
    pub parts: u32,
    /// The object's checksum computed by the client, `None` for MD5 and in when-required mode:
    /// the full-object CRC (CRC64NVME, CRC32C, CRC32: combined from the parts for multipart
    /// uploads), or the SHA-256/SHA-1 of the bytes, or for a multipart SHA upload S3's composite
    /// checksum (`…-N`, a checksum of the part checksums). For CRC64NVME it is also what the
    /// store was told to verify and keep; for the composite algorithms, the store's value was
    /// checked against the client's.
    pub checksum: Option<ChecksumValue>,
    /// The version id, on versioned buckets (PutObject answers only).
    pub version_id: Option<String>,
    /// Bytes of parts an unfinished upload of the key already held (checked against the file)
    /// and that were not sent again (see [`Upload::resume`]); 0 otherwise.
    pub resumed_bytes: u64,
}

/// One upload, configured by its setters and run by `from_file`, `from_bytes` or `from_reader`.
///
/// Settings not overridden come from the client's [`TransferConfig`].
#[derive(Debug, Clone)]
#[must_use = "an upload does nothing until one of its `from_*` methods is awaited"]
pub struct Upload {
    client: Client,
    bucket: String,
    key: String,
    config: TransferConfig,
    options: PutObjectOptions,
    cancel: Option<CancellationToken>,
    progress: Option<Arc<Progress>>,
    /// Write only where no object is (see [`Upload::no_overwrite`]).
    no_overwrite: bool,
}

impl Client {
    /// An upload to `bucket`/`key`, with the client's transfer settings.
    pub fn upload(&self, bucket: impl Into<String>, key: impl Into<String>) -> Upload {
        Upload {
            client: self.clone(),
            bucket: bucket.into(),
            key: key.into(),
            config: self.config().transfer.clone(),
            options: PutObjectOptions::default(),
            cancel: None,
            progress: None,
            no_overwrite: false,
        }
    }
}

impl Upload {
    /// Bytes per part of a multipart upload (at least 5 MiB; grown automatically to stay within
    /// 10,000 parts for sources of known size). By default the client's part size.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.config.part_size = bytes;
        self
    }

    /// Parts in flight at once. By default the client's concurrency.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.config.concurrency = Some(concurrency);
        self
    }

    /// Most payload bytes this upload holds in memory at once (streams only, whose parts in
    /// flight it bounds; files and `Bytes` need no part buffers); the client's shared pool cap
    /// applies too. By default the client's [`TransferConfig::upload_stream_buffer`] within its
    /// [`TransferConfig::memory_limit`].
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.config.memory_limit = bytes;
        self.config.upload_stream_buffer = bytes;
        self
    }

    /// Objects at most this large go as one PutObject (for streams, the part size is the
    /// threshold). By default the client's threshold (the part size unless set).
    pub fn multipart_threshold(mut self, bytes: u64) -> Self {
        self.config.multipart_threshold = Some(bytes);
        self
    }

    /// Whether checksums are sent. By default the client's mode ([`ChecksumMode::WhenSupported`]).
    pub fn checksum_mode(mut self, mode: ChecksumMode) -> Self {
        self.config.checksum_mode = mode;
        self
    }

    /// The checksum algorithm. By default the client's ([`ChecksumAlgorithm::Crc64Nvme`]).
    pub fn checksum_algorithm(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.config.checksum_algorithm = algorithm;
        self
    }

    /// Content type, metadata, storage class and server-side encryption of the new object (its
    /// `checksum` field is ignored: the upload computes its own). By default none.
    pub fn options(mut self, options: PutObjectOptions) -> Self {
        self.options = options;
        self
    }

    /// Makes a multipart upload from a file ([`Upload::from_file`]) pick up the key's newest
    /// unfinished multipart upload (one a killed run left): its parts whose size and stored
    /// checksum (CRC64NVME or CRC32C as the upload's algorithm, else the ETag as an MD5) match the
    /// file's bytes, read and hashed again for this, are kept, and only the other parts are sent.
    /// An unfinished upload none of whose parts fit is aborted. Failures and cancellations still
    /// abort the upload, resumed or not. By default the client's [`TransferConfig::resume`]
    /// (`false`). Uploads from memory or streams ignore it.
    pub fn resume(mut self, resume: bool) -> Self {
        self.config.resume = resume;
        self
    }

    /// A token that cancels the upload (its multipart upload is aborted). By default none;
    /// dropping the upload's future cancels it too.
    pub fn cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Counters of bytes uploaded and the total, readable from another task while the upload
    /// runs. A part counts when its request succeeds. By default none.
    pub fn progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Never replaces an object: the PutObject (or CompleteMultipartUpload) carries
    /// `If-None-Match: *`, so a store that finds the key holding an object refuses the write, and
    /// a multipart upload first checks the key with a HeadObject (so that no part is sent for
    /// nothing). Either way the upload fails with a 412 error
    /// ([`Error::is_precondition_failed`]); a multipart upload refused at completion is aborted.
    /// Stores without conditional writes answer 501 NotImplemented, or ignore the header and
    /// overwrite. By default `false`.
    pub fn no_overwrite(mut self, no_overwrite: bool) -> Self {
        self.no_overwrite = no_overwrite;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.bucket.is_empty() || self.key.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "an upload needs a bucket and a key, got s3://{}/{}",
                self.bucket, self.key
            )));
        }
        self.config.validate()
    }

    /// Uploads `data` (parts are zero-copy slices of it).
    pub async fn from_bytes(self, data: Bytes) -> Result<UploadOutput> {
        self.validate()?;
        self.upload_bytes(data).await
    }

    async fn upload_bytes(&self, data: Bytes) -> Result<UploadOutput> {
        self.check_cancelled()?;
        let size = data.len() as u64;
        if let Some(progress) = &self.progress {
            progress.add_total(size);
        }
        match plan::plan(size, &self.config)? {
            UploadPlan::Single { .. } => {
                let checksum = match self.algorithm() {
                    Some(algorithm) => Some(bytes_checksum(algorithm, data.clone(), &self.context()).await?),
                    None => None,
                };
                self.put(PartBody::Bytes(data), size, checksum).await
            }
            UploadPlan::Multipart(layout) => {
                let workers = self.client.transfer_workers(self.config.concurrency).min(layout.parts as usize);
                let source = &BytesSource::new(data, layout);
                self.multipart(|upload_id| async move { self.upload_parts(&upload_id, source, workers).await }).await
            }
        }
    }

    /// Uploads the file at `path`, reading parts positionally on the blocking pool; no part is
    /// held in memory whole.
    pub async fn from_file(self, path: impl AsRef<Path>) -> Result<UploadOutput> {
        self.validate()?;
        self.check_cancelled()?;
        let path: Arc<Path> = path.as_ref().into();
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(&path)?;
                let metadata = file.metadata()?;
                if metadata.is_dir() {
                    return Err(std::io::Error::other("is a directory"));
                }
                Ok((file, metadata.len()))
            })
            .await
        };
        let (file, size) = opened
            .map_err(std::io::Error::other)
            .and_then(|r| r)
            .map_err(|e| Error::io(self.context(), "opening", &*path, e))?;
        if let Some(progress) = &self.progress {
            progress.add_total(size);
        }
        let file = SharedFile { file: Arc::new(file), path };
        match plan::plan(size, &self.config)? {
            UploadPlan::Single { size: 0 } => self.upload_bytes(Bytes::new()).await,
            UploadPlan::Single { size } => {
                let FileBody { body, header, trailer } = self.file_body(&file, 0, size, &mut Vec::new()).await?;
                let mut output = self.put(body, size, header.clone()).await?;
                output.checksum = sent_checksum(header, trailer.as_ref(), &self.context())?
                    .filter(|c| c.algorithm != ChecksumAlgorithm::Md5);
                Ok(output)
            }
            UploadPlan::Multipart(layout) => {
                let resumed = match self.config.resume {
                    true => self.find_resumable(&file, &layout).await?,
                    false => None,
                };
                let skip = resumed.as_ref().map(|r| r.skip(layout.parts)).unwrap_or_default();
                let workers = self.client.transfer_workers(self.config.concurrency).min(layout.parts as usize);
                let (this, source) = (&self, &FileSource::resuming(file, layout, skip));
                self.multipart_resuming(resumed, |upload_id| async move {
                    this.upload_parts(&upload_id, source, workers).await
                })
                .await
            }
        }
    }

    /// Uploads everything `reader` yields, a stream of unknown length, read part by part into
    /// pooled buffers (never more than the memory limit at once). A stream that ends within the
    /// first part goes as one PutObject. Streams longer than 10,000 parts fail: raise the part
    /// size for them.
    pub async fn from_reader<R: AsyncRead + Unpin + Send>(self, reader: R) -> Result<UploadOutput> {
        self.validate()?;
        self.upload_stream(reader).await
    }
}
