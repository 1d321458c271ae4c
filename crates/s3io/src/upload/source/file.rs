//! Uploading from a local file without holding parts in memory.
//!
//! A file is already addressable, so a part never needs to sit in memory whole. Its request body,
//! [`FileRange`], streams the part from disk in [`FILE_CHUNK_SIZE`] chunks read positionally
//! (`pread` on the blocking pool, never on the runtime's threads) into buffers from the client's
//! pool, and reads the range again from its start if the request is retried.
//!
//! The part's CRC is computed on the blocking thread as each chunk is read, in the same pass
//! that sends it: the body is framed as `aws-chunked` (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`) and
//! the checksum goes out as a trailer after the last chunk, where S3 verifies it. The chunk
//! framing is written into the chunk's own buffer around the data, so framing costs no extra
//! frame or allocation. Content-MD5 must precede the body, so an MD5 upload (for stores without
//! the newer checksums) makes a first pass over the part through a scratch buffer the worker
//! owns ([`checksum_range`]) and sends the checksum as a header.
//!
//! Memory per request is the chunks hyper holds while writing them and the one read ahead, which
//! the reader starts only once hyper has taken the one before it, so a 1 GiB upload at 16
//! requests needs a few MiB of payload buffers instead of 16 × the part size.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::{FileBody, PartBody, PartSource, SourcePart};
use crate::buffer::BufferPool;
use crate::checksum::{ChecksumValue, Hasher};
use crate::config::ChecksumAlgorithm;
use crate::error::{BoxError, Error, Result};
use crate::http::{ReplayablePayload, StreamingBody};
use crate::upload::plan::PartLayout;
use crate::upload::Upload;

/// Bytes per positional read of a file upload: a 256 KiB chunk buffer less its framing. Every
/// chunk costs a hand-off from the reader on the blocking pool to hyper (a context switch when
/// one side waits). A request holds at most two chunks (the one hyper writes and the one read
/// ahead) plus, for a moment, a third while hyper finishes the one before; at the start's 16
/// requests that is 8–12 MiB of chunk buffers. 512 KiB chunks, read ahead while another waited
/// in the channel, held three per request, 27 MiB at 16 requests: a 1 GiB upload to the
/// embedded server (`s3io bench --scenarios large-upload`, server root in tmpfs) peaked at
/// 38 MiB of RSS, with 256 KiB read only after the previous one is taken at 27, against 23 when
/// the client ran 8 requests, with throughput and CPU per GiB unchanged within the noise.
pub(crate) const FILE_CHUNK_SIZE: usize = CHUNK_BUFFER_SIZE - CHUNK_FRAMING;

/// Bytes of aws-chunked framing a chunk buffer holds around its data: the size line (at most
/// 5 hex digits for a chunk below 1 MiB, and CRLF) and the CRLF after the data.
const CHUNK_FRAMING: usize = 16;

/// Every chunk buffer has this one size, so the pool reuses them all (a short last chunk too).
const CHUNK_BUFFER_SIZE: usize = 256 * 1024;

/// The `x-amz-content-sha256` value of an aws-chunked body with unsigned chunks and trailers.
pub(crate) const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// The checksum a streamed part sends as an aws-chunked trailer, filled in when its body has
/// been read to the end (by the last attempt, for a retried request).
#[derive(Debug, Clone)]
pub(crate) struct Trailer {
    pub(crate) algorithm: ChecksumAlgorithm,
    value: Arc<Mutex<Option<ChecksumValue>>>,
}

impl Trailer {
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        Self { algorithm, value: Arc::default() }
    }

    /// The checksum the body sent, once it has been sent.
    pub(crate) fn value(&self) -> Option<ChecksumValue> {
        self.value.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The trailer block's length: the last (empty) chunk, the checksum line and the final CRLF.
    fn block_len(&self) -> u64 {
        let digest_bytes = self.algorithm.digest_len();
        let base64_len = 4 * (digest_bytes as u64).div_ceil(3);
        3 + self.algorithm.header().len() as u64 + 1 + base64_len + 2 + 2
    }
}

/// Hex digits of `n` (at least one).
fn hex_digits(n: u64) -> u64 {
    u64::from((64 - n.leading_zeros()).div_ceil(4).max(1))
}

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

/// A range of a file as a request payload: streamed in pooled chunks, re-read for each attempt;
/// with a [`Trailer`], framed as aws-chunked with the checksum computed on the way.
#[derive(Debug, Clone)]
pub(crate) struct FileRange {
    pub(crate) file: SharedFile,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) pool: BufferPool,
    pub(crate) trailer: Option<Trailer>,
}

impl ReplayablePayload for FileRange {
    /// The bytes on the wire: the range, plus the aws-chunked framing and trailer if any.
    fn len(&self) -> u64 {
        let Some(trailer) = &self.trailer else { return self.len };
        let chunk = FILE_CHUNK_SIZE as u64;
        let framed = |n: u64| hex_digits(n) + 2 + n + 2;
        let (full, rest) = (self.len / chunk, self.len % chunk);
        full * framed(chunk) + if rest > 0 { framed(rest) } else { 0 } + trailer.block_len()
    }

    fn open(&self) -> StreamingBody {
        Box::pin(FileRangeBody { range: self.clone(), chunks: None, finished: false })
    }
}

/// What the reader of one attempt hands the body: a chunk (framed, if aws-chunked), the end of
/// the range with its checksum (for the trailer), or why reading failed.
enum ReadChunk {
    Data(Bytes),
    End(Option<ChecksumValue>),
    Failed(String),
}

/// Chunks the reader may have ready or be reading beyond the one hyper holds: one, so the next
/// chunk is read while hyper writes the current one.
const READ_AHEAD: usize = 1;

/// One attempt's body over a [`FileRange`].
///
/// On its first poll it starts one reader on the blocking pool that reads the whole range in
/// order, chunk by chunk into pooled buffers, hashing as it goes, and hands the chunks over a
/// bounded channel. One blocking task per attempt instead of one per chunk: per-chunk
/// `spawn_blocking` made every chunk contend for the blocking pool's lock (measured: 60% of the
/// client's `sched_yield`s spun on it). When the body is dropped (the attempt failed, the upload
/// was cancelled) the channel closes and the reader stops at its next chunk.
struct FileRangeBody {
    range: FileRange,
    /// The reader's channel, once started.
    chunks: Option<tokio::sync::mpsc::Receiver<ReadChunk>>,
    /// Whether the last frame (or an error) has been yielded.
    finished: bool,
}

impl FileRange {
    /// Reads the range in chunks into `chunks`, on the calling (blocking-pool) thread.
    fn read_into(&self, chunks: &tokio::sync::mpsc::Sender<ReadChunk>, runtime: &tokio::runtime::Handle) {
        let mut hasher = self.trailer.as_ref().map(|t| Hasher::new(t.algorithm));
        let end = self.offset + self.len;
        let mut position = self.offset;
        while position < end {
            let len = (end - position).min(FILE_CHUNK_SIZE as u64) as usize;
            // A place in the channel first, then a buffer: the next chunk is read once the one
            // before it has been taken, so a reader holds no buffer while a read chunk waits
            // (two chunks per request at most, not three). Waiting ends when the body is
            // dropped, so a reader never outlives its attempt waiting for memory.
            let acquired = runtime.block_on(async {
                let permit = chunks.reserve().await.ok()?;
                tokio::select! {
                    buffer = self.pool.acquire(CHUNK_BUFFER_SIZE) => Some((permit, buffer)),
                    () = chunks.closed() => None,
                }
            });
            let (permit, mut buffer) = match acquired {
                Some((permit, Ok(buffer))) => (permit, buffer),
                Some((permit, Err(e))) => {
                    permit.send(ReadChunk::Failed(e.to_string()));
                    return;
                }
                None => return,
            };
            let result = match hasher.as_mut() {
                None => self.file.read_exact_at(buffer.fill_slice(len), position),
                Some(hasher) => {
                    // `{len:x}\r\n{data}\r\n`, written in place around the data.
                    let mut head = [0u8; CHUNK_FRAMING];
                    let head_len = chunk_head(len, &mut head);
                    let framed = buffer.fill_slice(head_len + len + 2);
                    framed[..head_len].copy_from_slice(&head[..head_len]);
                    framed[head_len + len..].copy_from_slice(b"\r\n");
                    let data = &mut framed[head_len..head_len + len];
                    let result = self.file.read_exact_at(data, position);
                    hasher.update(data);
                    result
                }
            };
            if let Err(e) = result {
                permit.send(ReadChunk::Failed(format!("reading {}: {e}", self.file.path.display())));
                return;
            }
            position += len as u64;
            permit.send(ReadChunk::Data(buffer.freeze()));
        }
        let _ = chunks.blocking_send(ReadChunk::End(hasher.map(|h| h.finish())));
    }
}

/// Writes the aws-chunked size line of a `len`-byte chunk (`{len:x}\r\n`) into `head`; returns
/// its length.
fn chunk_head(len: usize, head: &mut [u8; CHUNK_FRAMING]) -> usize {
    let digits = hex_digits(len as u64) as usize;
    for (i, byte) in head[..digits].iter_mut().enumerate() {
        let nibble = (len >> (4 * (digits - 1 - i))) & 0xf;
        *byte = b"0123456789abcdef"[nibble];
    }
    head[digits..digits + 2].copy_from_slice(b"\r\n");
    digits + 2
}

impl FileRangeBody {
    fn start(&mut self) -> &mut tokio::sync::mpsc::Receiver<ReadChunk> {
        self.chunks.get_or_insert_with(|| {
            let (sender, receiver) = tokio::sync::mpsc::channel(READ_AHEAD);
            let range = self.range.clone();
            let runtime = tokio::runtime::Handle::current();
            // The join handle is not needed: the reader reports through the channel.
            drop(tokio::task::spawn_blocking(move || range.read_into(&sender, &runtime)));
            receiver
        })
    }

    /// The last (empty) chunk and the checksum trailer; records the checksum for the caller.
    fn trailer_block(&self, value: Option<ChecksumValue>) -> Option<Bytes> {
        let (trailer, value) = (self.range.trailer.as_ref()?, value?);
        let block = format!("0\r\n{}:{}\r\n\r\n", trailer.algorithm.header(), value.value);
        *trailer.value.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
        Some(Bytes::from(block))
    }
}

impl Body for FileRangeBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        let message = match this.start().poll_recv(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(message) => message,
        };
        match message {
            Some(ReadChunk::Data(chunk)) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Some(ReadChunk::End(checksum)) => {
                this.finished = true;
                Poll::Ready(this.trailer_block(checksum).map(|block| Ok(Frame::data(block))))
            }
            Some(ReadChunk::Failed(why)) => {
                this.finished = true;
                Poll::Ready(Some(Err(why.into())))
            }
            None => {
                this.finished = true;
                Poll::Ready(Some(Err("the file reader stopped before the end of the range".into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(ReplayablePayload::len(&self.range))
    }
}

/// The parts of a file, numbered from a shared counter; each worker keeps a scratch buffer for
/// the MD5 pass across its parts.
pub(crate) struct FileSource {
    file: SharedFile,
    layout: PartLayout,
    next: AtomicU32,
    /// Part numbers not to send (stored already, by a resumed upload), by number; may be empty.
    skip: Vec<bool>,
}

impl FileSource {
    /// A source of `file`'s parts, handing out only those `skip` does not mark (indexed by part
    /// number; empty for all).
    pub(crate) fn resuming(file: SharedFile, layout: PartLayout, skip: Vec<bool>) -> Self {
        Self { file, layout, next: AtomicU32::new(1), skip }
    }
}

impl PartSource for FileSource {
    type Scratch = Vec<u8>;

    async fn next_part(&self, upload: &Upload, scratch: &mut Vec<u8>) -> Result<Option<SourcePart>> {
        let number = loop {
            let number = self.next.fetch_add(1, Ordering::Relaxed);
            if number > self.layout.parts {
                return Ok(None);
            }
            if !self.skip.get(number as usize).copied().unwrap_or(false) {
                break number;
            }
        };
        let (offset, len) = self.layout.range(number);
        let FileBody { body, header, trailer } = upload.file_body(&self.file, offset, len, scratch).await?;
        Ok(Some(SourcePart { number, len, body, header, trailer, slot: None }))
    }
}

impl Upload {
    /// The body of `len` bytes of `file` at `offset`, with its checksum set up for the mode and
    /// algorithm; `scratch` is the worker's buffer for the MD5 pass.
    pub(crate) async fn file_body(
        &self,
        file: &SharedFile,
        offset: u64,
        len: u64,
        scratch: &mut Vec<u8>,
    ) -> Result<FileBody> {
        let pool = self.client.buffer_pool().clone();
        let range = |trailer| FileRange { file: file.clone(), offset, len, pool: pool.clone(), trailer };
        Ok(match self.algorithm() {
            None => FileBody { body: PartBody::File(range(None)), header: None, trailer: None },
            Some(algorithm @ ChecksumAlgorithm::Md5) => {
                let (returned, result) = checksum_range(file, offset, len, algorithm, std::mem::take(scratch)).await;
                *scratch = returned;
                let checksum = result.map_err(|e| Error::io(self.context(), "reading", &*file.path, e))?;
                FileBody { body: PartBody::File(range(None)), header: Some(checksum), trailer: None }
            }
            Some(algorithm) => {
                let trailer = Trailer::new(algorithm);
                FileBody { body: PartBody::File(range(Some(trailer.clone()))), header: None, trailer: Some(trailer) }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::checksum;
    use http_body_util::BodyExt;

    /// Reads a body frame by frame, dropping each frame as hyper does once it is written.
    async fn drain(mut body: StreamingBody) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            out.extend_from_slice(&frame.unwrap().into_data().unwrap());
        }
        out
    }

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
        let range = FileRange { file, offset: 12_345, len: 700_001, pool: pool.clone(), trailer: None };
        for _attempt in 0..2 {
            let body = range.open();
            assert_eq!(body.size_hint().exact(), Some(700_001));
            let collected = drain(body).await;
            assert_eq!(&collected[..], &data[12_345..712_346]);
        }
        let stats = pool.stats();
        assert_eq!(stats.in_use_bytes, 0, "chunks not returned");
        assert!(stats.reused > 0, "chunks not reused: {stats:?}");
        // The consumer's chunk and the one read ahead: the reader takes no buffer while one waits.
        assert!(stats.allocated <= READ_AHEAD as u64 + 1, "{stats:?}");
    }

    #[tokio::test]
    async fn aws_chunked_body_frames_the_range_and_trails_its_checksum() {
        let data: Vec<u8> = (0..3 * FILE_CHUNK_SIZE as u32 + 5).map(|i| (i % 241) as u8).collect();
        let (_guard, file) = temp_file(&data);
        let pool = BufferPool::new(4 * 1024 * 1024);
        for (offset, len) in [(0, data.len()), (7, 2 * FILE_CHUNK_SIZE), (100, 1), (3, 4095)] {
            for algorithm in ChecksumAlgorithm::STORED {
                let trailer = Trailer::new(algorithm);
                let range = FileRange {
                    file: file.clone(),
                    offset: offset as u64,
                    len: len as u64,
                    pool: pool.clone(),
                    trailer: Some(trailer.clone()),
                };
                let wire = drain(range.open()).await;
                assert_eq!(wire.len() as u64, ReplayablePayload::len(&range), "{offset}+{len}");
                // Decode: `size\r\n data \r\n` … `0\r\n` trailer `\r\n`.
                let (mut rest, mut decoded) = (&wire[..], Vec::new());
                loop {
                    let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
                    let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
                    rest = &rest[line_end + 2..];
                    if size == 0 {
                        break;
                    }
                    decoded.extend_from_slice(&rest[..size]);
                    assert_eq!(&rest[size..size + 2], b"\r\n");
                    rest = &rest[size + 2..];
                }
                assert!(decoded == data[offset..offset + len], "{offset}+{len}");
                let expected = checksum(algorithm, &data[offset..offset + len]);
                assert_eq!(rest, format!("{}:{}\r\n\r\n", algorithm.header(), expected.value).as_bytes());
                assert_eq!(trailer.value(), Some(expected));
            }
        }
        // The consumer's chunk and the one waiting in the channel (or being read into).
        let working_set = READ_AHEAD as u64 + 1;
        assert!(pool.stats().allocated <= working_set, "chunk buffers of one size not reused: {:?}", pool.stats());
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

    #[test]
    fn chunk_head_is_the_hex_size_line() {
        for len in [1, 9, 15, 16, 255, 4096, 100_000, FILE_CHUNK_SIZE] {
            let mut head = [0u8; CHUNK_FRAMING];
            let n = chunk_head(len, &mut head);
            assert_eq!(&head[..n], format!("{len:x}\r\n").as_bytes());
        }
    }
}
