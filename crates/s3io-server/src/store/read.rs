//! Object bytes as a response body: spliced from the page cache to the socket
//! where the connection allows ([`crate::splice`]), else read in large blocks
//! off the async threads.
//!
//! [`FileStream`] owns the open file and reads [`READ_BLOCK`]-sized blocks on
//! tokio's blocking pool, one block ahead: as soon as a block is handed to
//! hyper, the read of the next one starts, so disk (page cache) reads overlap
//! socket writes. Each block is read straight into a fresh, uninitialised
//! `Vec` (no zeroing) that becomes the `Bytes` hyper writes, so a byte is
//! copied once from the page cache and once into the socket. The file was
//! positioned at the span's start before the stream was made; objects are
//! replaced by rename, never rewritten in place, so an open file never changes
//! under the stream.

use std::fs::File;
use std::future::Future as _;
use std::io::{self, Read, Seek as _, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures::Stream;
use s3s::dto::StreamingBlob;
use s3s::stream::{ByteStream, RemainingLength};
use s3s::{S3Result, StdError};
use tokio::task::JoinHandle;

use super::{blocking, internal};

/// The body of `len` bytes of `file` from `start`: spliced when the request
/// came over a connection that can splice (its extensions hold the link) and
/// the span is long enough to gain from it, otherwise a [`FileStream`].
pub(crate) async fn object_body(
    extensions: &http::Extensions,
    file: File,
    start: u64,
    len: u64,
) -> S3Result<StreamingBlob> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let file = match extensions.get::<crate::splice::SpliceLink>() {
        Some(link) if len >= crate::splice::MIN_SPLICE_LEN => {
            match crate::splice::SplicedFile::start(link, file, start, len) {
                Ok(body) => return Ok(StreamingBlob::new(body)),
                Err(file) => file,
            }
        }
        _ => file,
    };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = extensions;
    let file = if start > 0 {
        blocking(move || {
            let mut file = file;
            file.seek(SeekFrom::Start(start)).map_err(internal)?;
            Ok(file)
        })
        .await?
    } else {
        file
    };
    Ok(StreamingBlob::new(FileStream::new(file, len)))
}

/// Bytes per blocking read: large enough that the per-block costs (a task
/// hand-off, a syscall, an allocation) vanish next to the copy itself.
pub(crate) const READ_BLOCK: usize = 1 << 20;

type BlockRead = JoinHandle<(File, io::Result<Bytes>)>;

/// A response body streaming `remaining` bytes of a file from its current position.
pub(crate) struct FileStream {
    remaining: u64,
    pending: Option<BlockRead>,
}

impl FileStream {
    /// Starts streaming `len` bytes of `file` from its current position; the
    /// first block is read at once. Must be called inside a tokio runtime.
    pub(crate) fn new(file: File, len: u64) -> Self {
        let pending = (len > 0).then(|| spawn_read(file, block_len(len)));
        Self { remaining: len, pending }
    }
}

fn block_len(remaining: u64) -> usize {
    usize::try_from(remaining).map_or(READ_BLOCK, |r| r.min(READ_BLOCK))
}

fn spawn_read(file: File, len: usize) -> BlockRead {
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        let result = read_block(&mut file, len);
        (file, result)
    })
}

fn read_block(file: &mut File, len: usize) -> io::Result<Bytes> {
    let mut buf = Vec::with_capacity(len);
    file.by_ref().take(len as u64).read_to_end(&mut buf)?;
    if buf.len() < len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "object file is shorter than its recorded size"));
    }
    Ok(Bytes::from(buf))
}

impl Stream for FileStream {
    type Item = Result<Bytes, StdError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(pending) = this.pending.as_mut() else { return Poll::Ready(None) };
        let joined = ready!(Pin::new(pending).poll(cx));
        this.pending = None;
        let (file, bytes) = match joined {
            Ok((file, Ok(bytes))) => (file, bytes),
            Ok((_, Err(e))) => return Poll::Ready(Some(Err(Box::new(e)))),
            Err(e) => return Poll::Ready(Some(Err(Box::new(e)))),
        };
        this.remaining -= bytes.len() as u64;
        if this.remaining > 0 {
            this.pending = Some(spawn_read(file, block_len(this.remaining)));
        }
        Poll::Ready(Some(Ok(bytes)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let blocks = usize::try_from(self.remaining.div_ceil(READ_BLOCK as u64)).unwrap_or(usize::MAX);
        (blocks, Some(blocks))
    }
}

impl ByteStream for FileStream {
    fn remaining_length(&self) -> RemainingLength {
        RemainingLength::new_exact(usize::try_from(self.remaining).unwrap_or(usize::MAX))
    }
}

impl Drop for FileStream {
    fn drop(&mut self) {
        // A read in flight finishes on the blocking pool and is discarded.
        if let Some(pending) = self.pending.take() {
            pending.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;
    use std::io::{Seek, SeekFrom, Write};

    #[tokio::test]
    async fn streams_exactly_the_span_in_blocks() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..(READ_BLOCK * 2 + 10)).map(|i| (i % 251) as u8).collect();
        file.write_all(&data).unwrap();
        file.seek(SeekFrom::Start(5)).unwrap();
        let len = (READ_BLOCK + 100) as u64;
        let mut stream = FileStream::new(file, len);
        assert_eq!(stream.remaining_length().exact(), Some(len as usize));
        let mut got = Vec::new();
        let mut blocks = 0;
        while let Some(chunk) = stream.next().await {
            got.extend_from_slice(&chunk.unwrap());
            blocks += 1;
        }
        assert_eq!(blocks, 2);
        assert_eq!(got, data[5..5 + len as usize]);
    }

    #[tokio::test]
    async fn short_file_is_an_error() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"abc").unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut stream = FileStream::new(file, 10);
        assert!(stream.next().await.unwrap().is_err());
    }
}
