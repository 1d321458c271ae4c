//! Resuming a multipart upload from a file: the parts an earlier, unfinished upload of the same
//! key stored are reused when they hold the file's bytes.
//!
//! With [`Upload::resume`], a multipart upload from a file first asks the store for the key's
//! unfinished uploads (ListMultipartUploads, prefix = the key, exact key matches only) and takes
//! the newest. Its parts (ListParts) are checked against the file, never trusted: a part is
//! reused only when its number fits the file's part layout, its size is the layout's size for
//! that number, and the checksum the store keeps for it equals the one computed over the file's
//! bytes of that range — the upload's algorithm (CRC64NVME, CRC32C) as ListParts reports it, or
//! for MD5 and when-required uploads the part's ETag as the MD5 of its bytes. The file is read
//! for this on the blocking pool, by as many workers as the upload's concurrency, each with one
//! scratch buffer. The parts left over are then uploaded into the same upload and the upload
//! completed with all of them.
//!
//! An unfinished upload with no part worth reusing (another file, another part size, another
//! checksum algorithm) is aborted, so its parts stop being billed, and a new upload starts. A
//! store that cannot list uploads (or parts) is not an error: the upload starts afresh.

use std::time::Duration;

use base64::Engine as _;

use super::plan::PartLayout;
use super::run::PartDone;
use super::source::{checksum_range, SharedFile};
use super::Upload;
use crate::checksum::ChecksumValue;
use crate::config::{ChecksumAlgorithm, DEFAULT_CONCURRENCY};
use crate::error::{Error, Result};
use crate::s3::multipart::{CompletedPart, PartInfo};

/// An unfinished multipart upload picked up again, with the parts it already holds.
#[derive(Debug)]
pub(crate) struct Resumed {
    pub(crate) upload_id: String,
    /// The reused parts, verified against the file.
    pub(crate) parts: Vec<PartDone>,
}

impl Resumed {
    /// Which part numbers not to send again (index = part number; index 0 unused).
    pub(crate) fn skip(&self, parts: u32) -> Vec<bool> {
        let mut skip = vec![false; parts as usize + 1];
        for part in &self.parts {
            skip[part.part.part_number as usize] = true;
        }
        skip
    }

    /// Bytes the reused parts hold.
    pub(crate) fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.len).sum()
    }
}

/// What a stored part must match: the upload's checksum, or (MD5 and when-required uploads) its
/// ETag as the hex MD5 of its bytes.
fn wanted(algorithm: Option<ChecksumAlgorithm>, part: &PartInfo) -> Option<(ChecksumAlgorithm, ChecksumValue)> {
    match algorithm {
        Some(algorithm) if algorithm != ChecksumAlgorithm::Md5 => {
            part.checksums.iter().find(|c| c.algorithm == algorithm).map(|c| (algorithm, c.clone()))
        }
        _ => {
            let hex = part.etag.trim_matches('"');
            let raw = hex::decode(hex).ok().filter(|raw| raw.len() == 16)?;
            let value = base64::engine::general_purpose::STANDARD.encode(raw);
            Some((ChecksumAlgorithm::Md5, ChecksumValue { algorithm: ChecksumAlgorithm::Md5, value }))
        }
    }
}

impl Upload {
    /// The key's newest unfinished multipart upload with the parts of it that hold `file`'s
    /// bytes, or `None` (after aborting an upload none of whose parts fit).
    pub(crate) async fn find_resumable(&self, file: &SharedFile, layout: &PartLayout) -> Result<Option<Resumed>> {
        let uploads = match self.cancellable(self.client.stale_uploads(&self.bucket, &self.key, Duration::ZERO)).await {
            Ok(uploads) => uploads,
            Err(e) if e.is_cancelled() => return Err(e),
            Err(e) => {
                tracing::debug!(error = %crate::error::Chain(&e), "cannot list unfinished uploads: not resuming");
                return Ok(None);
            }
        };
        let Some(newest) = uploads.into_iter().filter(|u| u.key == self.key).max_by_key(|u| u.initiated) else {
            return Ok(None);
        };
        let listed = match self.cancellable(self.client.list_parts(&self.bucket, &self.key, &newest.upload_id)).await {
            Ok(listed) => listed,
            Err(e) if e.is_cancelled() => return Err(e),
            Err(e) => {
                tracing::debug!(error = %crate::error::Chain(&e), "cannot list the unfinished upload's parts");
                return Ok(None);
            }
        };
        let algorithm = self.algorithm();
        let candidates: Vec<(PartInfo, ChecksumAlgorithm, ChecksumValue)> = listed
            .into_iter()
            .filter(|part| {
                (1..=layout.parts).contains(&part.part_number) && layout.range(part.part_number).1 == part.size
            })
            .filter_map(|part| wanted(algorithm, &part).map(|(a, value)| (part, a, value)))
            .collect();
        let parts = self.cancellable(self.verify_parts(file, layout, candidates)).await?;
        if parts.is_empty() {
            tracing::info!(upload_id = newest.upload_id, "no part of the unfinished upload fits the file: aborting it");
            if let Err(e) = self.client.abort_multipart_upload(&self.bucket, &self.key, &newest.upload_id).await {
                tracing::warn!(error = %crate::error::Chain(&e), upload_id = newest.upload_id, "cannot abort it");
            }
            return Ok(None);
        }
        tracing::info!(upload_id = newest.upload_id, parts = parts.len(), "resuming an unfinished upload");
        Ok(Some(Resumed { upload_id: newest.upload_id, parts }))
    }

    /// The candidates whose stored checksum equals the one of the file's bytes, read by up to
    /// `concurrency` workers with a scratch buffer each.
    async fn verify_parts(
        &self,
        file: &SharedFile,
        layout: &PartLayout,
        candidates: Vec<(PartInfo, ChecksumAlgorithm, ChecksumValue)>,
    ) -> Result<Vec<PartDone>> {
        let workers = self.config.concurrency.unwrap_or(DEFAULT_CONCURRENCY).clamp(1, candidates.len().max(1));
        let mut shares: Vec<Vec<_>> = (0..workers).map(|_| Vec::new()).collect();
        for (i, candidate) in candidates.into_iter().enumerate() {
            shares[i % workers].push(candidate);
        }
        let verified = futures::future::try_join_all(shares.into_iter().map(|share| async move {
            let mut scratch = Vec::new();
            let mut reused = Vec::new();
            for (part, algorithm, stored) in share {
                let (offset, len) = layout.range(part.part_number);
                let (returned, computed) = checksum_range(file, offset, len, algorithm, scratch).await;
                scratch = returned;
                let computed = computed.map_err(|e| Error::io(self.context(), "reading", &*file.path, e))?;
                if computed.value != stored.value {
                    tracing::debug!(part = part.part_number, "a stored part differs from the file: sending it again");
                    continue;
                }
                // What the part's request would have carried: the CRC (for the combined
                // checksum), or the MD5 for an MD5 upload, nothing in when-required mode.
                let checksum = self.algorithm().map(|_| stored);
                reused.push(PartDone {
                    part: CompletedPart { part_number: part.part_number, etag: part.etag, checksum },
                    len,
                });
            }
            Ok::<_, Error>(reused)
        }))
        .await?;
        Ok(verified.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(etag: &str, checksums: Vec<ChecksumValue>) -> PartInfo {
        PartInfo { part_number: 1, size: 10, etag: etag.to_owned(), checksums }
    }

    #[test]
    fn a_part_is_matched_on_the_uploads_own_checksum() {
        let crc64 = ChecksumValue { algorithm: ChecksumAlgorithm::Crc64Nvme, value: "AAAAAAAAAAA=".into() };
        let crc32c = ChecksumValue { algorithm: ChecksumAlgorithm::Crc32c, value: "AAAAAA==".into() };
        let both = part("\"e\"", vec![crc64.clone(), crc32c.clone()]);
        assert_eq!(wanted(Some(ChecksumAlgorithm::Crc64Nvme), &both).map(|w| w.1), Some(crc64));
        assert_eq!(wanted(Some(ChecksumAlgorithm::Crc32c), &both).map(|w| w.1), Some(crc32c.clone()));
        // An upload of another algorithm has nothing to match.
        assert_eq!(wanted(Some(ChecksumAlgorithm::Crc64Nvme), &part("\"e\"", vec![crc32c])), None);
        // MD5 and when-required uploads match the ETag as an MD5; an ETag that is not one
        // (SSE-KMS, a multipart-style ETag) matches nothing.
        let md5 = part("\"d41d8cd98f00b204e9800998ecf8427e\"", Vec::new());
        let expected = crate::checksum::checksum(ChecksumAlgorithm::Md5, b"");
        assert_eq!(wanted(None, &md5).map(|w| w.1), Some(expected.clone()));
        assert_eq!(wanted(Some(ChecksumAlgorithm::Md5), &md5).map(|w| w.1), Some(expected));
        assert_eq!(wanted(None, &part("\"abc-2\"", Vec::new())), None);
    }
}
