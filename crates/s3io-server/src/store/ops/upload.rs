//! The multipart upload operations: CreateMultipartUpload, UploadPart,
//! UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload,
//! ListMultipartUploads, ListParts. The mechanics (parts written in place,
//! assembly without a copy, ETags and checksums) are in `multipart`; the
//! completed object is committed like any write (see `object`).

use std::io::{self, Write as _};
use std::time::SystemTime;

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::conditions::{check_copy_conditions, check_write_conditions};
use super::sse_c;
use super::tagging::parse_tagging_header;
use super::{check_part_number, copy_source, missing_object, parse_copy_range, sse_of, to_i64, MAX_KEYS};
use crate::store::checksum::{verify_content_md5, ChecksumSet, Checksums};
use crate::store::copy;
use crate::store::key::ObjectKey;
use crate::store::meta::{to_ms, ObjectMeta, PartMeta, Sse};
use crate::store::multipart::{self, CompletedRecord, UploadRecord};
use crate::store::range::ByteSpan;
use crate::store::write::{write_body, TempFile};
use crate::store::{blocking, internal, is_absent, FsStore, Layout};

/// CreateMultipartUpload.
pub(crate) async fn create(
    store: &FsStore,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let input = req.input;
    let key = ObjectKey::parse(&input.key)?.as_str().to_owned();
    let tags = input.tagging.as_deref().map(parse_tagging_header).transpose()?.unwrap_or_default();
    let (customer_algorithm, customer_key_md5) = sse_c::record(sse_c::given_key(
        input.sse_customer_algorithm.as_deref(),
        input.sse_customer_key.as_deref(),
        input.sse_customer_key_md5.as_deref(),
    )?);
    let sse = Sse {
        algorithm: input.server_side_encryption.as_ref().map(|s| s.as_str().to_owned()),
        kms_key_id: input.ssekms_key_id.clone(),
        bucket_key_enabled: input.bucket_key_enabled,
        customer_algorithm,
        customer_key_md5,
    };
    let sse_out = sse_of(&sse);
    let record = UploadRecord {
        bucket: input.bucket.clone(),
        key: key.clone(),
        initiated_ms: to_ms(SystemTime::now()),
        meta: ObjectMeta {
            content_type: input.content_type,
            content_encoding: input.content_encoding,
            content_disposition: input.content_disposition,
            content_language: input.content_language,
            cache_control: input.cache_control,
            website_redirect_location: input.website_redirect_location,
            expires: crate::store::meta::expires_to_text(input.expires.as_ref()),
            storage_class: input.storage_class.map(|s| s.as_str().to_owned()),
            user_metadata: input.metadata.map(|m| m.into_iter().collect()).unwrap_or_default(),
            tags,
            sse,
            ..Default::default()
        },
        checksum_algorithm: input.checksum_algorithm.as_ref().map(|a| a.as_str().to_owned()),
        checksum_type: input.checksum_type.as_ref().map(|t| t.as_str().to_owned()),
    };
    let layout = store.layout.clone();
    let upload_id = multipart::new_upload_id();
    let id = upload_id.clone();
    blocking(move || {
        layout.require_bucket(&record.bucket)?;
        let dir = layout.upload_dir(&id);
        std::fs::create_dir(&dir).map_err(internal)?;
        let json = serde_json::to_vec(&record).map_err(|e| internal(io::Error::other(e)))?;
        layout.write_json_atomically(&dir.join("upload.json"), &json).map_err(internal)
    })
    .await?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(key),
        upload_id: Some(upload_id),
        checksum_algorithm: input.checksum_algorithm,
        checksum_type: input.checksum_type,
        server_side_encryption: sse_out.algorithm,
        ssekms_key_id: sse_out.kms_key_id,
        bucket_key_enabled: sse_out.bucket_key_enabled,
        sse_customer_algorithm: sse_out.customer_algorithm,
        sse_customer_key_md5: sse_out.customer_key_md5,
        ..Default::default()
    }))
}

/// UploadPart.
pub(crate) async fn upload_part(
    store: &FsStore,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let headers = req.headers;
    let trailers = req.trailing_headers;
    let input = req.input;
    check_part_number(input.part_number)?;
    let body = input.body.ok_or_else(|| s3_error!(IncompleteBody, "UploadPart needs a body"))?;
    let part_key = sse_c::given_key(
        input.sse_customer_algorithm.as_deref(),
        input.sse_customer_key.as_deref(),
        input.sse_customer_key_md5.as_deref(),
    )?;
    let sent = Checksums {
        crc32: input.checksum_crc32,
        crc32c: input.checksum_crc32c,
        crc64nvme: input.checksum_crc64nvme,
        sha1: input.checksum_sha1,
        sha256: input.checksum_sha256,
    };
    let layout = store.layout.clone();
    let (bucket, key, id) = (input.bucket.clone(), input.key.clone(), input.upload_id.clone());
    let expected = input.content_length.and_then(|l| u64::try_from(l).ok());
    let number = input.part_number;
    let (record, target) = blocking(move || {
        let record = read_upload(&layout, &bucket, &key, &id)?;
        // Every part of an SSE-C upload carries the upload's key, as S3 requires.
        sse_c::check_read(&record.meta.sse, part_key.as_ref())?;
        let dir = layout.upload_dir(&id);
        let in_place = match expected {
            Some(len) => multipart::open_in_place(&dir, &layout.tmp, number, len).map_err(internal)?,
            None => None,
        };
        let target = match in_place {
            Some(part) => PartTarget::InPlace(part),
            None => {
                let (tmp, file) = TempFile::create(&layout.tmp).map_err(internal)?;
                PartTarget::Own(tmp, file)
            }
        };
        Ok((record, target))
    })
    .await?;
    let mut set = ChecksumSet::requested(&sent, input.checksum_algorithm.as_ref(), &headers);
    if let Some(alg) = &record.checksum_algorithm {
        set = ChecksumSet::requested(&sent, Some(&ChecksumAlgorithm::from(alg.clone())), &headers);
    }
    let (file, dest) = match target {
        PartTarget::InPlace(part) => (part.file.try_clone().map_err(internal)?, PartDest::InPlace(part)),
        PartTarget::Own(tmp, file) => (file, PartDest::Own(tmp)),
    };
    let (file, digests) = write_body(body, file, set, expected, store.layout.body_read_timeout).await?;
    if let Some(md5) = &input.content_md5 {
        verify_content_md5(md5, &digests.md5)?;
    }
    let mut sent = sent;
    if let Some(trailers) = trailers.as_ref().and_then(s3s::TrailingHeaders::take) {
        sent.fill_from(Checksums::from_trailers(&trailers)?);
    }
    sent.verify_sent(&digests.checksums)?;
    drop(file);

    let part = PartMeta {
        number: input.part_number,
        etag: hex::encode(digests.md5),
        size: digests.size,
        mtime_ms: to_ms(SystemTime::now()),
        checksums: digests.checksums,
        offset: match &dest {
            PartDest::InPlace(p) => Some(p.offset),
            PartDest::Own(_) => None,
        },
    };
    let layout = store.layout.clone();
    let id = input.upload_id;
    let part = blocking(move || {
        store_part(&layout, &id, dest, &part)?;
        Ok(part)
    })
    .await?;
    let c = part.checksums;
    Ok(S3Response::new(UploadPartOutput {
        e_tag: Some(ETag::Strong(part.etag)),
        checksum_crc32: c.crc32,
        checksum_crc32c: c.crc32c,
        checksum_crc64nvme: c.crc64nvme,
        checksum_sha1: c.sha1,
        checksum_sha256: c.sha256,
        ..Default::default()
    }))
}

/// UploadPartCopy.
pub(crate) async fn upload_part_copy(
    store: &FsStore,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let input = req.input;
    check_part_number(input.part_number)?;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    ObjectKey::parse(&src_key)?;
    let source_key = sse_c::given_key(
        input.copy_source_sse_customer_algorithm.as_deref(),
        input.copy_source_sse_customer_key.as_deref(),
        input.copy_source_sse_customer_key_md5.as_deref(),
    )?;
    let part_key = sse_c::given_key(
        input.sse_customer_algorithm.as_deref(),
        input.sse_customer_key.as_deref(),
        input.sse_customer_key_md5.as_deref(),
    )?;
    let layout = store.layout.clone();
    let part = blocking(move || {
        let record = read_upload(&layout, &input.bucket, &input.key, &input.upload_id)?;
        sse_c::check_read(&record.meta.sse, part_key.as_ref())?;
        let src = ObjectKey::parse(&src_key)?;
        let (file, src_meta) = match layout.open_object(&src_bucket, src)? {
            Some(found) => found,
            None => return Err(missing_object(&layout, &src_bucket, src)),
        };
        sse_c::check_read(&src_meta.sse, source_key.as_ref())?;
        check_copy_conditions(
            &src_meta,
            input.copy_source_if_match.as_ref(),
            input.copy_source_if_none_match.as_ref(),
        )?;
        let span = match &input.copy_source_range {
            Some(r) => parse_copy_range(r, src_meta.size)?,
            None => ByteSpan { start: 0, len: src_meta.size },
        };
        let (tmp, out) = TempFile::create(&layout.tmp).map_err(internal)?;
        copy::copy_span(&file, span, &out).map_err(internal)?;
        drop(out);
        // S3 computes the upload's checksum algorithm for copied parts too.
        let algorithm = record.checksum_algorithm.map(ChecksumAlgorithm::from);
        let set = ChecksumSet::requested(&Checksums::default(), algorithm.as_ref(), &http::HeaderMap::new());
        let recorded = copy::recorded_md5(&src_meta, span).filter(|_| set == ChecksumSet::default());
        let (etag, checksums) = match recorded {
            Some(etag) => (etag, Checksums::default()),
            None => {
                let digests = copy::digest_span(&file, span, set).map_err(internal)?;
                (hex::encode(digests.md5), digests.checksums)
            }
        };
        let part = PartMeta {
            number: input.part_number,
            etag,
            size: span.len,
            mtime_ms: to_ms(SystemTime::now()),
            checksums,
            offset: None,
        };
        store_part(&layout, &input.upload_id, PartDest::Own(tmp), &part)?;
        Ok(part)
    })
    .await?;
    let c = part.checksums;
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(part.etag)),
            last_modified: Some(Timestamp::from(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(part.mtime_ms),
            )),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_crc64nvme: c.crc64nvme,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
        }),
        ..Default::default()
    }))
}

/// CompleteMultipartUpload.
pub(crate) async fn complete(
    store: &FsStore,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let input = req.input;
    store.check_conditional_write(input.if_none_match.is_some())?;
    let layout = store.layout.clone();
    let done = blocking(move || complete_upload(&layout, input)).await?;
    let c = done.checksums;
    let sse = sse_of(&done.sse);
    Ok(S3Response::new(CompleteMultipartUploadOutput {
        bucket: Some(done.bucket),
        key: Some(done.key),
        e_tag: Some(ETag::Strong(done.etag)),
        checksum_crc32: c.crc32,
        checksum_crc32c: c.crc32c,
        checksum_crc64nvme: c.crc64nvme,
        checksum_sha1: c.sha1,
        checksum_sha256: c.sha256,
        checksum_type: done.checksum_type.map(ChecksumType::from),
        server_side_encryption: sse.algorithm,
        ssekms_key_id: sse.kms_key_id,
        bucket_key_enabled: sse.bucket_key_enabled,
        ..Default::default()
    }))
}

/// AbortMultipartUpload.
pub(crate) async fn abort(
    store: &FsStore,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let input = req.input;
    let layout = store.layout.clone();
    blocking(move || {
        read_upload(&layout, &input.bucket, &input.key, &input.upload_id)?;
        match std::fs::remove_dir_all(layout.upload_dir(&input.upload_id)) {
            Err(e) if !is_absent(&e) => Err(internal(e)),
            _ => Ok(()),
        }
    })
    .await?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

/// ListMultipartUploads.
pub(crate) async fn list_uploads(
    store: &FsStore,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let input = req.input;
    let layout = store.layout.clone();
    let bucket = input.bucket.clone();
    let prefix = input.prefix.clone().unwrap_or_default();
    let max = usize::try_from(input.max_uploads.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS)).unwrap_or(0);
    let key_marker = input.key_marker.clone();
    let id_marker = input.upload_id_marker.clone();
    let (uploads, truncated) = blocking(move || {
        layout.require_bucket(&bucket)?;
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&layout.uploads).map_err(internal)? {
            let entry = entry.map_err(internal)?;
            let Ok(id) = entry.file_name().into_string() else { continue };
            let Ok(bytes) = std::fs::read(entry.path().join("upload.json")) else { continue };
            let Ok(record) = serde_json::from_slice::<UploadRecord>(&bytes) else { continue };
            if record.bucket == bucket && record.key.starts_with(&prefix) {
                all.push((record, id));
            }
        }
        all.sort_by(|a, b| (&a.0.key, a.0.initiated_ms, &a.1).cmp(&(&b.0.key, b.0.initiated_ms, &b.1)));
        if let Some(km) = key_marker.filter(|k| !k.is_empty()) {
            all.retain(|(r, id)| match &id_marker {
                Some(im) if !im.is_empty() => r.key > km || (r.key == km && id.as_str() > im.as_str()),
                _ => r.key > km,
            });
        }
        let truncated = all.len() > max;
        all.truncate(max);
        Ok((all, truncated))
    })
    .await?;
    let next = if truncated { uploads.last().map(|(r, id)| (r.key.clone(), id.clone())) } else { None };
    let uploads = uploads
        .into_iter()
        .map(|(r, id)| MultipartUpload {
            key: Some(r.key),
            upload_id: Some(id),
            initiated: Some(Timestamp::from(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(r.initiated_ms))),
            storage_class: Some(StorageClass::from(r.meta.storage_class.unwrap_or_else(|| "STANDARD".to_owned()))),
            checksum_algorithm: r.checksum_algorithm.map(ChecksumAlgorithm::from),
            checksum_type: r.checksum_type.map(ChecksumType::from),
            ..Default::default()
        })
        .collect();
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(i32::try_from(max).unwrap_or(MAX_KEYS)),
        is_truncated: Some(truncated),
        next_key_marker: next.as_ref().map(|n| n.0.clone()),
        next_upload_id_marker: next.map(|n| n.1),
        uploads: Some(uploads),
        ..Default::default()
    }))
}

/// ListParts.
pub(crate) async fn list_parts(
    store: &FsStore,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let input = req.input;
    let layout = store.layout.clone();
    let (bucket, key, id) = (input.bucket.clone(), input.key.clone(), input.upload_id.clone());
    let marker = input.part_number_marker.unwrap_or(0);
    let max = usize::try_from(input.max_parts.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS)).unwrap_or(0);
    let (record, mut parts) = blocking(move || {
        let record = read_upload(&layout, &bucket, &key, &id)?;
        let parts = multipart::read_parts(&layout.upload_dir(&id)).map_err(internal)?;
        Ok((record, parts))
    })
    .await?;
    parts.retain(|p| p.number > marker);
    let truncated = parts.len() > max;
    parts.truncate(max);
    let next = if truncated { parts.last().map(|p| p.number) } else { None };
    let parts = parts
        .into_iter()
        .map(|p| Part {
            part_number: Some(p.number),
            e_tag: Some(ETag::Strong(p.etag)),
            size: Some(to_i64(p.size)),
            last_modified: Some(Timestamp::from(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(p.mtime_ms))),
            checksum_crc32: p.checksums.crc32,
            checksum_crc32c: p.checksums.crc32c,
            checksum_crc64nvme: p.checksums.crc64nvme,
            checksum_sha1: p.checksums.sha1,
            checksum_sha256: p.checksums.sha256,
        })
        .collect();
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: next,
        max_parts: Some(i32::try_from(max).unwrap_or(MAX_KEYS)),
        is_truncated: Some(truncated),
        parts: Some(parts),
        storage_class: Some(StorageClass::from(record.meta.storage_class.unwrap_or_else(|| "STANDARD".to_owned()))),
        checksum_algorithm: record.checksum_algorithm.map(ChecksumAlgorithm::from),
        checksum_type: record.checksum_type.map(ChecksumType::from),
        ..Default::default()
    }))
}

/// Reads an upload's record, checking it belongs to `bucket`/`key` (blocking).
fn read_upload(layout: &Layout, bucket: &str, key: &str, upload_id: &str) -> S3Result<UploadRecord> {
    let missing = || s3_error!(NoSuchUpload, "The specified multipart upload does not exist: {upload_id}");
    if !multipart::is_valid_upload_id(upload_id) {
        return Err(missing());
    }
    let bytes = match std::fs::read(layout.upload_dir(upload_id).join("upload.json")) {
        Ok(b) => b,
        Err(e) if is_absent(&e) => return Err(missing()),
        Err(e) => return Err(internal(e)),
    };
    let record: UploadRecord = serde_json::from_slice(&bytes).map_err(|e| internal(io::Error::other(e)))?;
    if record.bucket != bucket || record.key != key {
        return Err(missing());
    }
    Ok(record)
}

/// Where an UploadPart writes: in place in the upload's assembly file, or a temp file of its own.
enum PartTarget {
    InPlace(multipart::InPlace),
    Own(TempFile, std::fs::File),
}

/// What [`store_part`] makes durable once the part's bytes are written.
enum PartDest {
    InPlace(multipart::InPlace),
    Own(TempFile),
}

/// Moves a written part into its upload and records it (blocking).
fn store_part(layout: &Layout, upload_id: &str, dest: PartDest, part: &PartMeta) -> S3Result<()> {
    let dir = layout.upload_dir(upload_id);
    let gone = || s3_error!(NoSuchUpload, "The specified multipart upload does not exist: {upload_id}");
    // A plain rename: an upload aborted meanwhile must not be re-created.
    let map = |e: io::Error| if is_absent(&e) { gone() } else { internal(e) };
    let in_place = match dest {
        PartDest::Own(tmp) => {
            tmp.rename_to(&multipart::part_path(&dir, part.number)).map_err(map)?;
            None
        }
        PartDest::InPlace(p) => Some(p),
    };
    let json = serde_json::to_vec(part).map_err(|e| internal(io::Error::other(e)))?;
    let (rec_tmp, mut file) = TempFile::create(&layout.tmp).map_err(internal)?;
    file.write_all(&json).map_err(internal)?;
    drop(file);
    rec_tmp.rename_to(&multipart::part_record_path(&dir, part.number)).map_err(map)?;
    // Recorded: the claim on the part's slot stays, and the lock is released.
    if let Some(p) = in_place {
        p.keep();
    }
    Ok(())
}

/// CompleteMultipartUpload (blocking); see `multipart` for the steps.
fn complete_upload(layout: &Layout, input: CompleteMultipartUploadInput) -> S3Result<CompletedRecord> {
    let key = ObjectKey::parse(&input.key)?;
    let upload_id = input.upload_id.as_str();
    let record = match read_upload(layout, &input.bucket, &input.key, upload_id) {
        Ok(r) => r,
        Err(e) => {
            // A retried completion whose first response was lost gets the same answer.
            let earlier = multipart::is_valid_upload_id(upload_id)
                .then(|| std::fs::read(layout.completed_path(upload_id)).ok())
                .flatten()
                .and_then(|bytes| serde_json::from_slice::<CompletedRecord>(&bytes).ok())
                .filter(|done| done.bucket == input.bucket && done.key == input.key);
            if let Some(done) = earlier {
                return Ok(done);
            }
            return Err(e);
        }
    };
    // Checked early so a failing completion assembles nothing; checked again at the commit.
    check_write_conditions(
        layout.stat_object(&input.bucket, key)?.as_ref(),
        key,
        input.if_match.as_ref(),
        input.if_none_match.as_ref(),
    )?;
    let dir = layout.upload_dir(upload_id);
    let requested = input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
    let stored = multipart::read_parts(&dir).map_err(internal)?;
    let parts = multipart::validate(&requested, &stored)?;
    let etag = multipart::etag_of(&parts)?;

    let wanted_type = input.checksum_type.as_ref().map(|t| t.as_str().to_owned()).or(record.checksum_type.clone());
    let (mut checksums, mut checksum_type) = multipart::combine_checksums(&parts, wanted_type.as_deref());
    let sent = Checksums {
        crc32: input.checksum_crc32,
        crc32c: input.checksum_crc32c,
        crc64nvme: input.checksum_crc64nvme,
        sha1: input.checksum_sha1,
        sha256: input.checksum_sha256,
    };
    sent.verify_known(&checksums)?;
    if !sent.is_empty() && checksum_type.is_none() {
        checksum_type = wanted_type.or_else(|| Some(multipart::FULL_OBJECT.to_owned()));
    }
    checksums.fill_from(sent);

    let size = parts.iter().map(|p| p.size).sum();
    let mut meta = record.meta;
    meta.etag = etag.clone();
    meta.size = size;
    meta.mtime_ms = to_ms(SystemTime::now());
    meta.checksums = checksums.clone();
    meta.checksum_type = checksum_type.clone();
    let sse = meta.sse.clone();
    let (if_match, if_none_match) = (input.if_match, input.if_none_match);
    let check =
        |current: Option<&ObjectMeta>| check_write_conditions(current, key, if_match.as_ref(), if_none_match.as_ref());
    if let Some(assembled) = multipart::assemble_in_place(&dir, &parts, &stored).map_err(internal)? {
        meta.parts = parts.into_iter().map(|p| PartMeta { offset: None, ..p }).collect();
        layout.commit_file(&input.bucket, key, &multipart::assembly_path(&dir), meta, check)?;
        drop(assembled);
    } else {
        let sources: Vec<_> = parts
            .iter()
            .map(|p| {
                let (path, offset) = multipart::part_source(&dir, p);
                (path, offset, p.size)
            })
            .collect();
        let (tmp, mut out) = TempFile::create(&layout.tmp).map_err(internal)?;
        multipart::assemble(&sources, &mut out).map_err(internal)?;
        drop(out);
        meta.parts = parts.into_iter().map(|p| PartMeta { offset: None, ..p }).collect();
        layout.commit(&input.bucket, key, tmp, meta, check)?;
    }

    let done = CompletedRecord { bucket: input.bucket, key: input.key, etag, checksums, checksum_type, sse };
    if let Ok(json) = serde_json::to_vec(&done) {
        let _ = layout.write_json_atomically(&layout.completed_path(upload_id), &json);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(done)
}
