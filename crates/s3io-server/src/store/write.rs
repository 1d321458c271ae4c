//! Writing uploaded bytes: temp files, one-pass hashing, handing the finished file over.
//!
//! An upload streams into a [`TempFile`] under `root/.s3io/tmp/` (the same
//! filesystem as the objects, so the final `rename` is atomic: a reader sees
//! the old object or the new one, never half of one). [`write_body`] coalesces
//! the request body's chunks into [`WRITE_BLOCK`]-sized blocks and hands each
//! block to the blocking pool, which hashes it ([`Hasher`]: MD5, through the
//! multi-buffer batcher that hashes concurrent uploads' blocks together, and the
//! requested checksums) and writes it in one call. Two blocks alternate: while
//! one is hashed and written, the next one fills from the socket, so receiving
//! and hashing use both cores and no buffer is allocated per block.
//! A temp file that is not [`persist`](TempFile::persist)ed is removed when dropped.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use s3s::dto::StreamingBlob;
use s3s::{s3_error, S3Error, S3ErrorCode};
use tokio::task::JoinHandle;

use super::checksum::{ChecksumSet, Digests, Hasher};
use super::md5_batch::Md5Lane;

/// Bytes per blocking write (and per hashing call).
pub(crate) const WRITE_BLOCK: usize = 1 << 20;

/// A file under the temp directory, removed on drop unless persisted.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates a new, uniquely named file in `tmp_dir` (blocking).
    pub(crate) fn create(tmp_dir: &Path) -> io::Result<(Self, File)> {
        let name = format!("{:032x}", rand::random::<u128>());
        let path = tmp_dir.join(name);
        let file = File::options().write(true).read(true).create_new(true).open(&path)?;
        Ok((Self { path, armed: true }, file))
    }

    /// Where the file is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `dest`, whose parent must exist (blocking).
    ///
    /// # Errors
    /// The rename's error; the temp file is removed on drop then.
    pub(crate) fn rename_to(mut self, dest: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, dest)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let path = std::mem::take(&mut self.path);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(move || std::fs::remove_file(path))),
            Err(_) => drop(std::fs::remove_file(path)),
        }
    }
}

type BlockWrite = JoinHandle<(Sink, Vec<u8>, io::Result<()>)>;

/// The file and the hasher, moved to the blocking pool for each block.
struct Sink {
    file: File,
    hasher: Hasher,
    /// This upload's handle on the multi-buffer MD5 batcher.
    lane: Md5Lane,
    /// The file's inode number, once known.
    ino: Option<u64>,
}

/// Streams `body` into `file`, hashing as it goes; returns the file (positioned
/// at its end) and the digests. `expected_len` is the request's length, when known.
///
/// # Errors
/// `IncompleteBody` when the body ends short of `expected_len` or fails
/// mid-stream; `XAmzContentSHA256Mismatch` when it does not match its signed
/// SHA-256; `RequestTimeout` when no byte arrives for `read_timeout` (the
/// caller then drops the body, which closes the connection, and the temp
/// file); `InternalError` on a write error.
pub(crate) async fn write_body(
    mut body: StreamingBlob,
    file: File,
    set: ChecksumSet,
    expected_len: Option<u64>,
    read_timeout: Duration,
) -> Result<(File, Digests), S3Error> {
    let mut sink = Some(Sink { file, hasher: Hasher::new(set), lane: Md5Lane::new(), ino: None });
    let mut pending: Option<BlockWrite> = None;
    let mut spare: Option<Vec<u8>> = None;
    let mut buf = Vec::with_capacity(WRITE_BLOCK);
    let mut received = 0u64;

    loop {
        let Ok(next) = tokio::time::timeout(read_timeout, body.next()).await else {
            return Err(s3_error!(
                RequestTimeout,
                "Your socket connection to the server was not read from or written to within the timeout period \
                 ({read_timeout:?} without a byte of the request body)"
            ));
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(body_error)?;
        // A part written in place must not spill into its neighbour's bytes.
        received += chunk.len() as u64;
        if let Some(expected) = expected_len.filter(|e| received > *e) {
            return Err(s3_error!(InvalidRequest, "the body is longer than the {expected} bytes announced"));
        }
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            let n = rest.len().min(WRITE_BLOCK - buf.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if buf.len() == WRITE_BLOCK {
                let next = spare.take().unwrap_or_else(|| Vec::with_capacity(WRITE_BLOCK));
                let full = std::mem::replace(&mut buf, next);
                spare = finish_pending(&mut pending, &mut sink).await?;
                pending = Some(spawn_write(take_sink(&mut sink)?, full));
            }
        }
    }
    finish_pending(&mut pending, &mut sink).await?;
    let mut last = take_sink(&mut sink)?;
    let (last, _, result) = tokio::task::spawn_blocking(move || {
        let (buf, result) = last.write(buf);
        (last, buf, result)
    })
    .await
    .map_err(S3Error::internal_error)?;
    result.map_err(S3Error::internal_error)?;

    let digests = last.hasher.finish();
    if let Some(expected) = expected_len.filter(|e| *e != digests.size) {
        return Err(s3_error!(IncompleteBody, "received {} bytes, Content-Length said {expected}", digests.size));
    }
    Ok((last.file, digests))
}

/// The error of a request body that failed mid-stream: a payload that does
/// not match its signed `x-amz-content-sha256` is S3's 400
/// `XAmzContentSHA256Mismatch`, anything else `IncompleteBody`.
fn body_error(e: s3s::StdError) -> S3Error {
    // s3s's `UploadStreamError` is not public; its message names the case.
    if e.to_string().contains("Sha256Mismatch") {
        let mut err = S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        err.set_status_code(http::StatusCode::BAD_REQUEST);
        return err;
    }
    s3_error!(IncompleteBody, "the request body failed: {e}")
}

/// Buffered writes into one file serialise on its inode lock in the kernel,
/// where a waiter spins on the owner: with the parts of a multipart upload
/// written in place into one file, that spinning was 4–5% of the server's CPU
/// (perf, 1 GiB of 8 MiB parts). Writers of one file take one of these first,
/// and a waiter sleeps instead. Striped by inode number.
static WRITE_LOCKS: [Mutex<()>; 16] = [const { Mutex::new(()) }; 16];

impl Sink {
    /// Hashes and writes `block`; hands it back for reuse (empty if the hashing failed).
    fn write(&mut self, block: Vec<u8>) -> (Vec<u8>, io::Result<()>) {
        match self.hasher.update_batched(&self.lane, block) {
            Ok(block) => {
                let result = self.write_hashed(&block);
                (block, result)
            }
            Err(e) => (Vec::new(), Err(e)),
        }
    }

    fn write_hashed(&mut self, block: &[u8]) -> io::Result<()> {
        let ino = match self.ino {
            Some(ino) => ino,
            None => *self.ino.insert(self.file.metadata()?.ino()),
        };
        let stripe = usize::try_from(ino % WRITE_LOCKS.len() as u64).unwrap_or_default();
        let _serial = WRITE_LOCKS[stripe].lock().unwrap_or_else(PoisonError::into_inner);
        self.file.write_all(block)
    }
}

fn spawn_write(mut sink: Sink, block: Vec<u8>) -> BlockWrite {
    tokio::task::spawn_blocking(move || {
        let (block, result) = sink.write(block);
        (sink, block, result)
    })
}

fn take_sink(sink: &mut Option<Sink>) -> Result<Sink, S3Error> {
    sink.take().ok_or_else(|| s3_error!(InternalError, "upload writer lost its file"))
}

/// Waits for the block in flight, puts the sink back and returns the emptied buffer.
async fn finish_pending(pending: &mut Option<BlockWrite>, sink: &mut Option<Sink>) -> Result<Option<Vec<u8>>, S3Error> {
    let Some(handle) = pending.take() else { return Ok(None) };
    let (back, mut block, result) = handle.await.map_err(S3Error::internal_error)?;
    result.map_err(S3Error::internal_error)?;
    *sink = Some(back);
    block.clear();
    Ok(Some(block))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::io::{Read, Seek, SeekFrom};

    fn blob(chunks: Vec<Bytes>) -> StreamingBlob {
        StreamingBlob::wrap(futures::stream::iter(chunks.into_iter().map(Ok::<_, io::Error>)))
    }

    #[tokio::test]
    async fn writes_and_hashes_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, file) = TempFile::create(dir.path()).unwrap();
        let data: Vec<u8> = (0..(WRITE_BLOCK * 2 + 12345)).map(|i| (i % 253) as u8).collect();
        let chunks = data.chunks(100_000).map(Bytes::copy_from_slice).collect();
        let set = ChecksumSet { crc32c: true, ..Default::default() };
        let (mut file, digests) =
            write_body(blob(chunks), file, set, Some(data.len() as u64), Duration::from_secs(5)).await.unwrap();
        assert_eq!(digests.size, data.len() as u64);
        let mut reference = Hasher::new(set);
        reference.update(&data);
        let reference = reference.finish();
        assert_eq!(digests.md5, reference.md5);
        assert_eq!(digests.checksums, reference.checksums);
        let mut back = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);

        let dest = dir.path().join("z");
        tmp.rename_to(&dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), data);
    }

    #[tokio::test]
    async fn short_body_is_incomplete_and_temp_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, file) = TempFile::create(dir.path()).unwrap();
        let path = tmp.path().to_path_buf();
        let err = write_body(
            blob(vec![Bytes::from_static(b"abc")]),
            file,
            ChecksumSet::default(),
            Some(4),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), &s3s::S3ErrorCode::IncompleteBody);
        drop(tmp);
        for _ in 0..100 {
            if !path.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("temp file not removed");
    }
}
