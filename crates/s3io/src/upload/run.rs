//! The upload run: PutObject and UploadPart requests, the one worker loop, and the multipart
//! upload's life cycle (create, parts, complete — or abort). The mirror of `download::run`.
//!
//! A multipart upload runs a fixed set of workers, joined in the caller's task, in one loop
//! ([`Upload::upload_parts`]) over a [`PartSource`]: each worker asks the source for its next
//! part (a file range, a slice of `Bytes`, a buffer a stream's reader filled; see `source`),
//! sends it, and records it. Each worker owns its scratch state (the file source's checksum
//! buffer) and keeps it across parts; nothing is spawned or allocated per part beyond the request
//! itself.
//!
//! Once CreateMultipartUpload has answered, the upload is aborted unless it completes: on an
//! error or a cancellation the run sends AbortMultipartUpload itself and reports the outcome in
//! [`Error::UploadAborted`]; if the whole future is dropped, an [`AbortOnDrop`] guard spawns the
//! abort on the runtime, so no parts stay stored (and billed).

use base64::Engine as _;
use http::Method;

use super::resume::Resumed;
use super::source::{PartBody, PartSource, SourcePart, Trailer};
use super::{Upload, UploadOutput};
use crate::checksum::{composite_checksum, ChecksumValue, CrcCombiner, Hasher};
use crate::client::Client;
use crate::config::ChecksumAlgorithm;
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::s3::multipart::CompletedPart;
use crate::s3::object::{ObjectInfo, PutObjectOptions};
use crate::s3::request::{header_str, S3Request};

/// The checksum a request carried (as a header or a trailer), after it succeeded.
pub(crate) fn sent_checksum(
    header: Option<ChecksumValue>,
    trailer: Option<&Trailer>,
    context: &ErrorContext,
) -> Result<Option<ChecksumValue>> {
    match trailer {
        None => Ok(header),
        Some(trailer) => match trailer.value() {
            Some(value) => Ok(Some(value)),
            None => Err(Error::invalid_response(context.clone(), "the store answered before the whole body was sent")),
        },
    }
}

/// A part uploaded, with its length (for the combined checksum).
#[derive(Debug)]
pub(crate) struct PartDone {
    pub(crate) part: CompletedPart,
    pub(crate) len: u64,
}

impl Upload {
    pub(crate) fn context(&self) -> ErrorContext {
        ErrorContext::new(Operation::Upload, &self.bucket, Some(&self.key))
    }

    /// The checksum algorithm to send, `None` in when-required mode.
    pub(crate) fn algorithm(&self) -> Option<ChecksumAlgorithm> {
        match self.config.checksum_mode {
            crate::config::ChecksumMode::WhenSupported => Some(self.config.checksum_algorithm),
            crate::config::ChecksumMode::WhenRequired => None,
        }
    }

    /// Fails with `Cancelled` if the caller's token is cancelled.
    pub(crate) fn check_cancelled(&self) -> Result<()> {
        match &self.cancel {
            Some(token) if token.is_cancelled() => Err(Error::cancelled(self.context())),
            _ => Ok(()),
        }
    }

    /// Runs `work` unless the caller's token is cancelled first.
    pub(crate) async fn cancellable<T>(&self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        match &self.cancel {
            Some(token) => tokio::select! {
                biased;
                _ = token.cancelled() => Err(Error::cancelled(self.context())),
                result = work => result,
            },
            None => work.await,
        }
    }

    fn record_progress(&self, bytes: u64) {
        if let Some(progress) = &self.progress {
            progress.add(bytes);
        }
    }

    /// One PutObject of the whole object, with `checksum` as a header.
    pub(crate) async fn put(&self, body: PartBody, size: u64, checksum: Option<ChecksumValue>) -> Result<UploadOutput> {
        let context = ErrorContext::new(Operation::PutObject, &self.bucket, Some(&self.key));
        let mut request =
            self.options.apply(S3Request::new(Method::PUT, &self.bucket, Some(&self.key), context), false)?;
        if let Some(checksum) = &checksum {
            request = request.header(checksum.algorithm.header(), &checksum.value)?;
        }
        if self.no_overwrite {
            request = request.header(crate::overwrite::IF_NONE_MATCH, crate::overwrite::ANY)?;
        }
        let request = body.attach(request)?;
        let mut retry = crate::retry::RetryContext::new();
        let sent = self.cancellable(self.client.send_for_xml_with(&request, &mut retry)).await;
        let (etag, version_id) = match sent {
            Ok((headers, _)) => {
                let header = |name| header_str(&headers, name).map(str::to_owned);
                (header("etag"), header("x-amz-version-id"))
            }
            // A retried conditional PUT refused as "exists": an earlier attempt may have stored
            // the object and lost its answer. It did if the object carries this body's checksum.
            Err(error) if self.no_overwrite && error.is_precondition_failed() && retry.attempts() > 1 => {
                match self.stored_by_earlier_attempt(checksum.as_ref()).await {
                    Some(head) => (head.etag, head.version_id),
                    None => return Err(error),
                }
            }
            Err(error) => return Err(error),
        };
        self.record_progress(size);
        Ok(UploadOutput {
            size,
            etag,
            parts: 0,
            // MD5 is a per-request check, not a checksum the object keeps.
            checksum: checksum.filter(|c| c.algorithm != ChecksumAlgorithm::Md5),
            version_id,
            resumed_bytes: 0,
        })
    }

    /// After a retried conditional PutObject was refused (412): the object if it carries
    /// `checksum` (this upload's body, stored by an attempt whose answer was lost), `None` if it
    /// does not or that cannot be told (no checksum, or the HEAD failed).
    async fn stored_by_earlier_attempt(&self, checksum: Option<&ChecksumValue>) -> Option<ObjectInfo> {
        let checksum = checksum.filter(|c| c.algorithm != ChecksumAlgorithm::Md5)?;
        let head = self.client.head_object(&self.bucket, &self.key).await.ok()?;
        tracing::debug!(bucket = self.bucket, key = self.key, "a retried conditional PUT was refused");
        head.checksums.contains(checksum).then_some(head)
    }

    /// One UploadPart (retried whole under the retry policy).
    async fn upload_part(
        &self,
        upload_id: &str,
        number: u32,
        body: PartBody,
        checksum: Option<ChecksumValue>,
    ) -> Result<CompletedPart> {
        let context = ErrorContext::new(Operation::UploadPart, &self.bucket, Some(&self.key));
        let mut request = S3Request::new(Method::PUT, &self.bucket, Some(&self.key), context.clone())
            .query("partNumber", number.to_string())
            .query("uploadId", upload_id);
        if let Some(key) = &self.options.sse_customer_key {
            request = key.apply(request, false);
        }
        if let Some(checksum) = &checksum {
            request = request.header(checksum.algorithm.header(), &checksum.value)?;
        }
        let request = body.attach(request)?;
        let response = self.client.send(&request).await?;
        let etag = header_str(&response.headers, "etag")
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid_response(context, format!("UploadPart {number} answer has no ETag")))?;
        Ok(CompletedPart { part_number: number, etag, checksum })
    }

    /// The one worker loop: `workers` workers, joined in the caller's task, each take the next
    /// part from `source` (which sets up its body and checksum), send it as UploadPart, note the
    /// checksum it carried and count its bytes, until the source has no more; the first error
    /// stops them all. Each worker owns its scratch state for all its parts.
    pub(crate) async fn upload_parts<S: PartSource>(
        &self,
        upload_id: &str,
        source: &S,
        workers: usize,
    ) -> Result<Vec<PartDone>> {
        let worker = || async {
            let mut done = Vec::new();
            let mut scratch = S::Scratch::default();
            loop {
                let Some(SourcePart { number, len, body, header, trailer, slot }) =
                    source.next_part(self, &mut scratch).await?
                else {
                    return Ok::<_, Error>(done);
                };
                let mut part = self.upload_part(upload_id, number, body, header.clone()).await?;
                part.checksum = sent_checksum(header, trailer.as_ref(), &self.context())?;
                self.record_progress(len);
                done.push(PartDone { part, len });
                // A stream part's memory slot goes back here (its buffer went with the request).
                drop(slot);
            }
        };
        let results = futures::future::try_join_all((0..workers.max(1)).map(|_| worker())).await?;
        Ok(results.into_iter().flatten().collect())
    }

    /// A whole multipart upload: create it, run `work` (which uploads the parts), complete it
    /// with the combined full-object checksum — or abort it if anything fails or the caller
    /// cancels, and say so in the error.
    pub(crate) async fn multipart<F, Fut>(&self, work: F) -> Result<UploadOutput>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<PartDone>>>,
    {
        self.multipart_resuming(None, work).await
    }

    /// [`Upload::multipart`], going on with the upload `resumed` (whose parts `work` skips)
    /// instead of creating one, when given.
    pub(crate) async fn multipart_resuming<F, Fut>(&self, resumed: Option<Resumed>, work: F) -> Result<UploadOutput>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<PartDone>>>,
    {
        self.check_cancelled()?;
        let algorithm = self.algorithm();
        let resumed_bytes = resumed.as_ref().map_or(0, Resumed::bytes);
        if self.no_overwrite {
            // Before any part is sent; the completion checks again, atomically.
            let head = crate::overwrite::require_absent(&self.client, &self.bucket, &self.key, self.context());
            self.cancellable(head).await?;
        }
        let (upload_id, reused) = match resumed {
            Some(resumed) => (resumed.upload_id, resumed.parts),
            None => {
                // Not cancellable once sent: a cancelled upload waits for the id, then aborts.
                let created = PendingCreate::start(&self.client, &self.bucket, &self.key, &self.options, algorithm);
                (created.id().await?, Vec::new())
            }
        };
        self.record_progress(resumed_bytes);
        let guard = AbortOnDrop::new(&self.client, &self.bucket, &self.key, &upload_id);
        let run = async {
            let mut parts = work(upload_id.clone()).await?;
            parts.extend(reused);
            parts.sort_unstable_by_key(|p| p.part.part_number);
            let size = parts.iter().map(|p| p.len).sum();
            let full = combined_checksum(&parts, &self.context())?;
            // CRC32C and CRC32 uploads are composite in S3 (not announced FULL_OBJECT): what the
            // store keeps is the composite of the part CRCs, while the output reports the
            // combined full-object CRC.
            let composite = match full.as_ref().map(|c| c.algorithm) {
                Some(a @ (ChecksumAlgorithm::Crc32c | ChecksumAlgorithm::Crc32)) => Some(
                    composite_checksum(a, parts.iter().filter_map(|p| p.part.checksum.as_ref()))
                        .map_err(|e| Error::invalid_response(self.context(), format!("bad part checksum: {e}")))?,
                ),
                _ => None,
            };
            let completed: Vec<CompletedPart> = parts.into_iter().map(|p| p.part).collect();
            // S3 accepts a full-object checksum on Complete for CRC64NVME uploads (announced as
            // FULL_OBJECT at create); the composite ones are computed by the store from the parts
            // and checked against the client's once it answers.
            let sent = full.as_ref().filter(|c| c.algorithm == ChecksumAlgorithm::Crc64Nvme);
            let sse_key = self.options.sse_customer_key.as_ref();
            let complete = self.client.complete_multipart_upload_if(
                &self.bucket,
                &self.key,
                &upload_id,
                &completed,
                sent,
                sse_key,
                self.no_overwrite,
            );
            let output = complete.await?;
            if let Some(ours) = &full {
                check_stored(ours, composite.as_ref(), &output.checksums, &self.context())?;
            }
            Ok(UploadOutput {
                size,
                etag: output.etag,
                parts: completed.len() as u32,
                checksum: full,
                version_id: None,
                resumed_bytes,
            })
        };
        guard.finish(self.cancellable(run)).await
    }
}

/// The object's checksum from the parts' (in order), without a second pass over the data: for the
/// CRCs the full-object CRC, combined from the part CRCs; for SHA-256 and SHA-1, which do not
/// combine, S3's composite checksum (`…-N`, see [`composite_checksum`]); `None` for MD5 or when no
/// checksums were sent.
pub(crate) fn combined_checksum(parts: &[PartDone], context: &ErrorContext) -> Result<Option<ChecksumValue>> {
    let Some(algorithm) = parts.first().and_then(|p| p.part.checksum.as_ref()).map(|c| c.algorithm) else {
        return Ok(None);
    };
    if parts.iter().any(|p| p.part.checksum.is_none()) {
        return Ok(None);
    }
    if algorithm == ChecksumAlgorithm::Md5 {
        return Ok(None);
    }
    if !algorithm.is_crc() {
        let values = parts.iter().filter_map(|p| p.part.checksum.as_ref());
        return composite_checksum(algorithm, values)
            .map(Some)
            .map_err(|e| Error::invalid_response(context.clone(), format!("bad part checksum: {e}")));
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let decode = |value: &ChecksumValue| -> Result<u64> {
        let mut raw = [0u8; 8];
        let len = engine
            .decode_slice(&value.value, &mut raw)
            .map_err(|e| Error::invalid_response(context.clone(), format!("bad part checksum: {e}")))?;
        Ok(raw[..len].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    };
    let mut crc: Option<u64> = None;
    // Parts are all one size but the last: one combination operator serves them all.
    let mut combiner: Option<(u64, CrcCombiner)> = None;
    for part in parts {
        let Some(value) = part.part.checksum.as_ref() else { return Ok(None) };
        let part_crc = decode(value)?;
        crc = Some(match crc {
            None => part_crc,
            Some(acc) => {
                if combiner.as_ref().is_none_or(|(len, _)| *len != part.len) {
                    combiner = Some((part.len, CrcCombiner::new(algorithm, part.len)));
                }
                combiner.as_ref().map_or(part_crc, |(_, c)| c.combine(acc, part_crc))
            }
        });
    }
    Ok(crc.map(|crc| Hasher::value_from_crc(algorithm, crc)))
}

/// Checks the checksum the store reports for a completed upload against `ours`, of the same
/// algorithm: the full-object CRC64NVME, or a composite value (`…-N`) against the composite of
/// the parts the client sent. Values of another kind (a full-object CRC32C the client combined
/// against a composite the store kept) are not comparable and pass.
fn check_stored(
    ours: &ChecksumValue,
    composite: Option<&ChecksumValue>,
    stored: &[ChecksumValue],
    context: &ErrorContext,
) -> Result<()> {
    let Some(stored) = stored.iter().find(|c| c.algorithm == ours.algorithm) else { return Ok(()) };
    let expected = match (stored.value.contains('-'), ours.value.contains('-'), composite) {
        (false, false, _) | (true, true, _) => ours,
        (true, false, Some(composite)) => composite,
        _ => return Ok(()),
    };
    if stored.value != expected.value {
        return Err(Error::ChecksumMismatch {
            context: Box::new(context.clone()),
            algorithm: ours.algorithm.name(),
            expected: expected.value.clone(),
            computed: stored.value.clone(),
        });
    }
    Ok(())
}

/// Aborts a multipart upload when dropped while armed (the upload future was dropped midway).
pub(crate) struct AbortOnDrop {
    client: Client,
    bucket: String,
    key: String,
    /// `Some` while armed.
    upload_id: Option<String>,
}

impl AbortOnDrop {
    /// A guard, armed, for the multipart upload `upload_id` of `bucket`/`key`.
    pub(crate) fn new(client: &Client, bucket: &str, key: &str, upload_id: &str) -> Self {
        Self {
            client: client.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: Some(upload_id.to_owned()),
        }
    }

    /// Awaits `work` (which completes the upload); if it fails, aborts the upload and returns
    /// [`Error::UploadAborted`] saying why it stopped and how the abort went. If this future is
    /// dropped before the abort has answered, the guard's drop sends the abort instead.
    pub(crate) async fn finish<T>(mut self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let result = work.await;
        let Some(upload_id) = self.upload_id.clone() else { return result };
        match result {
            Ok(output) => {
                self.upload_id = None;
                Ok(output)
            }
            Err(source) => {
                tracing::debug!(error = %crate::error::Chain(&source), upload_id, "aborting the multipart upload");
                let abort = self.client.abort_multipart_upload(&self.bucket, &self.key, &upload_id).await;
                self.upload_id = None;
                Err(Error::UploadAborted {
                    upload_id,
                    abort_error: abort.err().map(Box::new),
                    source: Box::new(source),
                })
            }
        }
    }
}

/// A CreateMultipartUpload on its way, in a task of its own: the store may create the upload
/// before its answer arrives, so a transfer cancelled or dropped meanwhile must not forget it.
/// Awaited, it yields the upload id; dropped first, it leaves a task that aborts the upload
/// once the answer names it.
pub(crate) struct PendingCreate {
    task: Option<tokio::task::JoinHandle<Result<String>>>,
    client: Client,
    bucket: String,
    key: String,
}

impl PendingCreate {
    /// Sends CreateMultipartUpload for `bucket`/`key`.
    pub(crate) fn start(
        client: &Client,
        bucket: &str,
        key: &str,
        options: &PutObjectOptions,
        algorithm: Option<ChecksumAlgorithm>,
    ) -> Self {
        let (task_client, task_bucket, task_key) = (client.clone(), bucket.to_owned(), key.to_owned());
        let options = options.clone();
        let task = tokio::spawn(async move {
            task_client.create_multipart_upload(&task_bucket, &task_key, &options, algorithm).await
        });
        Self { task: Some(task), client: client.clone(), bucket: bucket.to_owned(), key: key.to_owned() }
    }

    /// The upload id, once the store has answered (not cancellable: a cancelled transfer
    /// waits for the answer, then aborts the upload through its [`AbortOnDrop`]).
    pub(crate) async fn id(mut self) -> Result<String> {
        let Some(task) = self.task.as_mut() else { unreachable!("awaited once") };
        let joined = task.await;
        self.task = None;
        match joined {
            Ok(created) => created,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::cancelled(ErrorContext::new(
                Operation::CreateMultipartUpload,
                &self.bucket,
                Some(&self.key),
            ))),
        }
    }
}

impl Drop for PendingCreate {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (client, bucket, key) =
            (self.client.clone(), std::mem::take(&mut self.bucket), std::mem::take(&mut self.key));
        // Registered until the abort is (so `cleanup::finish` waits for the answer, then the
        // abort): a program exiting right after the drop would otherwise leave the upload.
        let registered = crate::cleanup::awaiting_create(&bucket, &key);
        let handle = runtime.clone();
        runtime.spawn(async move {
            let _registered = registered;
            if let Ok(Ok(upload_id)) = task.await {
                crate::cleanup::spawn_abort(&handle, client, bucket, key, upload_id);
            }
        });
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(upload_id) = self.upload_id.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                bucket = self.bucket,
                key = self.key,
                upload_id,
                "upload dropped outside a runtime: not aborted"
            );
            return;
        };
        let bucket = std::mem::take(&mut self.bucket);
        let key = std::mem::take(&mut self.key);
        crate::cleanup::spawn_abort(&runtime, self.client.clone(), bucket, key, upload_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::checksum;

    fn parts(data: &[u8], part_size: usize, algorithm: ChecksumAlgorithm) -> Vec<PartDone> {
        data.chunks(part_size)
            .enumerate()
            .map(|(i, chunk)| PartDone {
                part: CompletedPart {
                    part_number: i as u32 + 1,
                    etag: String::new(),
                    checksum: Some(checksum(algorithm, chunk)),
                },
                len: chunk.len() as u64,
            })
            .collect()
    }

    #[test]
    fn combined_part_checksums_equal_the_whole_objects() {
        let context = ErrorContext::new(Operation::Upload, "b", Some("k"));
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        for algorithm in [ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Crc32] {
            for part_size in [1, 1000, 65_536, 333_333, 1_000_003] {
                let data = if part_size == 1 { &data[..5000] } else { &data[..] };
                let combined = combined_checksum(&parts(data, part_size, algorithm), &context).unwrap();
                assert_eq!(combined, Some(checksum(algorithm, data)), "{algorithm:?} parts of {part_size}");
            }
        }
        assert_eq!(combined_checksum(&parts(&data, 100_000, ChecksumAlgorithm::Md5), &context).unwrap(), None);
    }

    #[test]
    fn sha_uploads_report_the_composite_checksum() {
        // The parts b"a" * 10 and b"b" * 5: Python's
        // base64.b64encode(hashlib.sha256(b"".join(hashlib.sha256(x).digest() for x in p)).digest())
        let context = ErrorContext::new(Operation::Upload, "b", Some("k"));
        let data = b"aaaaaaaaaabbbbb";
        let combined = combined_checksum(&parts(data, 10, ChecksumAlgorithm::Sha256), &context).unwrap().unwrap();
        assert_eq!(combined.value, "KJ79TdKFKTdAnjtRZjP7Wi/JgPwhArx+v8ggQnE5kJs=-2");
        let stored = [ChecksumValue::new(ChecksumAlgorithm::Sha256, "AAAA-2")];
        assert!(check_stored(&combined, None, &stored, &context).is_err());
        assert!(check_stored(&combined, None, std::slice::from_ref(&combined), &context).is_ok());
    }
}
