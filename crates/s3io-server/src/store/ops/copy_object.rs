//! CopyObject: a new object from an existing one's bytes, with the source's
//! metadata and tags or new ones (`x-amz-metadata-directive`,
//! `x-amz-tagging-directive`).
//!
//! Data files are immutable, so the copy is a hard link to the source's data
//! file under a new id, committed like any write (see `object`): no byte is
//! copied, whatever the size. A source replaced between reading its entry and
//! linking its file is read again.
//!
//! `If-None-Match: *` (S3 takes it on CopyObject as on PutObject: copy only where no object is)
//! is checked inside the transaction that commits the copy; s3s 0.14's `CopyObjectInput` has no
//! field for it, so it is read from the request's headers.

use std::time::SystemTime;

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::conditions::{check_copy_conditions, check_write_conditions};
use super::sse_c::{check_read, given_key, record};
use super::tagging::parse_tagging_header;
use super::{copy_source, missing_object, sse_of};
use crate::store::key::ObjectKey;
use crate::store::meta::{to_ms, ObjectMeta, Sse};
use crate::store::{blocking, FsStore};

/// How often a copy reads its source again when the source was replaced
/// between reading its entry and linking its file.
const LINK_ATTEMPTS: u32 = 16;

/// CopyObject.
pub(crate) async fn copy(store: &FsStore, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
    let if_none_match = match req.headers.get(http::header::IF_NONE_MATCH) {
        Some(value) => Some(
            ETagCondition::parse_http_header(value.as_bytes())
                .map_err(|_| s3_error!(InvalidArgument, "If-None-Match is neither `*` nor an ETag"))?,
        ),
        None => None,
    };
    store.check_conditional_write(if_none_match.is_some())?;
    let input = req.input;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    ObjectKey::parse(&src_key)?;
    let dst_key = ObjectKey::parse(&input.key)?.as_str().to_owned();
    let replace = input.metadata_directive.as_ref().is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
    let replace_tags = input.tagging_directive.as_ref().is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
    let new_tags = if replace_tags {
        Some(input.tagging.as_deref().map(parse_tagging_header).transpose()?.unwrap_or_default())
    } else {
        None
    };
    let source_key = given_key(
        input.copy_source_sse_customer_algorithm.as_deref(),
        input.copy_source_sse_customer_key.as_deref(),
        input.copy_source_sse_customer_key_md5.as_deref(),
    )?;
    let (customer_algorithm, customer_key_md5) = record(given_key(
        input.sse_customer_algorithm.as_deref(),
        input.sse_customer_key.as_deref(),
        input.sse_customer_key_md5.as_deref(),
    )?);
    let sse_given = input.server_side_encryption.is_some() || customer_algorithm.is_some();
    if src_bucket == input.bucket && src_key == dst_key && !replace && !replace_tags && !sse_given {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the \
             object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let layout = store.layout.clone();
    let meta = blocking(move || {
        layout.require_bucket(&input.bucket)?;
        let src = ObjectKey::parse(&src_key)?;
        let dst = ObjectKey::parse(&dst_key)?;
        for _ in 0..LINK_ATTEMPTS {
            let Some(src_meta) = layout.stat_object(&src_bucket, src)? else {
                return Err(missing_object(&layout, &src_bucket, src));
            };
            check_read(&src_meta.sse, source_key.as_ref())?;
            check_copy_conditions(
                &src_meta,
                input.copy_source_if_match.as_ref(),
                input.copy_source_if_none_match.as_ref(),
            )?;
            let mut meta = src_meta.clone();
            meta.mtime_ms = to_ms(SystemTime::now());
            if replace {
                meta.content_type = input.content_type.clone();
                meta.content_encoding = input.content_encoding.clone();
                meta.content_disposition = input.content_disposition.clone();
                meta.content_language = input.content_language.clone();
                meta.cache_control = input.cache_control.clone();
                meta.website_redirect_location = input.website_redirect_location.clone();
                meta.expires = crate::store::meta::expires_to_text(input.expires.as_ref());
                meta.user_metadata = input.metadata.clone().map(|m| m.into_iter().collect()).unwrap_or_default();
            }
            if let Some(tags) = &new_tags {
                meta.tags.clone_from(tags);
            }
            if let Some(class) = &input.storage_class {
                meta.storage_class = Some(class.as_str().to_owned());
            }
            // The copy is encrypted as this request asks (S3 does not carry the source's settings over).
            meta.sse = Sse {
                algorithm: input.server_side_encryption.as_ref().map(|s| s.as_str().to_owned()),
                kms_key_id: input.ssekms_key_id.clone(),
                bucket_key_enabled: input.bucket_key_enabled,
                customer_algorithm: customer_algorithm.clone(),
                customer_key_md5: customer_key_md5.clone(),
            };
            let check =
                |current: Option<&ObjectMeta>| check_write_conditions(current, dst, None, if_none_match.as_ref());
            if let Some(stored) = layout.commit_link(&input.bucket, dst, &src_meta, meta, check)? {
                return Ok(stored);
            }
        }
        Err(s3_error!(InternalError, "the copy source kept changing while being copied"))
    })
    .await?;
    let c = meta.checksums;
    let sse = sse_of(&meta.sse);
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(meta.etag)),
            last_modified: Some(Timestamp::from(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(meta.mtime_ms),
            )),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_crc64nvme: c.crc64nvme,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
            checksum_type: meta.checksum_type.map(ChecksumType::from),
        }),
        server_side_encryption: sse.algorithm,
        ssekms_key_id: sse.kms_key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
        sse_customer_algorithm: sse.customer_algorithm,
        sse_customer_key_md5: sse.customer_key_md5,
        ..Default::default()
    }))
}
