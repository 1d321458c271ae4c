//! Where an upload's parts come from: the source trait the one worker loop (`run`) draws on,
//! and one module per kind of source. The mirror of `download::sink`.
//!
//! - `file`: a local file of known size; a part is a range streamed from disk per attempt
//!   (positional reads on the blocking pool), never held in memory whole.
//! - `bytes`: caller's `Bytes` of known size; a part is a zero-copy slice.
//! - `stream`: any `AsyncRead` of unknown length; a reader fills pooled part-sized buffers in
//!   order and hands them to the workers, never holding more than the memory limit.
//!
//! A source hands out [`SourcePart`]s: the part's number, its request body, and its checksum
//! (as a header, or as a trailer computed while the body streams). Sources of known size give
//! out part numbers from a shared counter; the stream source from its reader's channel.

mod bytes;
mod file;
mod stream;

use std::sync::Arc;

use ::bytes::Bytes;
use tokio::sync::OwnedSemaphorePermit;

pub(crate) use self::bytes::{bytes_checksum, BytesSource};
pub(crate) use self::file::{checksum_range, FileSource, SharedFile, Trailer};
use self::file::{FileRange, STREAMING_UNSIGNED_PAYLOAD_TRAILER};
use super::Upload;
use crate::checksum::ChecksumValue;
use crate::error::Result;
use crate::s3::request::S3Request;

/// Where the parts of one multipart upload come from.
pub(crate) trait PartSource: Sync {
    /// What a worker keeps across its parts (the file source's MD5 scratch buffer).
    type Scratch: Default + Send;

    /// The next part to send, or `None` when every part has been handed out.
    async fn next_part(&self, upload: &Upload, scratch: &mut Self::Scratch) -> Result<Option<SourcePart>>;
}

/// One part, ready to send.
pub(crate) struct SourcePart {
    /// The part number, from 1.
    pub(crate) number: u32,
    /// Its length in bytes.
    pub(crate) len: u64,
    pub(crate) body: PartBody,
    /// A checksum to send as a header (CRCs of bytes in memory, MD5).
    pub(crate) header: Option<ChecksumValue>,
    /// Where the trailer's checksum appears once the body was sent (file parts).
    pub(crate) trailer: Option<Trailer>,
    /// A stream part's share of the transfer's memory limit, released once the part is sent.
    pub(crate) slot: Option<OwnedSemaphorePermit>,
}

/// The body of one PutObject or UploadPart.
pub(crate) enum PartBody {
    /// Bytes in memory (a slice of the caller's `Bytes`, or a pooled buffer).
    Bytes(Bytes),
    /// A range of a file, streamed and re-read per attempt.
    File(FileRange),
}

impl PartBody {
    /// Sets `request`'s body; a file range with a trailer goes as aws-chunked.
    pub(crate) fn attach<'a>(self, request: S3Request<'a>) -> Result<S3Request<'a>> {
        Ok(match self {
            PartBody::Bytes(bytes) => request.body(bytes),
            PartBody::File(range) => {
                let request = match &range.trailer {
                    None => request,
                    Some(trailer) => {
                        // The object's own Content-Encoding follows aws-chunked; S3 stores only it.
                        let encoding = match request.headers.get(http::header::CONTENT_ENCODING) {
                            Some(own) => format!("aws-chunked,{}", own.to_str().unwrap_or_default()),
                            None => "aws-chunked".to_owned(),
                        };
                        request
                            .header("x-amz-content-sha256", STREAMING_UNSIGNED_PAYLOAD_TRAILER)?
                            .header("content-encoding", &encoding)?
                            .header("x-amz-decoded-content-length", &range.len.to_string())?
                            .header("x-amz-trailer", trailer.algorithm.header())?
                    }
                };
                request.payload(Arc::new(range))
            }
        })
    }
}

/// A file range's body and checksum: CRCs travel as an aws-chunked trailer computed while the
/// body streams; MD5 needs a first pass, as its header precedes the body.
pub(crate) struct FileBody {
    pub(crate) body: PartBody,
    /// A checksum to send as a header (MD5).
    pub(crate) header: Option<ChecksumValue>,
    /// Where the trailer's checksum appears once the body was sent.
    pub(crate) trailer: Option<Trailer>,
}
