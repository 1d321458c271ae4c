//! How transfers are cut into requests: [`TransferConfig`] (part size, concurrency, memory limit,
//! stream buffer, multipart threshold, checksums, resume, fsync), its defaults, and the
//! multipart limits of S3 it is checked against.
//!
//! A transfer's memory is bounded twice: the client-wide [`memory_limit`](TransferConfig::memory_limit)
//! caps the pooled payload bytes of all its transfers, and a stream transfer's own
//! [`stream_buffer`](TransferConfig::stream_buffer) (a download's) and
//! [`upload_stream_buffer`](TransferConfig::upload_stream_buffer) cap the parts one stream holds
//! (counted in whole parts, at least one). [`TransferConfig::validate`]
//! rejects a part size or memory limit no transfer can run with.

use crate::error::{Error, Result};

use super::MIB;

/// Default part size for ranged downloads and multipart uploads: 8 MiB, the AWS CLI's and
/// s5cmd's choice, large enough that per-request overhead is small on fast links.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;

/// S3's smallest allowed part (except the last one) of a multipart upload: 5 MiB.
pub const MIN_UPLOAD_PART_SIZE: u64 = 5 * MIB;

/// S3's largest allowed part of a multipart upload: 5 GiB.
pub const MAX_UPLOAD_PART_SIZE: u64 = 5 * 1024 * MIB;

/// S3's limit on the number of parts of a multipart upload.
pub const MAX_UPLOAD_PARTS: u64 = 10_000;

/// Requests in flight a client starts with when its concurrency adapts (the default), and the
/// workers a few crate-internal jobs (checksumming a file to resume its upload) run: 8, which
/// saturate loopback and a local network.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Default cap on the payload bytes a client holds in pooled buffers at once: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 256 * MIB;

/// Default cap on what one stream transfer (a download into an `AsyncWrite`, an upload from an
/// `AsyncRead`) holds: 48 MiB, six parts of the default size. A stream's parts wait in memory —
/// a download's until every earlier part is written, an upload's until its request is sent —
/// so its memory is its requests in flight times the part size. On loopback and a local
/// network six parts in flight saturate a stream (measured: 2,717 MiB/s at 62 MiB of RSS
/// against 2,277 MiB/s at 282 MiB with the whole 256 MiB memory limit); raise it, or shrink
/// the part size, on links where each connection is slow and far.
pub const DEFAULT_STREAM_BUFFER: u64 = 48 * MIB;

/// Default cap on what one upload from a stream (an `AsyncRead`: stdin in the CLI) holds:
/// 64 MiB, eight parts of the default size. An upload's part holds its memory longer than a
/// download's: from the first byte read from the stream until the store acknowledges it, so
/// one part is always being read and fewer are on the wire than the budget holds. Measured
/// (`s3io bench --scenarios large-upload-stream`, 1 GiB, embedded server, 3 runs): at 48 MiB
/// 679 MiB/s with 65 MiB of RSS, at 64 MiB 776 MiB/s with 80 MiB, at 80 MiB 800 with 96; the
/// client before the stream budget (eight parts uploading, one read ahead) 769 with 96.
pub const DEFAULT_UPLOAD_STREAM_BUFFER: u64 = 64 * MIB;

/// When checksums are computed, sent and verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Uploads send a checksum with every part and the object; downloads verify full-object
    /// checksums where the object carries one.
    #[default]
    WhenSupported,
    /// Only where an operation requires it (for stores that reject the newer checksum headers).
    WhenRequired,
}

/// The checksum algorithm for uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumAlgorithm {
    /// CRC64/NVME: the default of current AWS SDKs, a full-object checksum combinable from parts.
    #[default]
    Crc64Nvme,
    /// CRC32C (Castagnoli).
    Crc32c,
    /// Content-MD5 per request, for stores that know no other.
    Md5,
    /// CRC32 (the ISO-HDLC / zlib CRC).
    Crc32,
    /// SHA-256. A multipart object carries S3's composite checksum (`…-N`).
    Sha256,
    /// SHA-1. A multipart object carries S3's composite checksum (`…-N`).
    Sha1,
}

/// How transfers are cut into requests and how much memory they may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferConfig {
    /// Bytes per ranged GET or uploaded part. By default [`DEFAULT_PART_SIZE`].
    pub part_size: u64,
    /// Requests in flight per transfer, when pinned. By default `None`: adaptive, one
    /// controller per client decides how many requests are in flight across all its transfers,
    /// starting at [`DEFAULT_CONCURRENCY`] and growing (up to the pool's
    /// [`max_connections_per_host`](super::PoolConfig::max_connections_per_host), or
    /// [`DEFAULT_MAX_CONCURRENCY`](super::DEFAULT_MAX_CONCURRENCY) without one) while the
    /// client's throughput grows with it.
    ///
    /// `Some(n)` pins it: in a client's settings, each transfer runs `n` requests and the
    /// controller is off (the client-wide limit moves only when the store throttles); on one
    /// transfer ([`Download::concurrency`](crate::Download::concurrency),
    /// [`Upload::concurrency`](crate::Upload::concurrency)), that transfer runs at most `n`
    /// requests, within the client-wide limit.
    pub concurrency: Option<usize>,
    /// Cap on pooled payload bytes held at once by the client. By default [`DEFAULT_MEMORY_LIMIT`].
    pub memory_limit: u64,
    /// Cap on the payload bytes one stream transfer (a download into an `AsyncWrite`, an upload
    /// from an `AsyncRead`) holds: its reordering window or read-ahead, and with it its requests
    /// in flight (this many bytes in whole parts, at least one, and never more than
    /// [`memory_limit`](Self::memory_limit)). By default [`DEFAULT_STREAM_BUFFER`].
    pub stream_buffer: u64,
    /// The same cap for an upload from an `AsyncRead`: the parts read from it and not yet
    /// acknowledged by the store. By default [`DEFAULT_UPLOAD_STREAM_BUFFER`].
    pub upload_stream_buffer: u64,
    /// Objects at most this large are uploaded with one PutObject. By default the part size.
    pub multipart_threshold: Option<u64>,
    /// When checksums are used. By default [`ChecksumMode::WhenSupported`].
    pub checksum_mode: ChecksumMode,
    /// The upload checksum algorithm. By default [`ChecksumAlgorithm::Crc64Nvme`].
    pub checksum_algorithm: ChecksumAlgorithm,
    /// Pick up where an earlier run to the same destination stopped: file downloads keep a
    /// journal of their finished parts beside their temporary file and fetch only what is
    /// missing (if the object is unchanged); multipart uploads from files reuse the parts of the
    /// key's unfinished upload whose checksums match the file. See
    /// [`Download::resume`](crate::Download::resume) and [`Upload::resume`](crate::Upload::resume).
    /// By default `false` (the CLI turns it on).
    pub resume: bool,
    /// Sync a downloaded file, then its directory, to the disk before reporting the download
    /// done, so it survives a power loss. By default `false`.
    pub fsync: bool,
}

impl Default for TransferConfig {
    fn default() -> Self {
        Self {
            part_size: DEFAULT_PART_SIZE,
            concurrency: None,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            stream_buffer: DEFAULT_STREAM_BUFFER,
            upload_stream_buffer: DEFAULT_UPLOAD_STREAM_BUFFER,
            multipart_threshold: None,
            checksum_mode: ChecksumMode::default(),
            checksum_algorithm: ChecksumAlgorithm::default(),
            resume: false,
            fsync: false,
        }
    }
}

/// Builder-style setters, one per field: `TransferConfig::default().with_…(…)`.
impl TransferConfig {
    /// Sets [`part_size`](Self::part_size).
    #[must_use]
    pub fn with_part_size(mut self, part_size: u64) -> Self {
        self.part_size = part_size;
        self
    }

    /// Pins [`concurrency`](Self::concurrency) at `concurrency` requests per transfer.
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = Some(concurrency);
        self
    }

    /// Sets [`concurrency`](Self::concurrency): `None` adapts, `Some(n)` pins.
    #[must_use]
    pub fn with_pinned_concurrency(mut self, concurrency: Option<usize>) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets [`memory_limit`](Self::memory_limit).
    #[must_use]
    pub fn with_memory_limit(mut self, memory_limit: u64) -> Self {
        self.memory_limit = memory_limit;
        self
    }

    /// Sets [`stream_buffer`](Self::stream_buffer).
    #[must_use]
    pub fn with_stream_buffer(mut self, stream_buffer: u64) -> Self {
        self.stream_buffer = stream_buffer;
        self
    }

    /// Sets [`upload_stream_buffer`](Self::upload_stream_buffer).
    #[must_use]
    pub fn with_upload_stream_buffer(mut self, upload_stream_buffer: u64) -> Self {
        self.upload_stream_buffer = upload_stream_buffer;
        self
    }

    /// Sets [`multipart_threshold`](Self::multipart_threshold).
    #[must_use]
    pub fn with_multipart_threshold(mut self, multipart_threshold: Option<u64>) -> Self {
        self.multipart_threshold = multipart_threshold;
        self
    }

    /// Sets [`checksum_mode`](Self::checksum_mode).
    #[must_use]
    pub fn with_checksum_mode(mut self, checksum_mode: ChecksumMode) -> Self {
        self.checksum_mode = checksum_mode;
        self
    }

    /// Sets [`checksum_algorithm`](Self::checksum_algorithm).
    #[must_use]
    pub fn with_checksum_algorithm(mut self, checksum_algorithm: ChecksumAlgorithm) -> Self {
        self.checksum_algorithm = checksum_algorithm;
        self
    }

    /// Sets [`resume`](Self::resume).
    #[must_use]
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Sets [`fsync`](Self::fsync).
    #[must_use]
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }
}

impl TransferConfig {
    /// Rejects settings no transfer can run with.
    pub fn validate(&self) -> Result<()> {
        if self.part_size == 0 {
            return Err(Error::InvalidConfig("part size must be at least 1 byte".into()));
        }
        if self.part_size > MAX_UPLOAD_PART_SIZE {
            return Err(Error::InvalidConfig(format!("part size {} is above S3's 5 GiB limit", self.part_size)));
        }
        if self.concurrency == Some(0) {
            return Err(Error::InvalidConfig("concurrency must be at least 1".into()));
        }
        if self.memory_limit < self.part_size {
            return Err(Error::InvalidConfig(format!(
                "memory limit {} is smaller than one part ({} bytes)",
                self.memory_limit, self.part_size
            )));
        }
        Ok(())
    }

    /// The size up to which uploads go as one PutObject.
    pub fn multipart_threshold(&self) -> u64 {
        self.multipart_threshold.unwrap_or(self.part_size)
    }

    /// The parts of `part_memory` bytes each that one stream transfer may hold: its
    /// [`stream_buffer`](Self::stream_buffer), within the [`memory_limit`](Self::memory_limit),
    /// in whole parts, at least one.
    pub(crate) fn stream_parts(&self, part_memory: u64) -> u64 {
        (self.stream_memory() / part_memory.max(1)).max(1)
    }

    /// The memory one download to a stream may hold: its
    /// [`stream_buffer`](Self::stream_buffer), within the [`memory_limit`](Self::memory_limit).
    pub(crate) fn stream_memory(&self) -> u64 {
        self.stream_buffer.min(self.memory_limit)
    }

    /// The parts of `part_memory` bytes each that one upload from a stream may hold: its
    /// [`upload_stream_buffer`](Self::upload_stream_buffer), within the
    /// [`memory_limit`](Self::memory_limit), in whole parts, at least one.
    pub(crate) fn upload_stream_parts(&self, part_memory: u64) -> u64 {
        (self.upload_stream_buffer.min(self.memory_limit) / part_memory.max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_zero_part_size_and_concurrency() {
        let t = TransferConfig { part_size: 0, ..Default::default() };
        assert!(t.validate().is_err());
        let t = TransferConfig { concurrency: Some(0), ..Default::default() };
        assert!(t.validate().is_err());
    }

    #[test]
    fn a_stream_holds_its_buffer_in_whole_parts_within_the_memory_limit() {
        let t = TransferConfig::default();
        assert_eq!(t.stream_parts(DEFAULT_PART_SIZE), 6);
        assert_eq!(t.clone().with_memory_limit(16 * MIB).stream_parts(DEFAULT_PART_SIZE), 2);
        assert_eq!(t.clone().with_stream_buffer(MIB).stream_parts(DEFAULT_PART_SIZE), 1);
        assert_eq!(t.with_stream_buffer(1024 * MIB).stream_parts(DEFAULT_PART_SIZE), 32);
    }

    #[test]
    fn rejects_memory_limit_below_one_part() {
        let t = TransferConfig { memory_limit: MIB, ..Default::default() };
        assert!(t.validate().unwrap_err().to_string().contains("smaller than one part"));
    }
}
