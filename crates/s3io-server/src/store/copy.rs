//! Ranged copies between files for UploadPartCopy: the bytes stay in the kernel, the MD5 is
//! taken from the metadata when it is already known.
//!
//! [`copy_span`] copies a byte range of a source object into a part file with
//! `copy_file_range` (Linux): the kernel moves the bytes between the two files (or shares the
//! extents, on filesystems with reflinks), so they never pass through this process. Where the
//! call is unsupported (another OS, an old kernel across filesystems) it falls back to
//! positional reads and writes through one buffer.
//!
//! A part's ETag is the MD5 of its bytes, as S3 computes it. [`recorded_md5`] finds it in the
//! source's metadata when the range is the whole of an object whose ETag is a plain MD5, or
//! exactly one of its parts; otherwise, or when the upload asked for part checksums (which S3
//! computes for copied parts too), [`digest_span`] reads the range once to hash it.
//! Everything here is blocking: callers run it on tokio's blocking pool.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;

use super::checksum::{ChecksumSet, Digests, Hasher};
use super::meta::ObjectMeta;
use super::range::ByteSpan;

/// Bytes per read when hashing a range or copying it without `copy_file_range`.
const COPY_BLOCK: usize = 1 << 20;

/// Copies `span` of `src` to the start of `out` (blocking).
///
/// # Errors
/// The OS error, or `UnexpectedEof` when `src` ends before the span does.
pub(crate) fn copy_span(src: &File, span: ByteSpan, out: &File) -> io::Result<()> {
    let mut copied = 0;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    while copied < span.len {
        use rustix::io::Errno;
        let mut offset_in = span.start + copied;
        let mut offset_out = copied;
        let left = usize::try_from(span.len - copied).unwrap_or(usize::MAX);
        match rustix::fs::copy_file_range(src, Some(&mut offset_in), out, Some(&mut offset_out), left) {
            Ok(0) => return Err(source_ended()),
            Ok(n) => copied += n as u64,
            Err(Errno::INTR) => {}
            // Not supported for these files: copy the rest through user space.
            Err(Errno::XDEV | Errno::NOSYS | Errno::OPNOTSUPP | Errno::INVAL | Errno::PERM) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if copied < span.len {
        let mut buf = vec![0u8; block_len(span.len - copied)];
        while copied < span.len {
            let n = block_len(span.len - copied);
            read_exact_at(src, &mut buf[..n], span.start + copied)?;
            out.write_all_at(&buf[..n], copied)?;
            copied += n as u64;
        }
    }
    Ok(())
}

/// The MD5 and the checksums of `set` over `span` of `src`, read once in blocks (blocking).
///
/// # Errors
/// The OS error, or `UnexpectedEof` when `src` ends before the span does.
pub(crate) fn digest_span(src: &File, span: ByteSpan, set: ChecksumSet) -> io::Result<Digests> {
    let mut hasher = Hasher::new(set);
    let mut buf = vec![0u8; block_len(span.len)];
    let mut done = 0;
    while done < span.len {
        let n = block_len(span.len - done);
        read_exact_at(src, &mut buf[..n], span.start + done)?;
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    Ok(hasher.finish())
}

/// The MD5 (hex) of `span` of the object `meta` describes, when the metadata records it: the
/// whole object when its ETag is a plain MD5 (not a multipart or synthesized one), or exactly
/// one of the parts it was assembled from.
pub(crate) fn recorded_md5(meta: &ObjectMeta, span: ByteSpan) -> Option<String> {
    let is_md5 = |etag: &str| etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit());
    if span.start == 0 && span.len == meta.size && meta.parts.is_empty() && is_md5(&meta.etag) {
        return Some(meta.etag.clone());
    }
    let mut start = 0;
    for part in &meta.parts {
        if start == span.start && part.size == span.len && is_md5(&part.etag) {
            return Some(part.etag.clone());
        }
        start += part.size;
    }
    None
}

fn block_len(left: u64) -> usize {
    usize::try_from(left).map_or(COPY_BLOCK, |l| l.min(COPY_BLOCK))
}

fn read_exact_at(src: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    src.read_exact_at(buf, offset)
        .map_err(|e| if e.kind() == io::ErrorKind::UnexpectedEof { source_ended() } else { e })
}

fn source_ended() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the copy source ended before the copied range")
}

#[cfg(test)]
mod tests {
    use md5::{Digest as _, Md5};

    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;

    use super::*;
    use crate::store::meta::PartMeta;

    fn file_with(data: &[u8]) -> File {
        let file = tempfile::tempfile().unwrap();
        file.write_all_at(data, 0).unwrap();
        file
    }

    fn read_all(file: &File, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, 0).unwrap();
        buf
    }

    #[test]
    fn copies_and_hashes_ranges() {
        let data: Vec<u8> = (0..3 * COPY_BLOCK + 17).map(|i| (i * 31 % 251) as u8).collect();
        let src = file_with(&data);
        for (start, len) in [(0, data.len()), (5, 1), (COPY_BLOCK - 3, COPY_BLOCK + 10), (data.len() - 1, 1)] {
            let span = ByteSpan { start: start as u64, len: len as u64 };
            let out = tempfile::tempfile().unwrap();
            copy_span(&src, span, &out).unwrap();
            assert!(read_all(&out, len) == data[start..start + len], "range {start}+{len}");
            let set = ChecksumSet { crc64nvme: true, ..Default::default() };
            let digests = digest_span(&src, span, set).unwrap();
            assert_eq!(digests.md5, <[u8; 16]>::from(Md5::digest(&data[start..start + len])));
            let mut crc = crc64fast_nvme::Digest::new();
            crc.write(&data[start..start + len]);
            assert_eq!(digests.checksums.crc64nvme, Some(BASE64.encode(crc.sum64().to_be_bytes())));
        }
    }

    #[test]
    fn a_source_shorter_than_the_range_is_an_error() {
        let src = file_with(b"0123456789");
        let out = tempfile::tempfile().unwrap();
        let err = copy_span(&src, ByteSpan { start: 5, len: 10 }, &out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(digest_span(&src, ByteSpan { start: 5, len: 10 }, ChecksumSet::default()).is_err());
    }

    #[test]
    fn recorded_md5_of_whole_objects_and_parts() {
        let md5 = |c: char| c.to_string().repeat(32);
        let whole = ObjectMeta { etag: md5('a'), size: 10, ..Default::default() };
        assert_eq!(recorded_md5(&whole, ByteSpan { start: 0, len: 10 }), Some(md5('a')));
        assert_eq!(recorded_md5(&whole, ByteSpan { start: 0, len: 9 }), None);
        let synthesized = ObjectMeta { etag: "0123-1".into(), size: 10, ..Default::default() };
        assert_eq!(recorded_md5(&synthesized, ByteSpan { start: 0, len: 10 }), None);
        let multipart = ObjectMeta {
            etag: format!("{}-2", md5('c')),
            size: 15,
            parts: vec![
                PartMeta { number: 1, size: 10, etag: md5('d'), ..Default::default() },
                PartMeta { number: 2, size: 5, etag: md5('e'), ..Default::default() },
            ],
            ..Default::default()
        };
        assert_eq!(recorded_md5(&multipart, ByteSpan { start: 10, len: 5 }), Some(md5('e')));
        assert_eq!(recorded_md5(&multipart, ByteSpan { start: 0, len: 15 }), None);
        assert_eq!(recorded_md5(&multipart, ByteSpan { start: 0, len: 5 }), None);
    }
}
