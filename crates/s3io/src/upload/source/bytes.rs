//! Uploading from `Bytes` the caller holds: a part is a zero-copy slice of them, checksummed
//! in memory (off the runtime's threads when large) and sent with its checksum as a header.

use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;

use super::{PartBody, PartSource, SourcePart};
use crate::checksum::{checksum, ChecksumValue};
use crate::config::ChecksumAlgorithm;
use crate::error::{Error, ErrorContext, Result};
use crate::upload::plan::PartLayout;
use crate::upload::Upload;

/// Part checksums of parts at most this large are computed inline; larger ones on the blocking
/// pool (MD5 runs at well under 1 GB/s, so an 8 MiB part would hold a runtime thread ~15 ms).
const INLINE_CHECKSUM_LIMIT: usize = 256 * 1024;

/// The parts of `Bytes`, numbered from a shared counter.
pub(crate) struct BytesSource {
    bytes: Bytes,
    layout: PartLayout,
    next: AtomicU32,
}

impl BytesSource {
    pub(crate) fn new(bytes: Bytes, layout: PartLayout) -> Self {
        Self { bytes, layout, next: AtomicU32::new(1) }
    }
}

impl PartSource for BytesSource {
    type Scratch = ();

    async fn next_part(&self, upload: &Upload, (): &mut ()) -> Result<Option<SourcePart>> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        if number > self.layout.parts {
            return Ok(None);
        }
        let (offset, len) = self.layout.range(number);
        let slice = self.bytes.slice(offset as usize..(offset + len) as usize);
        let header = match upload.algorithm() {
            None => None,
            Some(algorithm) => Some(bytes_checksum(algorithm, slice.clone(), &upload.context()).await?),
        };
        Ok(Some(SourcePart { number, len, body: PartBody::Bytes(slice), header, trailer: None, slot: None }))
    }
}

/// The checksum of in-memory part bytes, off the runtime threads when the part is large.
pub(crate) async fn bytes_checksum(
    algorithm: ChecksumAlgorithm,
    bytes: Bytes,
    context: &ErrorContext,
) -> Result<ChecksumValue> {
    if bytes.len() <= INLINE_CHECKSUM_LIMIT {
        return Ok(checksum(algorithm, &bytes));
    }
    tokio::task::spawn_blocking(move || checksum(algorithm, &bytes))
        .await
        .map_err(|e| Error::invalid_response(context.clone(), format!("checksum task failed: {e}")))
}
