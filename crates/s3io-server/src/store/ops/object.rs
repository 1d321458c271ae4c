//! One object: HeadObject, GetObject, PutObject, DeleteObject, DeleteObjects.
//!
//! HEAD and GET share one output: [`head_output`] builds every header from the
//! object's metadata once, and GET moves those fields into its own output
//! next to the body ([`into_get_output`]).

use std::time::SystemTime;

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::conditions::{check_read_conditions, check_write_conditions, parts_count, select_span};
use super::sse_c::{check_read, given_key};
use super::tagging::parse_tagging_header;
use super::{missing_object, sse_of, storage_class, tag_count_header, to_i64, user_metadata};
use crate::store::checksum::{verify_content_md5, ChecksumSet, Checksums};
use crate::store::key::ObjectKey;
use crate::store::meta::{to_ms, ObjectMeta, Sse};
use crate::store::multipart;
use crate::store::range::ByteSpan;
use crate::store::read::object_body;
use crate::store::write::{write_body, TempFile};
use crate::store::{blocking, internal, FsStore};

/// S3's largest DeleteObjects request, in keys.
const MAX_DELETE_KEYS: usize = 1000;

/// The answer of a HEAD (and the headers of a GET) for `meta` and the span sent.
///
/// The stored full-object checksums go with answers that carry the whole object, as S3's do: no
/// range, or a range (or `partNumber=1` of a single-part object) that covers every byte. An answer
/// with part of the object carries none, since they would not match its bytes.
fn head_output(meta: &ObjectMeta, span: Option<ByteSpan>, part_number: Option<i32>) -> HeadObjectOutput {
    let whole = span.is_none_or(|s| s.start == 0 && s.len == meta.size);
    let (length, content_range) = match span {
        Some(s) => (s.len, Some(s.content_range(meta.size))),
        None => (meta.size, None),
    };
    let checksums = if whole { meta.checksums.clone() } else { Checksums::default() };
    let sse = sse_of(&meta.sse);
    HeadObjectOutput {
        accept_ranges: Some("bytes".to_owned()),
        content_length: Some(to_i64(length)),
        content_range,
        e_tag: Some(ETag::Strong(meta.etag.clone())),
        last_modified: Some(Timestamp::from(meta.modified())),
        content_type: meta.content_type.clone(),
        content_encoding: meta.content_encoding.clone(),
        content_disposition: meta.content_disposition.clone(),
        content_language: meta.content_language.clone(),
        cache_control: meta.cache_control.clone(),
        website_redirect_location: meta.website_redirect_location.clone(),
        expires: crate::store::meta::expires_from_text(meta.expires.as_deref()),
        metadata: user_metadata(meta),
        storage_class: storage_class(meta),
        parts_count: parts_count(meta, part_number),
        checksum_crc32: checksums.crc32,
        checksum_crc32c: checksums.crc32c,
        checksum_crc64nvme: checksums.crc64nvme,
        checksum_sha1: checksums.sha1,
        checksum_sha256: checksums.sha256,
        checksum_type: if whole { meta.checksum_type.clone().map(ChecksumType::from) } else { None },
        server_side_encryption: sse.algorithm,
        ssekms_key_id: sse.kms_key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
        sse_customer_algorithm: sse.customer_algorithm,
        sse_customer_key_md5: sse.customer_key_md5,
        ..Default::default()
    }
}

/// A GET's output: the HEAD fields and the body.
fn into_get_output(h: HeadObjectOutput, body: StreamingBlob, tag_count: Option<i32>) -> GetObjectOutput {
    GetObjectOutput {
        body: Some(body),
        accept_ranges: h.accept_ranges,
        content_length: h.content_length,
        content_range: h.content_range,
        e_tag: h.e_tag,
        last_modified: h.last_modified,
        content_type: h.content_type,
        content_encoding: h.content_encoding,
        content_disposition: h.content_disposition,
        content_language: h.content_language,
        cache_control: h.cache_control,
        website_redirect_location: h.website_redirect_location,
        expires: h.expires,
        metadata: h.metadata,
        storage_class: h.storage_class,
        parts_count: h.parts_count,
        checksum_crc32: h.checksum_crc32,
        checksum_crc32c: h.checksum_crc32c,
        checksum_crc64nvme: h.checksum_crc64nvme,
        checksum_sha1: h.checksum_sha1,
        checksum_sha256: h.checksum_sha256,
        checksum_type: h.checksum_type,
        server_side_encryption: h.server_side_encryption,
        ssekms_key_id: h.ssekms_key_id,
        bucket_key_enabled: h.bucket_key_enabled,
        sse_customer_algorithm: h.sse_customer_algorithm,
        sse_customer_key_md5: h.sse_customer_key_md5,
        tag_count,
        ..Default::default()
    }
}

/// HeadObject.
pub(crate) async fn head(store: &FsStore, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
    let input = req.input;
    ObjectKey::parse(&input.key)?;
    super::check_version_id(input.version_id.as_deref())?;
    let sse_c = given_key(
        input.sse_customer_algorithm.as_deref(),
        input.sse_customer_key.as_deref(),
        input.sse_customer_key_md5.as_deref(),
    )?;
    let layout = store.layout.clone();
    let (bucket, key) = (input.bucket.clone(), input.key.clone());
    let meta = blocking(move || {
        let key = ObjectKey::parse(&key)?;
        match layout.stat_object(&bucket, key)? {
            Some(m) => Ok(m),
            None => Err(missing_object(&layout, &bucket, key)),
        }
    })
    .await?;
    check_read(&meta.sse, sse_c.as_ref())?;
    check_read_conditions(
        &meta,
        input.if_match.as_ref(),
        input.if_none_match.as_ref(),
        input.if_modified_since.as_ref(),
        input.if_unmodified_since.as_ref(),
    )?;
    let span = select_span(&meta, input.range, input.part_number)?;
    let mut response = S3Response::new(head_output(&meta, span, input.part_number));
    if let Some(count) = tag_count_header(&meta) {
        response.headers.insert("x-amz-tagging-count", count);
    }
    Ok(response)
}

/// GetObject.
pub(crate) async fn get(store: &FsStore, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
    let input = &req.input;
    ObjectKey::parse(&input.key)?;
    super::check_version_id(input.version_id.as_deref())?;
    let sse_c = given_key(
        input.sse_customer_algorithm.as_deref(),
        input.sse_customer_key.as_deref(),
        input.sse_customer_key_md5.as_deref(),
    )?;
    let layout = store.layout.clone();
    let (bucket, key) = (input.bucket.clone(), input.key.clone());
    let (file, meta) = blocking(move || {
        let key = ObjectKey::parse(&key)?;
        match layout.open_object(&bucket, key)? {
            Some(found) => Ok(found),
            None => Err(missing_object(&layout, &bucket, key)),
        }
    })
    .await?;
    check_read(&meta.sse, sse_c.as_ref())?;
    check_read_conditions(
        &meta,
        input.if_match.as_ref(),
        input.if_none_match.as_ref(),
        input.if_modified_since.as_ref(),
        input.if_unmodified_since.as_ref(),
    )?;
    let span = select_span(&meta, input.range, input.part_number)?;
    let (start, length) = span.map_or((0, meta.size), |s| (s.start, s.len));
    let body = object_body(&req.extensions, file, start, length).await?;
    let head = head_output(&meta, span, input.part_number);
    let tags = (!meta.tags.is_empty()).then(|| i32::try_from(meta.tags.len()).unwrap_or(i32::MAX));
    Ok(S3Response::new(into_get_output(head, body, tags)))
}

/// PutObject.
pub(crate) async fn put(store: &FsStore, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
    let headers = req.headers;
    let trailers = req.trailing_headers;
    let input = req.input;
    store.check_conditional_write(input.if_none_match.is_some())?;
    let key = ObjectKey::parse(&input.key)?;
    let body = input.body.ok_or_else(|| s3_error!(IncompleteBody, "PutObject needs a body"))?;
    let (customer_algorithm, customer_key_md5) = super::sse_c::record(given_key(
        input.sse_customer_algorithm.as_deref(),
        input.sse_customer_key.as_deref(),
        input.sse_customer_key_md5.as_deref(),
    )?);
    let tags = input.tagging.as_deref().map(parse_tagging_header).transpose()?.unwrap_or_default();
    let sent = Checksums {
        crc32: input.checksum_crc32,
        crc32c: input.checksum_crc32c,
        crc64nvme: input.checksum_crc64nvme,
        sha1: input.checksum_sha1,
        sha256: input.checksum_sha256,
    };
    let mut set = ChecksumSet::requested(&sent, input.checksum_algorithm.as_ref(), &headers);
    if set == ChecksumSet::default() && store.default_checksum() {
        set.crc64nvme = true;
    }

    let layout = store.layout.clone();
    let (bucket, key_owned) = (input.bucket.clone(), key.as_str().to_owned());
    let (if_match, if_none_match) = (input.if_match, input.if_none_match);
    let (im, inm) = (if_match.clone(), if_none_match.clone());
    let (tmp, file) = blocking(move || {
        let key = ObjectKey::parse(&key_owned)?;
        // Checked early so a failing PUT sends no body to disk; checked again at the commit.
        if im.is_some() || inm.is_some() {
            check_write_conditions(layout.stat_object(&bucket, key)?.as_ref(), key, im.as_ref(), inm.as_ref())?;
        } else {
            layout.require_bucket(&bucket)?;
        }
        TempFile::create(&layout.tmp).map_err(internal)
    })
    .await?;

    let expected = input.content_length.and_then(|l| u64::try_from(l).ok());
    let (file, digests) = write_body(body, file, set, expected, store.layout.body_read_timeout).await?;
    drop(file);
    if let Some(md5) = &input.content_md5 {
        verify_content_md5(md5, &digests.md5)?;
    }
    let mut sent = sent;
    if let Some(trailers) = trailers.as_ref().and_then(s3s::TrailingHeaders::take) {
        sent.fill_from(Checksums::from_trailers(&trailers)?);
    }
    sent.verify_sent(&digests.checksums)?;

    let meta = ObjectMeta {
        etag: hex::encode(digests.md5),
        size: digests.size,
        mtime_ms: to_ms(SystemTime::now()),
        content_type: input.content_type,
        content_encoding: input.content_encoding.and_then(without_aws_chunked),
        content_disposition: input.content_disposition,
        content_language: input.content_language,
        cache_control: input.cache_control,
        website_redirect_location: input.website_redirect_location,
        expires: crate::store::meta::expires_to_text(input.expires.as_ref()),
        storage_class: input.storage_class.map(|s| s.as_str().to_owned()),
        user_metadata: input.metadata.map(|m| m.into_iter().collect()).unwrap_or_default(),
        checksum_type: (!digests.checksums.is_empty()).then(|| multipart::FULL_OBJECT.to_owned()),
        checksums: digests.checksums,
        tags,
        sse: Sse {
            algorithm: input.server_side_encryption.map(|s| s.as_str().to_owned()),
            kms_key_id: input.ssekms_key_id,
            bucket_key_enabled: input.bucket_key_enabled,
            customer_algorithm,
            customer_key_md5,
        },
        ..Default::default()
    };
    let layout = store.layout.clone();
    let bucket = input.bucket;
    let key_owned = key.as_str().to_owned();
    let meta = blocking(move || {
        let key = ObjectKey::parse(&key_owned)?;
        layout.commit(&bucket, key, tmp, meta, |current| {
            check_write_conditions(current, key, if_match.as_ref(), if_none_match.as_ref())
        })
    })
    .await?;

    let c = meta.checksums;
    let sse = sse_of(&meta.sse);
    Ok(S3Response::new(PutObjectOutput {
        e_tag: Some(ETag::Strong(meta.etag)),
        size: Some(to_i64(meta.size)),
        checksum_crc32: c.crc32,
        checksum_crc32c: c.crc32c,
        checksum_crc64nvme: c.crc64nvme,
        checksum_sha1: c.sha1,
        checksum_sha256: c.sha256,
        checksum_type: meta.checksum_type.map(ChecksumType::from),
        server_side_encryption: sse.algorithm,
        ssekms_key_id: sse.kms_key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
        sse_customer_algorithm: sse.customer_algorithm,
        sse_customer_key_md5: sse.customer_key_md5,
        ..Default::default()
    }))
}

/// DeleteObject.
pub(crate) async fn delete(
    store: &FsStore,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let input = req.input;
    ObjectKey::parse(&input.key)?;
    super::check_version_id(input.version_id.as_deref())?;
    let layout = store.layout.clone();
    blocking(move || layout.delete_object(&input.bucket, ObjectKey::parse(&input.key)?)).await?;
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

/// DeleteObjects: at most [`MAX_DELETE_KEYS`] keys, as S3.
pub(crate) async fn delete_many(
    store: &FsStore,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let input = req.input;
    if input.delete.objects.len() > MAX_DELETE_KEYS {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: \
             {} keys, at most {MAX_DELETE_KEYS} may be deleted in one request",
            input.delete.objects.len()
        ));
    }
    let layout = store.layout.clone();
    let quiet = input.delete.quiet.unwrap_or(false);
    let (deleted, errors) = blocking(move || {
        layout.require_bucket(&input.bucket)?;
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in input.delete.objects {
            let result = ObjectKey::parse(&object.key).and_then(|k| layout.delete_object(&input.bucket, k));
            match result {
                Ok(()) => {
                    if !quiet {
                        deleted.push(DeletedObject { key: Some(object.key), ..Default::default() });
                    }
                }
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    message: e.message().map(str::to_owned),
                    key: Some(object.key),
                    version_id: None,
                }),
            }
        }
        Ok((deleted, errors))
    })
    .await?;
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }))
}

/// The object's own Content-Encoding: `aws-chunked` says how the request body was framed (S3
/// documents `aws-chunked,gzip`) and is not part of it, so S3 does not store it.
fn without_aws_chunked(encoding: String) -> Option<String> {
    let own: Vec<&str> = encoding
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!own.is_empty()).then(|| own.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_is_not_the_objects_encoding() {
        assert_eq!(without_aws_chunked("aws-chunked".into()), None);
        assert_eq!(without_aws_chunked("aws-chunked,gzip".into()).as_deref(), Some("gzip"));
        assert_eq!(without_aws_chunked("gzip".into()).as_deref(), Some("gzip"));
    }
}
