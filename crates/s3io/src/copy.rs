//! The server-side copy engine: one object to another within a store, its bytes never passing
//! through the client.
//!
//! [`Client::copy`] returns a [`ServerCopy`] builder with per-transfer overrides; awaiting it (or
//! its [`run`](ServerCopy::run)) performs the copy:
//!
//! - **Planning**: a HeadObject of the source gives its size, ETag, content type and user
//!   metadata. Objects up to the multipart threshold (by default [`MAX_COPY_OBJECT_SIZE`], S3's
//!   CopyObject limit of 5 GiB) are copied with one CopyObject, which copies the metadata itself
//!   (S3's default `COPY` directive). Larger ones are a multipart copy whose parts are laid out by
//!   the upload planner: [`DEFAULT_COPY_PART_SIZE`] (or the configured part size), grown so that no
//!   copy needs more than 10,000 parts.
//! - **Pinning**: every CopyObject and UploadPartCopy carries `x-amz-copy-source-if-match` with
//!   the ETag the HEAD saw, so a source replaced during the copy fails with an error that says so
//!   instead of producing an object that mixes two versions.
//! - **Workers**: a multipart copy runs `concurrency` workers, joined in the caller's task, that
//!   take part numbers from a shared counter and send UploadPartCopy for each part's byte range;
//!   the first error stops them all. CreateMultipartUpload carries the source's Content-Type,
//!   Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires and user
//!   metadata, as CopyObject would have copied them (tags, ACLs and the storage class are not
//!   carried over; CopyObject does not keep the storage class either).
//! - **Integrity**: when the source carries a full-object CRC64NVME, the multipart upload asks for
//!   CRC64NVME part checksums (S3 computes them for copied parts); their combination must equal
//!   the source's before the upload is completed, and the new object keeps that checksum.
//! - **Cleanup**: a multipart copy that fails, is cancelled, or whose future is dropped is
//!   aborted by the upload engine's guard, so no parts stay stored
//!   ([`Error::UploadAborted`](crate::Error::UploadAborted) says so).
//!
//! Every request goes through the client's retry layer, and a 200 answer whose body is an error
//! document (S3 sends those for copies that fail late) is an error like any other.
//!
//! ```no_run
//! # async fn demo(client: s3io::Client) -> s3io::Result<()> {
//! let output = client.copy("photos", "2026/cat.jpg", "archive", "photos/2026/cat.jpg").concurrency(16).await?;
//! println!("{} bytes in {} parts, ETag {:?}", output.size, output.parts, output.etag);
//! # Ok(())
//! # }
//! ```

use std::future::{Future, IntoFuture};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::checksum::ChecksumValue;
use crate::client::Client;
use crate::config::{ChecksumAlgorithm, ChecksumMode, TransferConfig, DEFAULT_CONCURRENCY, MAX_UPLOAD_PART_SIZE, MIB};
use crate::error::{Error, ErrorContext, Operation, Result, ServiceError};
use crate::progress::Progress;
use crate::s3::multipart::CompletedPart;
use crate::s3::object::{
    ByteRange, CopyProperties, CopySource, HeadObjectOptions, ObjectInfo, PutObjectOutput, SseCustomerKey,
};
use crate::upload::plan::{plan, PartLayout, UploadPlan};
use crate::upload::run::{combined_checksum, AbortOnDrop, PartDone, PendingCreate};

/// S3's largest CopyObject source, 5 GiB: the default multipart threshold of copies and the
/// largest one allowed.
pub const MAX_COPY_OBJECT_SIZE: u64 = MAX_UPLOAD_PART_SIZE;

/// Default part size of multipart copies: 64 MiB. No bytes pass through the client, so larger
/// parts cost no memory and save requests; 64 MiB still cuts the smallest multipart copy
/// (just over 5 GiB) into 81 parts, enough to keep many parts in flight.
pub const DEFAULT_COPY_PART_SIZE: u64 = 64 * MIB;

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyOutput {
    /// Bytes copied (the source's size).
    pub size: u64,
    /// The new object's ETag, as the store sent it (`"…-N"` for multipart copies).
    pub etag: Option<String>,
    /// Parts of the multipart copy; 0 when the object was copied with one CopyObject.
    pub parts: u32,
    /// The source's ETag the copy was pinned to.
    pub source_etag: Option<String>,
    /// The new object's version id, on versioned buckets (CopyObject answers only).
    pub version_id: Option<String>,
    /// The full-object CRC64NVME of a multipart copy, combined from the part checksums the store
    /// computed and checked against the source's; `None` for single copies and for sources
    /// without a full-object CRC64NVME.
    pub checksum: Option<ChecksumValue>,
}

/// One server-side copy, configured by its setters and run by awaiting it (or [`run`](Self::run)).
///
/// Settings not overridden come from the client's [`TransferConfig`] (concurrency) or from this
/// module's defaults (part size, threshold).
#[derive(Debug, Clone)]
#[must_use = "a copy does nothing until it is awaited"]
pub struct ServerCopy {
    client: Client,
    source_bucket: String,
    source_key: String,
    bucket: String,
    key: String,
    part_size: u64,
    /// Pinned, or `None`: [`DEFAULT_CONCURRENCY`] workers (a server-side copy moves no bytes
    /// through the client, so the client's throughput says nothing about how many to run).
    concurrency: Option<usize>,
    multipart_threshold: u64,
    checksum_mode: ChecksumMode,
    cancel: CancellationToken,
    progress: Option<Arc<Progress>>,
    properties: CopyProperties,
    /// Copy only where no object is (see [`ServerCopy::no_overwrite`]).
    no_overwrite: bool,
    /// The source's SSE-C key, if it has one.
    source_sse_customer_key: Option<SseCustomerKey>,
    /// The version of the source to copy, if not the latest.
    source_version_id: Option<String>,
}

impl Client {
    /// A server-side copy of `source_bucket`/`source_key` to `bucket`/`key` (the buckets may
    /// differ, within this client's store), with the client's concurrency.
    pub fn copy(
        &self,
        source_bucket: impl Into<String>,
        source_key: impl Into<String>,
        bucket: impl Into<String>,
        key: impl Into<String>,
    ) -> ServerCopy {
        ServerCopy {
            client: self.clone(),
            source_bucket: source_bucket.into(),
            source_key: source_key.into(),
            bucket: bucket.into(),
            key: key.into(),
            part_size: DEFAULT_COPY_PART_SIZE,
            concurrency: self.config().transfer.concurrency,
            multipart_threshold: MAX_COPY_OBJECT_SIZE,
            checksum_mode: self.config().transfer.checksum_mode,
            cancel: CancellationToken::new(),
            progress: None,
            properties: CopyProperties::default(),
            no_overwrite: false,
            source_sse_customer_key: None,
            source_version_id: None,
        }
    }
}

impl ServerCopy {
    /// Bytes per part of a multipart copy (5 MiB to 5 GiB; grown automatically to stay within
    /// 10,000 parts). By default [`DEFAULT_COPY_PART_SIZE`].
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Parts copied at once. By default the client's pinned [`TransferConfig::concurrency`], or
    /// [`DEFAULT_CONCURRENCY`] when it adapts.
    pub fn concurrency(mut self, parts: usize) -> Self {
        self.concurrency = Some(parts);
        self
    }

    /// Sources at most this large are copied with one CopyObject, larger ones part by part (at
    /// most [`MAX_COPY_OBJECT_SIZE`], the largest CopyObject S3 accepts). By default
    /// [`MAX_COPY_OBJECT_SIZE`].
    pub fn multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// Whether a multipart copy of a source with a full-object CRC64NVME asks the store for part
    /// checksums and checks their combination against the source's (and gives the new object the
    /// same checksum, as CopyObject would). A store that computes no checksums for copied parts
    /// may refuse the completion of such an upload; [`ChecksumMode::WhenRequired`] leaves part
    /// checksums out for it. By default the client's [`TransferConfig::checksum_mode`]
    /// ([`ChecksumMode::WhenSupported`]: yes).
    pub fn checksum_mode(mut self, mode: ChecksumMode) -> Self {
        self.checksum_mode = mode;
        self
    }

    /// Cancels the copy when this token is cancelled (a multipart copy is aborted). By default a
    /// token nobody cancels; dropping the copy's future cancels it too.
    pub fn cancel_token(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// Counts bytes into `progress` as parts are copied (a part counts when its request
    /// succeeds) and adds the source's size to its total. By default none.
    pub fn progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// What the new object gets: by default the source's metadata and headers, nothing else
    /// (see [`CopyProperties`]).
    pub fn properties(mut self, properties: CopyProperties) -> Self {
        self.properties = properties;
        self
    }

    /// Never replaces an object: the CopyObject (or a multipart copy's CompleteMultipartUpload)
    /// carries `If-None-Match: *`, so a store that finds the destination holding an object refuses
    /// the copy, and a multipart copy first checks the destination with a HeadObject. Either way
    /// the copy fails with a 412 error ([`Error::is_precondition_failed`]) saying the destination
    /// exists; a multipart copy refused at completion is aborted. By default `false`.
    pub fn no_overwrite(mut self, no_overwrite: bool) -> Self {
        self.no_overwrite = no_overwrite;
        self
    }

    /// The customer-provided key the source was stored with (SSE-C), sent as
    /// `x-amz-copy-source-server-side-encryption-customer-*` on the source's HEAD, CopyObject and
    /// every UploadPartCopy. By default none. The new object's own SSE-C key is in the
    /// [`properties`](Self::properties)' options.
    pub fn source_sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.source_sse_customer_key = Some(key);
        self
    }

    /// Copies this version of the source. By default the latest.
    pub fn source_version_id(mut self, version_id: impl Into<String>) -> Self {
        self.source_version_id = Some(version_id.into());
        self
    }

    /// Runs the copy (the same as awaiting the builder).
    pub async fn run(self) -> Result<CopyOutput> {
        self.validate()?;
        let options = HeadObjectOptions {
            sse_customer_key: self.source_sse_customer_key.clone(),
            version_id: self.source_version_id.clone(),
        };
        let head =
            self.cancellable(self.client.head_object_with(&self.source_bucket, &self.source_key, &options)).await?;
        if let Some(progress) = &self.progress {
            progress.add_total(head.content_length);
        }
        match self.plan(head.content_length)? {
            UploadPlan::Single { size } => self.copy_whole(&head, size).await,
            UploadPlan::Multipart(layout) => self.copy_parts(&head, layout).await,
        }
    }

    /// One CopyObject or a multipart copy, for a source of `size` bytes: the upload planner with
    /// this copy's threshold and part size.
    fn plan(&self, size: u64) -> Result<UploadPlan> {
        let config = TransferConfig {
            part_size: self.part_size,
            multipart_threshold: Some(self.multipart_threshold),
            ..TransferConfig::default()
        };
        plan(size, &config)
    }

    fn validate(&self) -> Result<()> {
        if [&self.source_bucket, &self.source_key, &self.bucket, &self.key].iter().any(|s| s.is_empty()) {
            return Err(Error::InvalidConfig(format!(
                "a copy needs source and destination buckets and keys, got s3://{}/{} to s3://{}/{}",
                self.source_bucket, self.source_key, self.bucket, self.key
            )));
        }
        if self.concurrency == Some(0) {
            return Err(Error::InvalidConfig("concurrency must be at least 1".into()));
        }
        if self.multipart_threshold > MAX_COPY_OBJECT_SIZE {
            return Err(Error::InvalidConfig(format!(
                "copy multipart threshold {} is above S3's CopyObject limit of {MAX_COPY_OBJECT_SIZE} bytes (5 GiB)",
                self.multipart_threshold
            )));
        }
        Ok(())
    }

    fn context(&self) -> ErrorContext {
        ErrorContext::new(Operation::Copy, &self.bucket, Some(&self.key))
    }

    /// The source, pinned to `etag` when the store reported one.
    fn source<'a>(&'a self, etag: Option<&'a str>) -> CopySource<'a> {
        CopySource {
            bucket: &self.source_bucket,
            key: &self.source_key,
            if_match: etag,
            sse_customer_key: self.source_sse_customer_key.as_ref(),
            version_id: self.source_version_id.as_deref(),
        }
    }

    /// Runs `work` unless the caller's token is cancelled first.
    async fn cancellable<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Error::cancelled(self.context())),
            result = work => result,
        }
    }

    fn record_progress(&self, bytes: u64) {
        if let Some(progress) = &self.progress {
            progress.add(bytes);
        }
    }

    /// One CopyObject of the whole source.
    async fn copy_whole(&self, head: &ObjectInfo, size: u64) -> Result<CopyOutput> {
        let etag = head.etag.as_deref();
        let mut retry = crate::retry::RetryContext::new();
        let copy = self.client.copy_object_if(
            self.source(etag),
            &self.bucket,
            &self.key,
            &self.properties,
            self.no_overwrite,
            &mut retry,
        );
        let output = match self.cancellable(copy).await {
            Ok(output) => output,
            // A retried conditional copy refused: an earlier attempt may have copied and lost its
            // answer. It did if the destination holds the source's content.
            Err(error) if self.no_overwrite && error.is_precondition_failed() && retry.attempts() > 1 => {
                match self.copied_by_earlier_attempt(head).await {
                    Some(copied) => PutObjectOutput { etag: copied.etag, version_id: copied.version_id },
                    None => {
                        let context = self.context();
                        crate::overwrite::require_absent(&self.client, &self.bucket, &self.key, context).await?;
                        return Err(self.explain_source_error(error, etag));
                    }
                }
            }
            // Either precondition may have failed: the source's ETag pin or the destination's
            // absence. The destination says which.
            Err(error) if self.no_overwrite && error.is_precondition_failed() => {
                let context = self.context();
                crate::overwrite::require_absent(&self.client, &self.bucket, &self.key, context).await?;
                return Err(self.explain_source_error(error, etag));
            }
            Err(error) => return Err(self.explain_source_error(error, etag)),
        };
        self.record_progress(size);
        Ok(CopyOutput {
            size,
            etag: output.etag,
            parts: 0,
            source_etag: head.etag.clone(),
            version_id: output.version_id,
            checksum: None,
        })
    }

    /// After a retried conditional CopyObject was refused (412): the destination if it holds the
    /// source's content (a full-object checksum of the source's, or the source's ETag when that
    /// is an MD5: a single-part, unencrypted source), `None` if it does not or that cannot be
    /// told.
    async fn copied_by_earlier_attempt(&self, source: &ObjectInfo) -> Option<ObjectInfo> {
        let mut options = HeadObjectOptions::default();
        options.sse_customer_key = self.properties.options.sse_customer_key.clone();
        let copied = self.client.head_object_with(&self.bucket, &self.key, &options).await.ok()?;
        tracing::debug!(bucket = self.bucket, key = self.key, "a retried conditional CopyObject was refused");
        let full_object = |c: &&ChecksumValue| !c.value.contains('-');
        let same_checksum = source.checksums.iter().filter(full_object).any(|c| copied.checksums.contains(c));
        let md5_etag = source.etag.as_deref().is_some_and(|e| !e.contains('-'))
            && source.sse_customer_algorithm.is_none()
            && copied.sse_customer_algorithm.is_none();
        let same_etag = md5_etag && copied.etag == source.etag;
        (copied.content_length == source.content_length && (same_checksum || same_etag)).then_some(copied)
    }

    /// A multipart copy: create the upload with the source's content headers and metadata, copy the
    /// parts on `concurrency` workers, complete — or abort if anything fails or is cancelled.
    /// When the source has a full-object CRC64NVME, the upload asks for part checksums and their
    /// combination must equal it before the upload is completed (with that checksum).
    async fn copy_parts(&self, head: &ObjectInfo, layout: PartLayout) -> Result<CopyOutput> {
        // CreateMultipartUpload copies no tags: the source's are read and set, when wanted.
        let wants_tags = self.properties.copy_tags && self.properties.options.tagging.is_none();
        let source_tags = match head.tag_count {
            Some(count) if count > 0 && wants_tags => {
                let tags = self.client.get_object_tagging(&self.source_bucket, &self.source_key);
                crate::s3::tagging::tagging_header(&self.cancellable(tags).await?)
            }
            _ => None,
        };
        let options = self.properties.for_multipart(head, source_tags);
        let expected = match self.checksum_mode {
            ChecksumMode::WhenSupported => {
                head.checksums.iter().find(|c| c.algorithm == ChecksumAlgorithm::Crc64Nvme).cloned()
            }
            ChecksumMode::WhenRequired => None,
        };
        let algorithm = expected.as_ref().map(|c| c.algorithm);
        if self.no_overwrite {
            // Before any part is copied; the completion checks again, atomically.
            let head = crate::overwrite::require_absent(&self.client, &self.bucket, &self.key, self.context());
            self.cancellable(head).await?;
        }
        if self.cancel.is_cancelled() {
            return Err(Error::cancelled(self.context()));
        }
        // Not cancellable once sent: a cancelled copy waits for the id, then aborts the upload.
        let upload_id = PendingCreate::start(&self.client, &self.bucket, &self.key, &options, algorithm).id().await?;
        let guard = AbortOnDrop::new(&self.client, &self.bucket, &self.key, &upload_id);
        let etag = head.etag.as_deref();
        let run = async {
            let next = AtomicU32::new(1);
            let worker = || async {
                let mut done = Vec::new();
                loop {
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    if number > layout.parts {
                        return Ok::<_, Error>(done);
                    }
                    let (offset, len) = layout.range(number);
                    let range = ByteRange::inclusive(offset, offset + len - 1);
                    let source = self.source(etag);
                    let sse_key = options.sse_customer_key.as_ref();
                    let copied = self
                        .client
                        .upload_part_copy_with(
                            source,
                            Some(range),
                            &self.bucket,
                            &self.key,
                            &upload_id,
                            number,
                            sse_key,
                        )
                        .await
                        .map_err(|e| self.explain_source_error(e, etag))?;
                    self.record_progress(len);
                    let mut part = copied.part;
                    part.checksum = copied.checksums.into_iter().find(|c| Some(c.algorithm) == algorithm);
                    done.push(PartDone { part, len });
                }
            };
            let workers = self.concurrency.unwrap_or(DEFAULT_CONCURRENCY).min(layout.parts as usize).max(1);
            let mut parts: Vec<PartDone> =
                futures::future::try_join_all((0..workers).map(|_| worker())).await?.into_iter().flatten().collect();
            parts.sort_unstable_by_key(|p| p.part.part_number);
            let checksum = combined_checksum(&parts, &self.context())?;
            if let (Some(expected), Some(computed)) = (&expected, &checksum) {
                if expected != computed {
                    return Err(Error::ChecksumMismatch {
                        context: Box::new(self.context()),
                        algorithm: "CRC64NVME",
                        expected: expected.value.clone(),
                        computed: computed.value.clone(),
                    });
                }
            }
            let parts: Vec<CompletedPart> = parts.into_iter().map(|p| p.part).collect();
            let sse_key = options.sse_customer_key.as_ref();
            let output = self
                .client
                .complete_multipart_upload_if(
                    &self.bucket,
                    &self.key,
                    &upload_id,
                    &parts,
                    checksum.as_ref(),
                    sse_key,
                    self.no_overwrite,
                )
                .await?;
            Ok(CopyOutput {
                size: layout.size,
                etag: output.etag,
                parts: layout.parts,
                source_etag: head.etag.clone(),
                version_id: None,
                checksum,
            })
        };
        guard.finish(self.cancellable(run)).await
    }

    /// Says what a 412 or a NoSuchKey answer to a copy request means: the source changed or
    /// vanished after the HEAD (the error's context names the destination; the message names the
    /// source).
    fn explain_source_error(&self, error: Error, etag: Option<&str>) -> Error {
        let Error::Service { context, error: service } = error else { return error };
        let source = format!("s3://{}/{}", self.source_bucket, self.source_key);
        let message = match (service.status, service.code.as_str()) {
            (412, _) => format!(
                "the source {source} changed during the copy (its ETag is no longer {})",
                etag.unwrap_or("the one first seen")
            ),
            (_, "NoSuchKey") => format!("the source {source} does not exist (deleted during the copy?)"),
            _ => return Error::Service { context, error: service },
        };
        Error::Service { context, error: Box::new(ServiceError { message: Some(message), ..*service }) }
    }
}

impl IntoFuture for ServerCopy {
    type Output = Result<CopyOutput>;
    type IntoFuture = futures::future::BoxFuture<'static, Result<CopyOutput>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn client() -> Client {
        Client::builder()
            .endpoint("http://127.0.0.1:1")
            .credentials(crate::CredentialsSource::static_keys("k", "s"))
            .build()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn rejects_bad_settings_before_any_request() {
        let client = client().await;
        let err = client.copy("", "k", "b", "k").run().await.unwrap_err();
        assert!(err.to_string().contains("needs source and destination"), "{err}");
        let err = client.copy("a", "k", "b", "k").concurrency(0).run().await.unwrap_err();
        assert!(err.to_string().contains("concurrency"), "{err}");
        let err =
            client.copy("a", "k", "b", "k").multipart_threshold(MAX_COPY_OBJECT_SIZE + 1).run().await.unwrap_err();
        assert!(err.to_string().contains("CopyObject limit"), "{err}");
    }

    #[tokio::test]
    async fn one_copy_object_up_to_5_gib_then_parts_of_64_mib_grown_for_huge_sources() {
        let copy = client().await.copy("a", "k", "b", "k");
        assert_eq!(copy.plan(MAX_COPY_OBJECT_SIZE).unwrap(), UploadPlan::Single { size: MAX_COPY_OBJECT_SIZE });
        let UploadPlan::Multipart(layout) = copy.plan(MAX_COPY_OBJECT_SIZE + 1).unwrap() else { panic!() };
        assert_eq!((layout.part_size, layout.parts), (DEFAULT_COPY_PART_SIZE, 81));
        let UploadPlan::Multipart(layout) = copy.plan(crate::config::MAX_OBJECT_SIZE).unwrap() else { panic!() };
        assert_eq!((layout.part_size, layout.parts), (525 * MIB, 9987));
        let copy = copy.multipart_threshold(5 * MIB).part_size(5 * MIB);
        let UploadPlan::Multipart(layout) = copy.plan(12 * MIB).unwrap() else { panic!() };
        assert_eq!((layout.part_size, layout.parts, layout.range(3)), (5 * MIB, 3, (10 * MIB, 2 * MIB)));
        let err = copy.part_size(MIB).plan(12 * MIB).unwrap_err();
        assert!(err.to_string().contains("below S3's minimum"), "{err}");
    }

    #[tokio::test]
    async fn explains_precondition_failures_and_missing_sources() {
        let client = client().await;
        let copy = client.copy("src", "a b", "dst", "k");
        let service = |status, code: &str| {
            Error::service(
                ErrorContext::new(Operation::UploadPartCopy, "dst", Some("k")),
                ServiceError { status, code: code.into(), message: None, request_id: Some("id".into()) },
            )
        };
        let err = copy.explain_source_error(service(412, "PreconditionFailed"), Some("\"e\""));
        assert_eq!(
            err.to_string(),
            "UploadPartCopy s3://dst/k failed: PreconditionFailed (HTTP 412): the source s3://src/a b changed \
             during the copy (its ETag is no longer \"e\") [request id id]"
        );
        let err = copy.explain_source_error(service(404, "NoSuchKey"), None);
        assert!(err.to_string().contains("the source s3://src/a b does not exist"), "{err}");
        assert!(err.is_not_found());
        let err = copy.explain_source_error(service(503, "SlowDown"), None);
        assert_eq!(err.service_error().unwrap().message, None);
    }
}
