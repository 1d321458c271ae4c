//! The S3 operations of [`FsStore`](super::FsStore), one module per group:
//! request in, index and filesystem calls on the blocking pool, response out.
//! `s3` only routes the [`s3s::S3`] trait's calls here.
//!
//! - `bucket`: Create/Delete/Head/ListBuckets, GetBucketLocation;
//! - `object`: Head/Get/Put/DeleteObject, DeleteObjects;
//! - `copy_object`: CopyObject;
//! - `listing`: ListObjects (v1 and v2);
//! - `upload`: the multipart upload operations;
//! - `tagging`: object tags (Put/Get/DeleteObjectTagging, `x-amz-tagging`);
//! - `sse_c`: customer-provided encryption keys (SSE-C), checked on writes and reads;
//! - `conditions`: preconditions and spans shared by the above.

pub(crate) mod bucket;
pub(crate) mod conditions;
pub(crate) mod copy_object;
pub(crate) mod listing;
pub(crate) mod object;
pub(crate) mod sse_c;
pub(crate) mod tagging;
pub(crate) mod upload;

use s3s::dto::{CopySource, Metadata, ServerSideEncryption, StorageClass};
use s3s::{s3_error, S3Error, S3Result};

use super::key::ObjectKey;
use super::meta::{ObjectMeta, Sse};
use super::range::ByteSpan;
use super::{multipart, no_such_key, Layout};

/// S3's default and largest page of a listing.
pub(crate) const MAX_KEYS: i32 = 1000;

/// The error for an object that is not there: `NoSuchBucket` or `NoSuchKey`.
pub(crate) fn missing_object(layout: &Layout, bucket: &str, key: ObjectKey<'_>) -> S3Error {
    match layout.require_bucket(bucket) {
        Ok(()) => no_such_key(key),
        Err(e) => e,
    }
}

/// The encryption headers of an object, as S3 answers them.
#[derive(Debug, Default)]
pub(crate) struct SseHeaders {
    pub(crate) algorithm: Option<ServerSideEncryption>,
    pub(crate) kms_key_id: Option<String>,
    pub(crate) bucket_key_enabled: Option<bool>,
    pub(crate) customer_algorithm: Option<String>,
    pub(crate) customer_key_md5: Option<String>,
}

/// What S3 answers for `sse`: the settings asked for, and `AES256` (SSE-S3,
/// S3's default encryption of every object since 2023) when none was.
pub(crate) fn sse_of(sse: &Sse) -> SseHeaders {
    let algorithm = match (&sse.algorithm, &sse.customer_algorithm) {
        (Some(a), _) => Some(a.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(ServerSideEncryption::AES256.to_owned()),
    };
    SseHeaders {
        algorithm: algorithm.map(ServerSideEncryption::from),
        kms_key_id: sse.kms_key_id.clone(),
        bucket_key_enabled: sse.bucket_key_enabled,
        customer_algorithm: sse.customer_algorithm.clone(),
        customer_key_md5: sse.customer_key_md5.clone(),
    }
}

/// `x-amz-tagging-count`, when the object has tags.
pub(crate) fn tag_count_header(meta: &ObjectMeta) -> Option<http::HeaderValue> {
    (!meta.tags.is_empty()).then(|| http::HeaderValue::from(meta.tags.len()))
}

pub(crate) fn user_metadata(meta: &ObjectMeta) -> Option<Metadata> {
    (!meta.user_metadata.is_empty()).then(|| meta.user_metadata.clone().into_iter().collect())
}

/// The storage class header: S3 omits it for STANDARD.
pub(crate) fn storage_class(meta: &ObjectMeta) -> Option<StorageClass> {
    meta.storage_class.as_ref().filter(|c| c.as_str() != "STANDARD").map(|c| StorageClass::from(c.clone()))
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn copy_source(source: &CopySource) -> S3Result<(String, String)> {
    match source {
        CopySource::Bucket { bucket, key, version_id } => {
            check_version_id(version_id.as_deref())?;
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(s3_error!(NotImplemented, "only bucket/key copy sources are supported")),
    }
}

/// The store keeps one version of each object, as S3 does in a bucket that never had
/// versioning: its version id is `null`, the only one a request may name.
///
/// # Errors
/// `InvalidArgument` (400, as S3 answers on such a bucket) for any other version id.
pub(crate) fn check_version_id(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        None | Some("null") => Ok(()),
        Some(_) => Err(s3_error!(InvalidArgument, "Invalid version id specified")),
    }
}

pub(crate) fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=multipart::MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(s3_error!(InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive"))
    }
}

/// `x-amz-copy-source-range: bytes=a-b` (both bounds required, as in S3).
pub(crate) fn parse_copy_range(header: &str, size: u64) -> S3Result<ByteSpan> {
    let invalid =
        || s3_error!(InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last");
    let (first, last) = header.strip_prefix("bytes=").and_then(|r| r.split_once('-')).ok_or_else(invalid)?;
    let first: u64 = first.trim().parse().map_err(|_| invalid())?;
    let last: u64 = last.trim().parse().map_err(|_| invalid())?;
    if first > last || last >= size {
        return Err(s3_error!(InvalidRange, "The requested copy range is not satisfiable"));
    }
    Ok(ByteSpan { start: first, len: last - first + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges() {
        assert_eq!(parse_copy_range("bytes=0-9", 100).unwrap(), ByteSpan { start: 0, len: 10 });
        assert!(parse_copy_range("bytes=0-100", 100).is_err());
        assert!(parse_copy_range("bytes=5-", 100).is_err());
        assert!(parse_copy_range("0-5", 100).is_err());
    }

    #[test]
    fn default_encryption_is_sse_s3() {
        assert_eq!(sse_of(&Sse::default()).algorithm.unwrap().as_str(), "AES256");
        let c = Sse { customer_algorithm: Some("AES256".into()), ..Default::default() };
        assert!(sse_of(&c).algorithm.is_none());
        let kms = Sse { algorithm: Some("aws:kms".into()), kms_key_id: Some("k".into()), ..Default::default() };
        assert_eq!(sse_of(&kms).algorithm.unwrap().as_str(), "aws:kms");
    }
}
