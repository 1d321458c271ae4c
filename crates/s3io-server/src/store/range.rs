//! Byte ranges of a GET: which bytes to send and the `Content-Range` to say so.
//!
//! s3s parses the `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) into
//! [`Range`]; this module resolves it against the object's size the way S3
//! does: an end past the object is clamped, a start at or past the end (or a
//! zero-length suffix) is `InvalidRange` (416).

use s3s::dto::Range;
use s3s::{s3_error, S3Error};

/// The bytes a GET sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteSpan {
    /// First byte.
    pub(crate) start: u64,
    /// Number of bytes.
    pub(crate) len: u64,
}

impl ByteSpan {
    /// The `Content-Range` header value for this span of an object of `size` bytes.
    pub(crate) fn content_range(self, size: u64) -> String {
        let last = (self.start + self.len).saturating_sub(1);
        format!("bytes {}-{last}/{size}", self.start)
    }
}

/// Resolves `range` against an object of `size` bytes.
///
/// # Errors
/// `InvalidRange` when the range is not satisfiable.
pub(crate) fn resolve(range: Range, size: u64) -> Result<ByteSpan, S3Error> {
    let r = range.check(size).map_err(|_| {
        s3_error!(
            InvalidRange,
            "The requested range {} is not satisfiable for an object of {size} bytes",
            range.to_header_string()
        )
    })?;
    Ok(ByteSpan { start: r.start, len: r.end - r.start })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(header: &str, size: u64) -> Result<ByteSpan, s3s::S3ErrorCode> {
        let range = Range::parse(header).expect("valid header");
        resolve(range, size).map_err(|e| e.code().clone())
    }

    #[test]
    fn closed_open_and_suffix_ranges() {
        assert_eq!(span("bytes=0-9", 100), Ok(ByteSpan { start: 0, len: 10 }));
        assert_eq!(span("bytes=90-", 100), Ok(ByteSpan { start: 90, len: 10 }));
        assert_eq!(span("bytes=-10", 100), Ok(ByteSpan { start: 90, len: 10 }));
    }

    #[test]
    fn clamps_ends_past_the_object() {
        assert_eq!(span("bytes=50-1000", 100), Ok(ByteSpan { start: 50, len: 50 }));
        assert_eq!(span("bytes=-1000", 100), Ok(ByteSpan { start: 0, len: 100 }));
    }

    #[test]
    fn unsatisfiable_ranges_are_invalid_range() {
        assert_eq!(span("bytes=100-", 100), Err(s3s::S3ErrorCode::InvalidRange));
        assert_eq!(span("bytes=200-300", 100), Err(s3s::S3ErrorCode::InvalidRange));
        assert_eq!(span("bytes=-0", 100), Err(s3s::S3ErrorCode::InvalidRange));
        assert_eq!(span("bytes=0-0", 0), Err(s3s::S3ErrorCode::InvalidRange));
    }

    #[test]
    fn content_range_header() {
        assert_eq!(ByteSpan { start: 0, len: 10 }.content_range(100), "bytes 0-9/100");
        assert_eq!(ByteSpan { start: 99, len: 1 }.content_range(100), "bytes 99-99/100");
    }
}
