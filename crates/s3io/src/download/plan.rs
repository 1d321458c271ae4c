//! Planning a download from its first answer: the [`Plan`].
//!
//! The first request is a ranged GET of the first part (no HEAD round-trip): its `Content-Range`
//! gives the object's size and its ETag pins the version the other parts must match. It asks for
//! the stored checksums (`x-amz-checksum-mode: ENABLED`). What to verify ([`Check`]) is decided
//! from its headers, with no request on the critical path:
//! - an object that fits in one part: the full-object checksum the answer carries, if any (S3
//!   answers a range covering the whole object with its full-object checksums, so this first GET
//!   gets them; CRC64NVME is one pass of a few tenths of a CPU second per GiB; CRC32C, CRC32,
//!   SHA-256 and SHA-1 are taken in that order when it is absent); else
//!   the ETag when it is a single-part one (the MD5 of the bytes: not for SSE-KMS or SSE-C
//!   objects, whose ETag is not their MD5); else, as for larger objects:
//! - otherwise a HEAD is started *beside* the parts (a task of its own) to fetch the stored
//!   checksum and check the ETag, while the parts are hashed with CRC64NVME (the default of
//!   current AWS SDKs and of S3 itself) as they stream past. The run awaits the HEAD only once
//!   every part is in, so verification adds no serial round trip.
//!
//! A composite checksum (of a multipart object uploaded with SHA-256, SHA-1, CRC32 or CRC32C
//! without `FULL_OBJECT`) is a checksum of the parts' checksums: it can only be checked part by
//! part along the upload's part boundaries, which a download does not know. As the AWS SDKs do
//! (they skip composite values on GetObject), it is not verified; such an object is verified
//! through its full-object CRC64NVME if the store keeps one, else not at all, and
//! [`DownloadOutput::verified_checksum`](super::DownloadOutput::verified_checksum) says so.
//!
//! The plan is then fixed for the whole download.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use tokio::task::JoinHandle;

use super::journal::JournalState;
use super::part::FirstAnswer;
use super::Download;
use crate::checksum::ChecksumValue;
use crate::config::{ChecksumAlgorithm, ChecksumMode};
use crate::error::{Error, ErrorContext, Operation, Result, ServiceError};
use crate::retry::RetryContext;
use crate::s3::object::{ByteRange, GetObjectOptions, GetObjectOutput, HeadObjectOptions, ObjectInfo, SseCustomerKey};

/// What a download verifies, decided from its first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// Nothing: checksums are off (`ChecksumMode::WhenRequired`).
    Nothing,
    /// The bytes must hash to this value: a checksum the first answer carried, or a single-part
    /// ETag's MD5.
    Known(ChecksumValue),
    /// The parts are hashed with CRC64NVME while the plan's HEAD, running beside them, fetches
    /// the stored checksum; compared once both are in (nothing is verified if the object has no
    /// CRC64NVME).
    AfterHead,
}

impl Check {
    /// The algorithm the parts are hashed with, if any.
    pub(crate) fn algorithm(&self) -> Option<ChecksumAlgorithm> {
        match self {
            Check::Nothing => None,
            Check::Known(value) => Some(value.algorithm),
            Check::AfterHead => Some(ChecksumAlgorithm::Crc64Nvme),
        }
    }
}

/// The HEAD a [`Check::AfterHead`] plan runs beside the parts; aborted when dropped (a failed or
/// cancelled download leaves no request behind).
#[derive(Debug)]
pub(crate) struct PendingHead(Mutex<Option<JoinHandle<Result<ObjectInfo>>>>);

impl PendingHead {
    /// The HEAD's answer; `None` if it was taken already.
    pub(crate) async fn answer(&self, context: &ErrorContext) -> Option<Result<ObjectInfo>> {
        let handle = self.0.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(match handle.await {
            Ok(answer) => answer,
            Err(join_error) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
            Err(_) => Err(Error::cancelled(context.clone())),
        })
    }
}

impl Drop for PendingHead {
    fn drop(&mut self) {
        if let Some(handle) = self.0.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            handle.abort();
        }
    }
}

/// The shape of one download, fixed by its first answer.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) size: u64,
    /// Bytes per part after the first (the last may be shorter).
    pub(crate) part_size: u64,
    /// Bytes of the first part: the part size the first request asked for. Only a stream
    /// download cuts the rest smaller ([`Plan::cut_rest`]); every other layout is uniform.
    pub(crate) first_len: u64,
    /// How long the first request took to its answer's headers: on a fresh connection, a
    /// connect and a round trip, the path's length as the download first sees it.
    pub(crate) first_answer_after: Duration,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<SystemTime>,
    /// The download's bucket and key.
    pub(crate) context: ErrorContext,
    /// What the bytes are checked against.
    pub(crate) check: Check,
    /// The HEAD running beside the parts, for [`Check::AfterHead`].
    pub(crate) head: Option<Arc<PendingHead>>,
    /// The SSE-C key and version every request of the download carries.
    pub(crate) sse_customer_key: Option<SseCustomerKey>,
    pub(crate) version_id: Option<String>,
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
            checksum_mode: download.transfer.checksum_mode != ChecksumMode::WhenRequired,
            sse_customer_key: download.sse_customer_key.clone(),
            version_id: download.version_id.clone(),
        };
        let mut retry = RetryContext::new();
        let context = download.context.with_operation(Operation::GetObject);
        let started = Instant::now();
        let first = match client.get_object_with(&context, &options, &mut retry).await {
            // S3 answers a range on an empty object with 416: ask for the whole (empty) object.
            Err(e) if e.status() == Some(416) => {
                options.range = None;
                client.get_object_with(&context, &options, &mut retry).await?
            }
            other => other?,
        };
        Self::from_first(download, part_size, first, 0, retry, started).await
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
            sse_customer_key: download.sse_customer_key.clone(),
            version_id: download.version_id.clone(),
        };
        let mut retry = RetryContext::new();
        let context = download.context.with_operation(Operation::GetObject);
        let started = Instant::now();
        let first = match download.client.get_object_with(&context, &options, &mut retry).await {
            Err(e) if matches!(e.status(), Some(412 | 416)) => return Ok(None),
            other => other?,
        };
        if first.object_size() != state.size || first.info.etag.as_deref() != Some(state.etag.as_str()) {
            return Ok(None);
        }
        Self::from_first(download, state.part_size, first, first_index, retry, started).await.map(Some)
    }

    /// The plan that `first`, the answer for part `index` to a request made at `started`, fixes.
    async fn from_first(
        download: &Download,
        part_size: u64,
        mut first: GetObjectOutput,
        index: u64,
        mut retry: RetryContext,
        started: Instant,
    ) -> Result<(Plan, FirstAnswer)> {
        let context = download.context();
        let mut plan = Plan {
            size: first.object_size(),
            part_size,
            first_len: part_size,
            first_answer_after: started.elapsed(),
            etag: None,
            last_modified: first.info.last_modified,
            context,
            check: Check::Nothing,
            head: None,
            sse_customer_key: download.sse_customer_key.clone(),
            version_id: download.version_id.clone(),
        };
        if let Some(progress) = &download.progress {
            progress.add_total(plan.size);
        }
        plan.check = plan.decide_check(download, &mut first.info);
        // Moved, not copied: nothing reads the first answer's headers after this.
        plan.etag = first.info.etag.take();
        if plan.check == Check::AfterHead {
            let (client, bucket, key) =
                (download.client.clone(), download.bucket().to_owned(), download.key().to_owned());
            let options = HeadObjectOptions {
                sse_customer_key: plan.sse_customer_key.clone(),
                version_id: plan.version_id.clone(),
            };
            let head = tokio::spawn(async move { client.head_object_with(&bucket, &key, &options).await });
            plan.head = Some(Arc::new(PendingHead(Mutex::new(Some(head)))));
        }
        // The part reads this answer's body as the rest of the same attempt.
        retry.continue_last_attempt();
        Ok((plan, FirstAnswer { answer: first, retry, index }))
    }

    pub(crate) fn part_count(&self) -> u64 {
        match self.size.checked_sub(self.first_len) {
            Some(rest) if rest > 0 => 1 + rest.div_ceil(self.part_size),
            _ => 1,
        }
    }

    /// Byte range `[start, end)` of part `index`.
    pub(crate) fn part_range(&self, index: u64) -> (u64, u64) {
        let start = match index {
            0 => 0,
            _ => self.first_len + (index - 1) * self.part_size,
        };
        let len = if index == 0 { self.first_len } else { self.part_size };
        (start, (start + len).min(self.size))
    }

    /// Cuts the parts after the first into parts of `part_size` bytes (smaller than the first
    /// one's), before any of them is asked for.
    pub(crate) fn cut_rest(&mut self, part_size: u64) {
        debug_assert!(part_size > 0 && part_size <= self.first_len);
        self.part_size = part_size.clamp(1, self.first_len);
    }

    /// Decides what to verify from the first answer's headers (see the module doc); the
    /// checksum it keeps is taken out of `first`.
    fn decide_check(&self, download: &Download, first: &mut ObjectInfo) -> Check {
        if download.transfer.checksum_mode == ChecksumMode::WhenRequired {
            return Check::Nothing;
        }
        if self.part_count() == 1 {
            if let Some(value) = take_checksum(&mut first.checksums, true) {
                return Check::Known(value);
            }
            if let Some(value) = single_part_md5(first) {
                return Check::Known(value);
            }
        }
        Check::AfterHead
    }

    /// The checksum to compare with, once the parts are in: the known one, or what the HEAD
    /// running beside the parts found (after checking it saw the same ETag).
    pub(crate) async fn expected(&self) -> Result<Option<ChecksumValue>> {
        match &self.check {
            Check::Nothing => Ok(None),
            Check::Known(value) => Ok(Some(value.clone())),
            Check::AfterHead => {
                let Some(answer) = self.head.as_ref() else { return Ok(None) };
                let Some(head) = answer.answer(&self.context).await else { return Ok(None) };
                let mut head = head?;
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
                Ok(take_checksum(&mut head.checksums, false))
            }
        }
    }
}

/// The MD5 a single-part ETag is (32 hex digits, no `-N` part count), as a checksum value; `None`
/// for multipart ETags and for SSE-KMS and SSE-C objects, whose ETag is not the MD5 of their bytes.
fn single_part_md5(info: &ObjectInfo) -> Option<ChecksumValue> {
    let kms = info.server_side_encryption.as_deref().is_some_and(|s| s.starts_with("aws:kms"));
    if kms || info.sse_customer_algorithm.is_some() {
        return None;
    }
    let hex = info.etag.as_deref()?.trim_matches('"');
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut digest = [0u8; 16];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    let value = base64::engine::general_purpose::STANDARD.encode(digest);
    Some(ChecksumValue { algorithm: ChecksumAlgorithm::Md5, value })
}

/// CRC64NVME when present; for single-request objects any other full-object checksum too,
/// fastest first (CRC32C, CRC32, SHA-256, SHA-1). Multi-part downloads compute only CRC64NVME,
/// the default of current AWS SDKs, to keep one CRC pass per byte. Taken out of `checksums` (no
/// copy).
fn take_checksum(checksums: &mut Vec<ChecksumValue>, single: bool) -> Option<ChecksumValue> {
    let position = |a| checksums.iter().position(|c: &ChecksumValue| c.algorithm == a);
    let found = if single {
        ChecksumAlgorithm::STORED.into_iter().find_map(position)
    } else {
        position(ChecksumAlgorithm::Crc64Nvme)
    }?;
    Some(checksums.swap_remove(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(size: u64, part_size: u64) -> Plan {
        Plan {
            size,
            part_size,
            first_len: part_size,
            first_answer_after: Duration::ZERO,
            etag: None,
            last_modified: None,
            context: ErrorContext::new(Operation::Download, "b", Some("k")),
            check: Check::Nothing,
            head: None,
            sse_customer_key: None,
            version_id: None,
        }
    }

    /// Every part's range, in order.
    fn ranges(plan: &Plan) -> Vec<(u64, u64)> {
        (0..plan.part_count()).map(|i| plan.part_range(i)).collect()
    }

    #[test]
    fn parts_cover_the_object_once_whether_cut_or_not() {
        assert_eq!(ranges(&plan(0, 8)), vec![(0, 0)]);
        assert_eq!(ranges(&plan(8, 8)), vec![(0, 8)]);
        assert_eq!(ranges(&plan(20, 8)), vec![(0, 8), (8, 16), (16, 20)]);
        let mut cut = plan(20, 8);
        cut.cut_rest(3);
        assert_eq!(ranges(&cut), vec![(0, 8), (8, 11), (11, 14), (14, 17), (17, 20)]);
        let mut cut = plan(9, 8);
        cut.cut_rest(3);
        assert_eq!(ranges(&cut), vec![(0, 8), (8, 9)]);
        let mut one = plan(5, 8);
        one.cut_rest(3);
        assert_eq!(ranges(&one), vec![(0, 5)]);
        for (size, part, rest) in [(1 << 30, 8 << 20, 3 << 20), (100 << 20, 8 << 20, 1 << 20), (17, 5, 2)] {
            let mut p = plan(size, part);
            p.cut_rest(rest);
            let all = ranges(&p);
            assert_eq!(all[0], (0, part));
            assert!(all.windows(2).all(|w| w[0].1 == w[1].0 && w[1].1 - w[1].0 <= rest));
            assert_eq!(all.last().unwrap().1, size);
        }
    }

    fn info(etag: &str, sse: Option<&str>, sse_c: bool) -> ObjectInfo {
        ObjectInfo {
            etag: Some(etag.to_owned()),
            server_side_encryption: sse.map(str::to_owned),
            sse_customer_algorithm: sse_c.then(|| "AES256".to_owned()),
            ..ObjectInfo::default()
        }
    }

    #[test]
    fn single_part_etags_give_the_md5_of_the_bytes() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e, base64 1B2M2Y8AsgTpgAmY7PhCfg==.
        let md5 = single_part_md5(&info("\"d41d8cd98f00b204e9800998ecf8427e\"", None, false)).unwrap();
        assert_eq!(md5, ChecksumValue { algorithm: ChecksumAlgorithm::Md5, value: "1B2M2Y8AsgTpgAmY7PhCfg==".into() });
        let upper = single_part_md5(&info("\"D41D8CD98F00B204E9800998ECF8427E\"", Some("AES256"), false));
        assert_eq!(upper, Some(md5));
    }

    #[test]
    fn etags_that_are_not_md5s_are_not_used() {
        assert_eq!(single_part_md5(&info("\"d41d8cd98f00b204e9800998ecf8427e-2\"", None, false)), None);
        assert_eq!(single_part_md5(&info("\"short\"", None, false)), None);
        assert_eq!(single_part_md5(&info("\"d41d8cd98f00b204e9800998ecf8427e\"", Some("aws:kms"), false)), None);
        assert_eq!(single_part_md5(&info("\"d41d8cd98f00b204e9800998ecf8427e\"", Some("aws:kms:dsse"), false)), None);
        assert_eq!(single_part_md5(&info("\"d41d8cd98f00b204e9800998ecf8427e\"", None, true)), None);
        assert_eq!(single_part_md5(&info("\"zz1d8cd98f00b204e9800998ecf8427e\"", None, false)), None);
    }
}
