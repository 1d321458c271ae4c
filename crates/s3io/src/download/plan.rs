//! Planning a download from its first answer: the [`Plan`].
//!
//! The first request is a ranged GET of the first part (no HEAD round-trip): its `Content-Range`
//! gives the object's size and its ETag pins the version the other parts must match. What to
//! verify is decided here too: an object that fits in one part carries its full-object checksum
//! in that answer; for a multi-part download one HEAD fetches the checksum and checks the ETag.
//! The plan is then fixed for the whole download.

use std::time::SystemTime;

use super::journal::JournalState;
use super::part::FirstAnswer;
use super::Download;
use crate::checksum::ChecksumValue;
use crate::config::{ChecksumAlgorithm, ChecksumMode};
use crate::error::{Error, ErrorContext, Result, ServiceError};
use crate::retry::RetryContext;
use crate::s3::object::{ByteRange, GetObjectOptions, GetObjectOutput};

/// The shape of one download, fixed by its first answer.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) part_size: u64,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<SystemTime>,
    pub(crate) context: ErrorContext,
    /// The full-object checksum the combined part CRCs must match, when verifying.
    pub(crate) expected: Option<ChecksumValue>,
}

impl Plan {
    /// Makes the first request (a ranged GET of the first part) and the verification HEAD if
    /// needed. Returns the plan and the first answer, whose body is still to be read, with the
    /// retry context its request started (part 0 carries it on).
    pub(crate) async fn make(download: &Download) -> Result<(Plan, FirstAnswer)> {
        let client = &download.client;
        let part_size = download.transfer.part_size;
        let mut options = GetObjectOptions {
            range: Some(ByteRange::inclusive(0, part_size - 1)),
            if_match: None,
            checksum_mode: false,
        };
        let mut retry = RetryContext::new();
        let first = match client.get_object_with(&download.bucket, &download.key, &options, &mut retry).await {
            // S3 answers a range on an empty object with 416: ask for the whole (empty) object.
            Err(e) if e.status() == Some(416) => {
                options.range = None;
                client.get_object_with(&download.bucket, &download.key, &options, &mut retry).await?
            }
            other => other?,
        };
        Self::from_first(download, part_size, first, 0, retry).await
    }

    /// Resumes a download journaled as `state`: the first request asks for part `first_index`
    /// (the first one missing) with `If-Match` on the journaled ETag. `Ok(None)` when the object
    /// changed since (a 412, or another size): the journal is stale.
    pub(crate) async fn resume(
        download: &Download,
        state: &JournalState,
        first_index: u64,
    ) -> Result<Option<(Plan, FirstAnswer)>> {
        let start = first_index * state.part_size;
        let end = (start + state.part_size).min(state.size);
        let options = GetObjectOptions {
            range: Some(ByteRange::inclusive(start, end - 1)),
            if_match: Some(state.etag.clone()),
            checksum_mode: false,
        };
        let mut retry = RetryContext::new();
        let first = match download.client.get_object_with(&download.bucket, &download.key, &options, &mut retry).await {
            Err(e) if matches!(e.status(), Some(412 | 416)) => return Ok(None),
            other => other?,
        };
        if first.object_size() != state.size || first.info.etag.as_deref() != Some(state.etag.as_str()) {
            return Ok(None);
        }
        Self::from_first(download, state.part_size, first, first_index, retry).await.map(Some)
    }

    /// The plan that `first`, the answer for part `index`, fixes.
    async fn from_first(
        download: &Download,
        part_size: u64,
        first: GetObjectOutput,
        index: u64,
        mut retry: RetryContext,
    ) -> Result<(Plan, FirstAnswer)> {
        let mut plan = Plan {
            bucket: download.bucket.clone(),
            key: download.key.clone(),
            size: first.object_size(),
            part_size,
            etag: first.info.etag.clone(),
            last_modified: first.info.last_modified,
            context: download.context(),
            expected: None,
        };
        if let Some(progress) = &download.progress {
            progress.add_total(plan.size);
        }
        plan.expected = plan.expected_checksum(download, &first).await?;
        // The part reads this answer's body as the rest of the same attempt.
        retry.continue_last_attempt();
        Ok((plan, FirstAnswer { answer: first, retry, index }))
    }

    pub(crate) fn part_count(&self) -> u64 {
        self.size.div_ceil(self.part_size).max(1)
    }

    /// Byte range `[start, end)` of part `index`.
    pub(crate) fn part_range(&self, index: u64) -> (u64, u64) {
        let start = index * self.part_size;
        (start, (start + self.part_size).min(self.size))
    }

    /// Decides what to verify. A whole-object answer carries the checksum itself; for a
    /// multi-part download a HEAD (one round-trip, once per large object) fetches it and checks
    /// the ETag.
    async fn expected_checksum(&self, download: &Download, first: &GetObjectOutput) -> Result<Option<ChecksumValue>> {
        if download.transfer.checksum_mode == ChecksumMode::WhenRequired {
            return Ok(None);
        }
        if self.part_count() == 1 {
            return Ok(pick_checksum(&first.info.checksums, true));
        }
        let head = download.client.head_object(&self.bucket, &self.key).await?;
        if head.etag.is_some() && head.etag != self.etag {
            return Err(Error::service(
                self.context.clone(),
                ServiceError {
                    status: 412,
                    code: "PreconditionFailed".into(),
                    message: Some("the object changed during the download (its ETag changed)".into()),
                    request_id: None,
                },
            ));
        }
        Ok(pick_checksum(&head.checksums, false))
    }
}

/// CRC64NVME when present; CRC32C too for single-request objects (multi-part downloads compute
/// only CRC64NVME, the default of current AWS SDKs, to keep one CRC pass per byte).
fn pick_checksum(checksums: &[ChecksumValue], allow_crc32c: bool) -> Option<ChecksumValue> {
    let find = |a| checksums.iter().find(|c| c.algorithm == a).cloned();
    find(ChecksumAlgorithm::Crc64Nvme).or_else(|| if allow_crc32c { find(ChecksumAlgorithm::Crc32c) } else { None })
}
