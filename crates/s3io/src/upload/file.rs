//! Uploading from a local file without holding parts in memory.
//!
//! A file is already addressable, so a part never needs to sit in memory whole. For each part a
//! worker makes two positional passes (`pread` on the blocking pool, never on the runtime's
//! threads): the first computes the part's checksum through a small scratch buffer the worker
//! owns (the checksum header must precede the body), the second is the request body itself,
//! [`FileRange`], which streams the range in [`FILE_CHUNK_SIZE`] chunks from the client's buffer
//! pool and reads the range again from its start if the request is retried. The second pass
//! reads from the page cache the first pass warmed, and if the file changed in between, the
//! store rejects the part because its bytes no longer match the checksum.
//!
//! Memory per worker is the scratch buffer plus the chunks hyper holds while writing them (the
//! one being sent, one read ahead), so a 1 GiB upload at concurrency 8 needs a few MiB of
//! payload buffers instead of 8 × the part size.

use std::fs::File;
use std::future::Future;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::buffer::BufferPool;
use crate::checksum::{ChecksumValue, Hasher};
use crate::config::ChecksumAlgorithm;
use crate::error::BoxError;
use crate::http::{ReplayablePayload, StreamingBody};

/// Bytes per positional read of a file upload: 256 KiB, large enough that a 1 GiB upload makes
/// only 4,096 reads per pass, small enough that 8 workers' read-ahead stays a few MiB.
pub const FILE_CHUNK_SIZE: usize = 256 * 1024;

/// An open file shared by the workers of one upload.
#[derive(Debug, Clone)]
pub(crate) struct SharedFile {
    pub(crate) file: Arc<File>,
    pub(crate) path: Arc<Path>,
}

impl SharedFile {
    /// Reads `buf.len()` bytes at `offset`; a file shorter than that (it shrank during the upload)
    /// is an error naming the path.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                std::io::Error::new(e.kind(), "the file shrank during the upload")
            } else {
                e
            }
        })
    }
}

/// First pass over a part: its checksum, read through `scratch` (the worker's own buffer, handed
/// back with the result). Runs on the blocking pool.
pub(crate) async fn checksum_range(
    file: &SharedFile,
    offset: u64,
    len: u64,
    algorithm: ChecksumAlgorithm,
    mut scratch: Vec<u8>,
) -> (Vec<u8>, std::io::Result<ChecksumValue>) {
    let file = file.clone();
    let task = tokio::task::spawn_blocking(move || {
        scratch.resize(FILE_CHUNK_SIZE, 0);
        let mut hasher = Hasher::new(algorithm);
        let end = offset + len;
        let mut position = offset;
        while position < end {
            let n = (end - position).min(scratch.len() as u64) as usize;
            if let Err(e) = file.read_exact_at(&mut scratch[..n], position) {
                return (scratch, Err(e));
            }
            hasher.update(&scratch[..n]);
            position += n as u64;
        }
        (scratch, Ok(hasher.finish()))
    });
    match task.await {
        Ok(result) => result,
        Err(e) => (Vec::new(), Err(std::io::Error::other(format!("checksum task failed: {e}")))),
    }
}

/// A range of a file as a request payload: streamed in pooled chunks, re-read for each attempt.
#[derive(Debug, Clone)]
pub(crate) struct FileRange {
    pub(crate) file: SharedFile,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) pool: BufferPool,
}

impl ReplayablePayload for FileRange {
    fn len(&self) -> u64 {
        self.len
    }

    fn open(&self) -> StreamingBody {
        Box::pin(FileRangeBody { range: self.clone(), position: self.offset, pending: None, ready: None })
    }
}

type ChunkRead = Pin<Box<dyn Future<Output = Result<Bytes, BoxError>> + Send>>;

/// One attempt's body over a [`FileRange`]: one chunk being sent, the next one read ahead.
struct FileRangeBody {
    range: FileRange,
    /// Where the next read starts.
    position: u64,
    /// The read in progress.
    pending: Option<ChunkRead>,
    /// A read that finished before it was asked for.
    ready: Option<Result<Bytes, BoxError>>,
}

impl FileRangeBody {
    fn end(&self) -> u64 {
        self.range.offset + self.range.len
    }

    /// Starts reading the next chunk, if any is left.
    fn start_read(&mut self) {
        if self.position >= self.end() {
            return;
        }
        let len = (self.end() - self.position).min(FILE_CHUNK_SIZE as u64) as usize;
        let offset = self.position;
        self.position += len as u64;
        let file = self.range.file.clone();
        let pool = self.range.pool.clone();
        self.pending = Some(Box::pin(async move {
            let mut buffer = pool.acquire(len).await?;
            let path = file.path.clone();
            let task = tokio::task::spawn_blocking(move || {
                let result = file.read_exact_at(buffer.fill_slice(len), offset);
                (buffer, result)
            });
            let (buffer, result) = task.await?;
            result.map_err(|e| format!("reading {}: {e}", path.display()))?;
            Ok(buffer.freeze())
        }));
    }
}

impl Body for FileRangeBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.pending.is_none() && this.ready.is_none() {
            this.start_read();
        }
        let result = match this.ready.take() {
            Some(result) => result,
            None => {
                let Some(read) = this.pending.as_mut() else { return Poll::Ready(None) };
                match read.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(result) => result,
                }
            }
        };
        this.pending = None;
        let chunk = match result {
            Ok(chunk) => chunk,
            Err(e) => {
                this.position = this.end();
                return Poll::Ready(Some(Err(e)));
            }
        };
        // Read ahead while hyper writes this chunk; poll once so the read starts now.
        this.start_read();
        if let Some(read) = this.pending.as_mut() {
            if let Poll::Ready(result) = read.as_mut().poll(cx) {
                this.pending = None;
                this.ready = Some(result);
            }
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.position >= self.end() && self.pending.is_none() && self.ready.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.range.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::checksum;
    use http_body_util::BodyExt;

    fn temp_file(data: &[u8]) -> (tempfile::NamedTempFile, SharedFile) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, data).unwrap();
        let file = File::open(f.path()).unwrap();
        let shared = SharedFile { file: Arc::new(file), path: f.path().into() };
        (f, shared)
    }

    #[tokio::test]
    async fn streams_a_range_and_replays_it() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let (_guard, file) = temp_file(&data);
        let pool = BufferPool::new(4 * 1024 * 1024);
        let range = FileRange { file, offset: 12_345, len: 700_001, pool: pool.clone() };
        for _attempt in 0..2 {
            let body = range.open();
            assert_eq!(body.size_hint().exact(), Some(700_001));
            let collected = body.collect().await.unwrap().to_bytes();
            assert_eq!(&collected[..], &data[12_345..712_346]);
        }
        let stats = pool.stats();
        assert_eq!(stats.in_use_bytes, 0, "chunks not returned");
        assert!(stats.reused > 0, "chunks not reused: {stats:?}");
        assert!(stats.high_water_bytes <= 2 * FILE_CHUNK_SIZE as u64, "{stats:?}");
    }

    #[tokio::test]
    async fn checksum_pass_matches_one_shot_and_reports_short_files() {
        let data: Vec<u8> = (0..600_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let (_guard, file) = temp_file(&data);
        let (scratch, sum) = checksum_range(&file, 100, 500_000, ChecksumAlgorithm::Crc64Nvme, Vec::new()).await;
        assert_eq!(sum.unwrap(), checksum(ChecksumAlgorithm::Crc64Nvme, &data[100..500_100]));
        let (_, short) = checksum_range(&file, 500_000, 200_000, ChecksumAlgorithm::Crc32c, scratch).await;
        assert!(short.unwrap_err().to_string().contains("shrank"));
    }
}
