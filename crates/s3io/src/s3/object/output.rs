//! What an object request answers with: [`ObjectInfo`] (parsed from HeadObject's or a
//! GetObject's headers: only full-object checksums are kept), [`ContentRange`],
//! [`GetObjectOutput`] with its streaming body, and the outputs of PutObject, CopyObject and
//! DeleteObjects.

use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;

use crate::checksum::ChecksumValue;
use crate::config::ChecksumAlgorithm;
use crate::error::Result;
use crate::http::ResponseBody;
use crate::s3::parse_http_date;
use crate::s3::request::header_str;

/// What HeadObject (or a GetObject's headers) says about an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// Bytes in this response's body (the whole object for HEAD and whole GETs).
    pub content_length: u64,
    /// The ETag, with its quotes, as the store sent it.
    pub etag: Option<String>,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`, as the store sent it.
    pub expires: Option<String>,
    /// The storage class, when not STANDARD.
    pub storage_class: Option<String>,
    /// User metadata (`x-amz-meta-*`), names without the prefix.
    pub metadata: Vec<(String, String)>,
    /// Full-object checksums the store returned (`x-amz-checksum-*`).
    pub checksums: Vec<ChecksumValue>,
    /// Composite checksums the store returned: of a multipart object, a checksum of its parts'
    /// checksums, usually ending in `-N` (see [`composite_checksum`](crate::checksum::composite_checksum)).
    pub composite_checksums: Vec<ChecksumValue>,
    /// The version id, on versioned buckets.
    pub version_id: Option<String>,
    /// Server-side encryption (`AES256`, `aws:kms`), when the store reports it.
    pub server_side_encryption: Option<String>,
    /// The KMS key of `aws:kms` encryption, when the store reports it.
    pub sse_kms_key_id: Option<String>,
    /// The algorithm of SSE-C encryption (`AES256`), when the object is encrypted with a key the
    /// client supplies.
    pub sse_customer_algorithm: Option<String>,
    /// The base64 MD5 of the SSE-C key the object is encrypted with (never the key itself).
    pub sse_customer_key_md5: Option<String>,
    /// How many tags the object carries (`x-amz-tagging-count`), when it has any.
    pub tag_count: Option<u32>,
}

impl ObjectInfo {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name| header_str(headers, name).map(str::to_owned);
        let mut checksums = Vec::new();
        let mut composite_checksums = Vec::new();
        // Full-object checksums apart from composite ones. A composite one (a checksum of the
        // parts' checksums) ends in "-N" in a whole answer, but not always in a ranged one, so a
        // checksum other than CRC64NVME of a multipart object (its ETag ends in "-N") is
        // full-object only when the store says it is FULL_OBJECT. CRC64NVME is full-object by
        // definition.
        let checksum_type = header_str(headers, "x-amz-checksum-type");
        let multipart_etag = header_str(headers, "etag").is_some_and(|e| e.contains('-'));
        let composite = checksum_type.is_some_and(|t| t.eq_ignore_ascii_case("COMPOSITE"))
            || (multipart_etag && !checksum_type.is_some_and(|t| t.eq_ignore_ascii_case("FULL_OBJECT")));
        for algorithm in ChecksumAlgorithm::STORED {
            let Some(value) = text(algorithm.header()) else { continue };
            if value.contains('-') || (algorithm != ChecksumAlgorithm::Crc64Nvme && composite) {
                composite_checksums.push(ChecksumValue { algorithm, value });
            } else {
                checksums.push(ChecksumValue { algorithm, value });
            }
        }
        let metadata = headers
            .iter()
            .filter_map(|(name, value)| {
                let name = name.as_str().strip_prefix("x-amz-meta-")?;
                Some((name.to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        Self {
            content_length: header_str(headers, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0),
            etag: text("etag"),
            last_modified: header_str(headers, "last-modified").and_then(parse_http_date),
            content_type: text("content-type"),
            content_encoding: text("content-encoding"),
            content_disposition: text("content-disposition"),
            content_language: text("content-language"),
            cache_control: text("cache-control"),
            expires: text("expires"),
            storage_class: text("x-amz-storage-class"),
            metadata,
            checksums,
            composite_checksums,
            version_id: text("x-amz-version-id"),
            server_side_encryption: text("x-amz-server-side-encryption"),
            sse_kms_key_id: text("x-amz-server-side-encryption-aws-kms-key-id"),
            sse_customer_algorithm: text("x-amz-server-side-encryption-customer-algorithm"),
            sse_customer_key_md5: text("x-amz-server-side-encryption-customer-key-md5"),
            tag_count: header_str(headers, "x-amz-tagging-count").and_then(|v| v.parse().ok()),
        }
    }
}

/// `Content-Range: bytes start-end/total` of a ranged GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContentRange {
    /// First byte of the body.
    pub start: u64,
    /// Last byte of the body, included.
    pub end: u64,
    /// The whole object's size.
    pub total: u64,
}

impl ContentRange {
    /// Parses `bytes 0-99/1000`.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.trim().strip_prefix("bytes ")?;
        let (range, total) = rest.split_once('/')?;
        let (start, end) = range.split_once('-')?;
        Some(Self { start: start.parse().ok()?, end: end.parse().ok()?, total: total.parse().ok()? })
    }
}

/// A GetObject answer: the object's headers and its streaming body.
#[derive(Debug)]
#[non_exhaustive]
pub struct GetObjectOutput {
    /// What the headers say.
    pub info: ObjectInfo,
    /// The range this body covers, for ranged GETs answered with 206.
    pub content_range: Option<ContentRange>,
    /// The body, read with [`ResponseBody::next_chunk`].
    pub body: ResponseBody,
}

impl GetObjectOutput {
    /// The whole object's size (from Content-Range, or the length of a whole-object answer).
    pub fn object_size(&self) -> u64 {
        self.content_range.map_or(self.info.content_length, |r| r.total)
    }

    /// Reads the rest of the body into one buffer.
    pub async fn collect(mut self) -> Result<Bytes> {
        let mut out = bytes::BytesMut::with_capacity(self.info.content_length as usize);
        while let Some(chunk) = self.body.next_chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

/// A PutObject answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutObjectOutput {
    /// The new object's ETag.
    pub etag: Option<String>,
    /// The version id, on versioned buckets.
    pub version_id: Option<String>,
}

/// One key DeleteObjects could not delete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteError {
    /// The key.
    pub key: String,
    /// The S3 error code.
    pub code: String,
    /// The message.
    pub message: Option<String>,
}

/// A DeleteObjects answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectsOutput {
    /// Keys deleted (empty in quiet mode).
    pub deleted: Vec<String>,
    /// Keys that failed, with why.
    pub errors: Vec<DeleteError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_range() {
        assert_eq!(ContentRange::parse("bytes 0-99/1000"), Some(ContentRange { start: 0, end: 99, total: 1000 }));
        assert_eq!(ContentRange::parse("bytes */1000"), None);
        assert_eq!(ContentRange::parse("garbage"), None);
    }

    #[test]
    fn only_full_object_checksums_are_kept() {
        let info = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, http::HeaderValue::from_static(value));
            }
            ObjectInfo::from_headers(&headers).checksums.into_iter().map(|c| c.algorithm).collect::<Vec<_>>()
        };
        let both = [("x-amz-checksum-crc64nvme", "AAAAAAAAAAA="), ("x-amz-checksum-crc32c", "AAAAAA==")];
        let single_part = [("etag", "\"d41d8cd98f00b204e9800998ecf8427e\"")];
        let multipart = [("etag", "\"d41d8cd98f00b204e9800998ecf8427e-3\"")];
        let all = ChecksumAlgorithm::Crc64Nvme;
        assert_eq!(info(&[&both[..], &single_part[..]].concat()), [all, ChecksumAlgorithm::Crc32c]);
        // A multipart object's CRC32C is full-object only when the store says so.
        assert_eq!(info(&[&both[..], &multipart[..]].concat()), [all]);
        let full = [("x-amz-checksum-type", "FULL_OBJECT")];
        assert_eq!(info(&[&both[..], &multipart[..], &full[..]].concat()), [all, ChecksumAlgorithm::Crc32c]);
        let composite = [("x-amz-checksum-type", "COMPOSITE")];
        assert_eq!(info(&[&both[..], &single_part[..], &composite[..]].concat()), [all]);
        assert_eq!(info(&[("x-amz-checksum-crc32c", "AAAAAA==-3")]), []);
        let sha = [("x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")];
        assert_eq!(info(&[&sha[..], &single_part[..]].concat()), [ChecksumAlgorithm::Sha256]);
        assert_eq!(info(&[&sha[..], &multipart[..]].concat()), []);
    }
}
