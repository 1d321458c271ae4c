//! The S3 operations of [`FsStore`]: request in, filesystem calls on the
//! blocking pool, response out. The mechanics live in the sibling modules;
//! this file maps S3 semantics (errors, conditional requests, response fields)
//! onto them.

use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN_B64;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};

use super::checksum::{verify_content_md5, ChecksumSet, Checksums};
use super::key::ObjectKey;
use super::list::{ListEntry, ListQuery};
use super::meta::{to_ms, ObjectMeta, PartMeta};
use super::multipart::{self, CompletedRecord, UploadRecord};
use super::range::{resolve, ByteSpan};
use super::read::object_body;
use super::write::{self, write_body, TempFile};
use super::{blocking, copy, internal, is_absent, no_such_key, persist_error, FsStore, Layout};

/// S3's default and largest page of a listing.
const MAX_KEYS: i32 = 1000;

/// What `encoding-type=url` escapes: all but unreserved characters and `/`, as S3 does.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

#[async_trait::async_trait]
impl S3 for FsStore {
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        let layout = self.layout.clone();
        let bucket = req.input.bucket;
        blocking(move || match std::fs::create_dir(layout.bucket_dir(&bucket)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(s3_error!(BucketAlreadyOwnedByYou, "The bucket {bucket} already exists and is owned by you"))
            }
            Err(e) => Err(internal(e)),
        })
        .await?;
        Ok(S3Response::new(CreateBucketOutput::default()))
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> S3Result<S3Response<DeleteBucketOutput>> {
        let layout = self.layout.clone();
        let bucket = req.input.bucket;
        blocking(move || {
            layout.require_bucket(&bucket)?;
            let dir = layout.bucket_dir(&bucket);
            if contains_file(&dir).map_err(internal)? {
                return Err(s3_error!(BucketNotEmpty, "The bucket you tried to delete is not empty"));
            }
            std::fs::remove_dir_all(&dir).map_err(internal)?;
            match std::fs::remove_dir_all(layout.bucket_meta_dir(&bucket)) {
                Err(e) if !is_absent(&e) => Err(internal(e)),
                _ => Ok(()),
            }
        })
        .await?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let layout = self.layout.clone();
        let bucket = req.input.bucket;
        blocking(move || layout.require_bucket(&bucket)).await?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let layout = self.layout.clone();
        let bucket = req.input.bucket;
        blocking(move || layout.require_bucket(&bucket)).await?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(&self, _req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
        let layout = self.layout.clone();
        let buckets = blocking(move || {
            let mut buckets = Vec::new();
            for entry in std::fs::read_dir(&layout.root).map_err(internal)? {
                let entry = entry.map_err(internal)?;
                let Ok(name) = entry.file_name().into_string() else { continue };
                if name == super::INTERNAL_DIR || !s3s::path::check_bucket_name(&name) {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                if !meta.is_dir() {
                    continue;
                }
                let created = meta.created().or_else(|_| meta.modified()).ok().map(Timestamp::from);
                buckets.push(Bucket { name: Some(name), creation_date: created, bucket_region: None });
            }
            buckets.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(buckets)
        })
        .await?;
        Ok(S3Response::new(ListBucketsOutput { buckets: Some(buckets), ..Default::default() }))
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        ObjectKey::parse(&input.key)?;
        let layout = self.layout.clone();
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let meta = blocking(move || {
            let key = ObjectKey::parse(&key)?;
            match layout.stat_object(&bucket, key)? {
                Some(m) => Ok(m),
                None => Err(missing_object(&layout, &bucket, key)),
            }
        })
        .await?;
        check_read_conditions(
            &meta,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        let span = select_span(&meta, input.range, input.part_number)?;
        let whole = span.is_none();
        let (length, content_range) = match span {
            Some(s) => (s.len, Some(s.content_range(meta.size))),
            None => (meta.size, None),
        };
        let checksums = if whole { meta.checksums.clone() } else { Checksums::default() };
        let output = HeadObjectOutput {
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
            metadata: user_metadata(&meta),
            storage_class: storage_class(&meta),
            parts_count: parts_count(&meta, input.part_number),
            checksum_crc32: checksums.crc32,
            checksum_crc32c: checksums.crc32c,
            checksum_crc64nvme: checksums.crc64nvme,
            checksum_sha1: checksums.sha1,
            checksum_sha256: checksums.sha256,
            checksum_type: if whole { meta.checksum_type.clone().map(ChecksumType::from) } else { None },
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = &req.input;
        ObjectKey::parse(&input.key)?;
        let layout = self.layout.clone();
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let (file, meta) = blocking(move || {
            let key = ObjectKey::parse(&key)?;
            match layout.open_object(&bucket, key)? {
                Some(found) => Ok(found),
                None => Err(missing_object(&layout, &bucket, key)),
            }
        })
        .await?;
        check_read_conditions(
            &meta,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        let span = select_span(&meta, input.range, input.part_number)?;
        let whole = span.is_none();
        let (start, length, content_range) = match span {
            Some(s) => (s.start, s.len, Some(s.content_range(meta.size))),
            None => (0, meta.size, None),
        };
        let body = object_body(&req.extensions, file, start, length).await?;
        let checksums = if whole { meta.checksums.clone() } else { Checksums::default() };
        let output = GetObjectOutput {
            body: Some(body),
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
            metadata: user_metadata(&meta),
            storage_class: storage_class(&meta),
            parts_count: parts_count(&meta, input.part_number),
            checksum_crc32: checksums.crc32,
            checksum_crc32c: checksums.crc32c,
            checksum_crc64nvme: checksums.crc64nvme,
            checksum_sha1: checksums.sha1,
            checksum_sha256: checksums.sha256,
            checksum_type: if whole { meta.checksum_type.clone().map(ChecksumType::from) } else { None },
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let headers = req.headers;
        let trailers = req.trailing_headers;
        let input = req.input;
        let key = ObjectKey::parse(&input.key)?;
        let body = input.body.ok_or_else(|| s3_error!(IncompleteBody, "PutObject needs a body"))?;
        let sent = Checksums {
            crc32: input.checksum_crc32,
            crc32c: input.checksum_crc32c,
            crc64nvme: input.checksum_crc64nvme,
            sha1: input.checksum_sha1,
            sha256: input.checksum_sha256,
        };
        let set = ChecksumSet::requested(&sent, input.checksum_algorithm.as_ref(), &headers);

        let layout = self.layout.clone();
        let (bucket, key_owned) = (input.bucket.clone(), key.as_str().to_owned());
        let (if_match, if_none_match) = (input.if_match, input.if_none_match);
        let (tmp, file) = blocking(move || {
            layout.require_bucket(&bucket)?;
            let key = ObjectKey::parse(&key_owned)?;
            check_write_conditions(&layout, &bucket, key, if_match.as_ref(), if_none_match.as_ref())?;
            TempFile::create(&layout.tmp).map_err(internal)
        })
        .await?;

        let expected = input.content_length.and_then(|l| u64::try_from(l).ok());
        let (file, digests) = write_body(body, file, set, expected).await?;
        if let Some(md5) = &input.content_md5 {
            verify_content_md5(md5, &digests.md5)?;
        }
        let mut sent = sent;
        if let Some(trailers) = trailers.as_ref().and_then(s3s::TrailingHeaders::take) {
            sent.fill_from(Checksums::from_trailers(&trailers)?);
        }
        sent.verify_sent(&digests.checksums)?;

        let mut meta = ObjectMeta {
            etag: hex::encode(digests.md5),
            size: digests.size,
            mtime_ms: to_ms(SystemTime::now()),
            content_type: input.content_type,
            content_encoding: input.content_encoding.and_then(without_aws_chunked),
            content_disposition: input.content_disposition,
            content_language: input.content_language,
            cache_control: input.cache_control,
            website_redirect_location: input.website_redirect_location,
            storage_class: input.storage_class.map(|s| s.as_str().to_owned()),
            user_metadata: input.metadata.map(|m| m.into_iter().collect()).unwrap_or_default(),
            checksum_type: (!digests.checksums.is_empty()).then(|| multipart::FULL_OBJECT.to_owned()),
            checksums: digests.checksums,
            ..Default::default()
        };
        let layout = self.layout.clone();
        let bucket = input.bucket;
        let key_owned = key.as_str().to_owned();
        let meta = blocking(move || {
            let key = ObjectKey::parse(&key_owned)?;
            layout.commit_object(&bucket, key, tmp, &file, &mut meta)?;
            Ok(meta)
        })
        .await?;

        let c = meta.checksums;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(meta.etag)),
            size: Some(to_i64(meta.size)),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_crc64nvme: c.crc64nvme,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
            checksum_type: meta.checksum_type.map(ChecksumType::from),
            ..Default::default()
        }))
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        ObjectKey::parse(&input.key)?;
        let layout = self.layout.clone();
        blocking(move || {
            layout.require_bucket(&input.bucket)?;
            delete_one(&layout, &input.bucket, ObjectKey::parse(&input.key)?)
        })
        .await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let layout = self.layout.clone();
        let quiet = input.delete.quiet.unwrap_or(false);
        let (deleted, errors) = blocking(move || {
            layout.require_bucket(&input.bucket)?;
            let mut deleted = Vec::new();
            let mut errors = Vec::new();
            for object in input.delete.objects {
                let result = ObjectKey::parse(&object.key).and_then(|k| delete_one(&layout, &input.bucket, k));
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

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let token_marker = input
            .continuation_token
            .as_deref()
            .map(|t| {
                TOKEN_B64
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))
            })
            .transpose()?;
        let marker = match (token_marker, input.start_after.clone()) {
            (Some(t), Some(s)) => Some(t.max(s)),
            (t, s) => t.or(s),
        };
        let max_keys = input.max_keys.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS);
        let listing =
            self.list(input.bucket.clone(), input.prefix.clone(), input.delimiter.clone(), marker, max_keys).await?;
        let encode = Encoder::new(input.encoding_type.as_ref());
        let key_count = listing.contents.len() + listing.prefixes.len();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(encode.apply(input.prefix.unwrap_or_default())),
            delimiter: input.delimiter.map(|d| encode.apply(d)),
            max_keys: Some(max_keys),
            key_count: Some(i32::try_from(key_count).unwrap_or(i32::MAX)),
            is_truncated: Some(listing.truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: listing.next_marker.map(|m| TOKEN_B64.encode(m)),
            start_after: input.start_after.map(|s| encode.apply(s)),
            contents: Some(encode.objects(listing.contents)),
            common_prefixes: Some(encode.prefixes(listing.prefixes)),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let max_keys = input.max_keys.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS);
        let listing = self
            .list(input.bucket.clone(), input.prefix.clone(), input.delimiter.clone(), input.marker.clone(), max_keys)
            .await?;
        let encode = Encoder::new(input.encoding_type.as_ref());
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(encode.apply(input.prefix.unwrap_or_default())),
            delimiter: input.delimiter.map(|d| encode.apply(d)),
            marker: Some(encode.apply(input.marker.unwrap_or_default())),
            max_keys: Some(max_keys),
            is_truncated: Some(listing.truncated),
            next_marker: listing.next_marker.map(|m| encode.apply(m)),
            contents: Some(encode.objects(listing.contents)),
            common_prefixes: Some(encode.prefixes(listing.prefixes)),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let (src_bucket, src_key) = copy_source(&input.copy_source)?;
        ObjectKey::parse(&src_key)?;
        let dst_key = ObjectKey::parse(&input.key)?.as_str().to_owned();
        let replace = input.metadata_directive.as_ref().is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        if src_bucket == input.bucket && src_key == dst_key && !replace {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the \
                 object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let layout = self.layout.clone();
        let meta = blocking(move || {
            layout.require_bucket(&input.bucket)?;
            let src = ObjectKey::parse(&src_key)?;
            let (mut file, src_meta) = match layout.open_object(&src_bucket, src)? {
                Some(found) => found,
                None => return Err(missing_object(&layout, &src_bucket, src)),
            };
            check_copy_conditions(
                &src_meta,
                input.copy_source_if_match.as_ref(),
                input.copy_source_if_none_match.as_ref(),
            )?;
            let (tmp, mut out) = TempFile::create(&layout.tmp).map_err(internal)?;
            let copied = io::copy(&mut file, &mut out).map_err(internal)?;
            if copied != src_meta.size {
                return Err(s3_error!(InternalError, "source object changed size while being copied"));
            }
            let mut meta = src_meta;
            meta.mtime_ms = to_ms(SystemTime::now());
            if replace {
                meta.content_type = input.content_type;
                meta.content_encoding = input.content_encoding;
                meta.content_disposition = input.content_disposition;
                meta.content_language = input.content_language;
                meta.cache_control = input.cache_control;
                meta.website_redirect_location = input.website_redirect_location;
                meta.user_metadata = input.metadata.map(|m| m.into_iter().collect()).unwrap_or_default();
            }
            if let Some(class) = input.storage_class {
                meta.storage_class = Some(class.as_str().to_owned());
            }
            let dst = ObjectKey::parse(&dst_key)?;
            layout.commit_object(&input.bucket, dst, tmp, &out, &mut meta)?;
            Ok(meta)
        })
        .await?;
        let c = meta.checksums;
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
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        let key = ObjectKey::parse(&input.key)?.as_str().to_owned();
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
                storage_class: input.storage_class.map(|s| s.as_str().to_owned()),
                user_metadata: input.metadata.map(|m| m.into_iter().collect()).unwrap_or_default(),
                ..Default::default()
            },
            checksum_algorithm: input.checksum_algorithm.as_ref().map(|a| a.as_str().to_owned()),
            checksum_type: input.checksum_type.as_ref().map(|t| t.as_str().to_owned()),
        };
        let layout = self.layout.clone();
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
            ..Default::default()
        }))
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let headers = req.headers;
        let trailers = req.trailing_headers;
        let input = req.input;
        check_part_number(input.part_number)?;
        let body = input.body.ok_or_else(|| s3_error!(IncompleteBody, "UploadPart needs a body"))?;
        let sent = Checksums {
            crc32: input.checksum_crc32,
            crc32c: input.checksum_crc32c,
            crc64nvme: input.checksum_crc64nvme,
            sha1: input.checksum_sha1,
            sha256: input.checksum_sha256,
        };
        let layout = self.layout.clone();
        let (bucket, key, id) = (input.bucket.clone(), input.key.clone(), input.upload_id.clone());
        let expected = input.content_length.and_then(|l| u64::try_from(l).ok());
        let number = input.part_number;
        let (record, target) = blocking(move || {
            let record = read_upload(&layout, &bucket, &key, &id)?;
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
        let (file, digests) = write_body(body, file, set, expected).await?;
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
        let layout = self.layout.clone();
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

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = req.input;
        check_part_number(input.part_number)?;
        let (src_bucket, src_key) = copy_source(&input.copy_source)?;
        ObjectKey::parse(&src_key)?;
        let layout = self.layout.clone();
        let part = blocking(move || {
            let record = read_upload(&layout, &input.bucket, &input.key, &input.upload_id)?;
            let src = ObjectKey::parse(&src_key)?;
            let (file, src_meta) = match layout.open_object(&src_bucket, src)? {
                Some(found) => found,
                None => return Err(missing_object(&layout, &src_bucket, src)),
            };
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

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let layout = self.layout.clone();
        let done = blocking(move || complete_upload(&layout, input)).await?;
        let c = done.checksums;
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
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        let layout = self.layout.clone();
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

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        let layout = self.layout.clone();
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
                initiated: Some(Timestamp::from(
                    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(r.initiated_ms),
                )),
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

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let layout = self.layout.clone();
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
                last_modified: Some(Timestamp::from(
                    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(p.mtime_ms),
                )),
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
}

/// A listing page with each object's metadata.
struct Listing {
    contents: Vec<Object>,
    prefixes: Vec<String>,
    truncated: bool,
    next_marker: Option<String>,
}

impl FsStore {
    async fn list(
        &self,
        bucket: String,
        prefix: Option<String>,
        delimiter: Option<String>,
        marker: Option<String>,
        max_keys: i32,
    ) -> S3Result<Listing> {
        let layout = self.layout.clone();
        blocking(move || {
            layout.require_bucket(&bucket)?;
            let query = ListQuery {
                prefix: prefix.as_deref().unwrap_or(""),
                delimiter: delimiter.as_deref(),
                marker: marker.as_deref().filter(|m| !m.is_empty()),
                max_keys: usize::try_from(max_keys).unwrap_or(0),
            };
            let page = super::list::list(&layout.bucket_dir(&bucket), query).map_err(internal)?;
            let next_marker = page.next_marker();
            let mut contents = Vec::new();
            let mut prefixes = Vec::new();
            for entry in page.entries {
                match entry {
                    ListEntry::Prefix(p) => prefixes.push(p),
                    ListEntry::Object { key, path } => {
                        let Some(meta) = layout.meta_for_listing(&bucket, &key, &path).map_err(internal)? else {
                            continue;
                        };
                        contents.push(Object {
                            key: Some(key),
                            size: Some(to_i64(meta.size)),
                            e_tag: Some(ETag::Strong(meta.etag)),
                            last_modified: Some(Timestamp::from(
                                SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(meta.mtime_ms),
                            )),
                            storage_class: Some(ObjectStorageClass::from(
                                meta.storage_class.unwrap_or_else(|| "STANDARD".to_owned()),
                            )),
                            checksum_type: meta.checksum_type.map(ChecksumType::from),
                            ..Default::default()
                        });
                    }
                }
            }
            Ok(Listing { contents, prefixes, truncated: page.truncated, next_marker })
        })
        .await
    }
}

/// Applies `encoding-type=url` to listing output.
struct Encoder {
    url: bool,
}

impl Encoder {
    fn new(encoding: Option<&EncodingType>) -> Self {
        Self { url: encoding.is_some_and(|e| e.as_str().eq_ignore_ascii_case(EncodingType::URL)) }
    }

    fn apply(&self, s: String) -> String {
        if self.url {
            utf8_percent_encode(&s, URL_ENCODE).to_string()
        } else {
            s
        }
    }

    fn objects(&self, objects: Vec<Object>) -> Vec<Object> {
        objects
            .into_iter()
            .map(|mut o| {
                o.key = o.key.map(|k| self.apply(k));
                o
            })
            .collect()
    }

    fn prefixes(&self, prefixes: Vec<String>) -> Vec<CommonPrefix> {
        prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(self.apply(p)) }).collect()
    }
}

/// The error for an object that is not there: `NoSuchBucket` or `NoSuchKey`.
fn missing_object(layout: &Layout, bucket: &str, key: ObjectKey<'_>) -> S3Error {
    match layout.require_bucket(bucket) {
        Ok(()) => no_such_key(key),
        Err(e) => e,
    }
}

/// Deletes an object and its sidecar, then prunes emptied directories (blocking).
/// Deleting what is not there (or a directory) succeeds, as in S3.
fn delete_one(layout: &Layout, bucket: &str, key: ObjectKey<'_>) -> S3Result<()> {
    let data = layout.object_path(bucket, key);
    match std::fs::symlink_metadata(&data) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {}
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(internal(e)),
    }
    match std::fs::remove_file(&data) {
        Ok(()) => {}
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(internal(e)),
    }
    let sidecar = layout.sidecar_path(bucket, key);
    let _ = std::fs::remove_file(&sidecar);
    Layout::prune_empty_dirs(&data, &layout.bucket_dir(bucket));
    Layout::prune_empty_dirs(&sidecar, &layout.bucket_meta_dir(bucket));
    Ok(())
}

/// Whether the tree at `dir` holds any file (blocking).
fn contains_file(dir: &std::path::Path) -> io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if contains_file(&entry.path())? {
                return Ok(true);
            }
        } else {
            return Ok(true);
        }
    }
    Ok(false)
}

/// GET/HEAD preconditions, in RFC 9110's order: If-Match, If-Unmodified-Since
/// (when there is no If-Match), If-None-Match, If-Modified-Since (when there
/// is no If-None-Match).
fn check_read_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let modified_s = meta.mtime_ms / 1000;
    let since = |t: &Timestamp| -> u64 {
        let t: time::OffsetDateTime = t.clone().into();
        u64::try_from(t.unix_timestamp()).unwrap_or(0)
    };
    match if_match {
        Some(cond) if !etag_matches(cond, &meta.etag) => {
            return Err(s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold"));
        }
        Some(_) => {}
        None => {
            if if_unmodified_since.is_some_and(|t| modified_s > since(t)) {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
        }
    }
    let not_modified = match if_none_match {
        Some(cond) => etag_matches(cond, &meta.etag),
        None => if_modified_since.is_some_and(|t| modified_s <= since(t)),
    };
    if not_modified {
        let mut err = s3_error!(NotModified, "Not Modified");
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
            headers.insert(http::header::ETAG, v);
        }
        err.set_headers(headers);
        return Err(err);
    }
    Ok(())
}

fn etag_matches(cond: &ETagCondition, etag: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value().trim_matches('"') == etag,
    }
}

/// PUT/Complete preconditions against the current object (blocking).
fn check_write_conditions(
    layout: &Layout,
    bucket: &str,
    key: ObjectKey<'_>,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    if if_match.is_none() && if_none_match.is_none() {
        return Ok(());
    }
    let current = layout.stat_object(bucket, key)?;
    if let (Some(cond), Some(m)) = (if_none_match, &current) {
        if etag_matches(cond, &m.etag) {
            return Err(s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold"));
        }
    }
    if let Some(cond) = if_match {
        match &current {
            None => return Err(no_such_key(key)),
            Some(m) if !etag_matches(cond, &m.etag) => {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// CopyObject/UploadPartCopy preconditions on the source (`x-amz-copy-source-if-match`,
/// `x-amz-copy-source-if-none-match`).
fn check_copy_conditions(
    src: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    let failed = || s3_error!(PreconditionFailed, "At least one of the pre-conditions you specified did not hold");
    if if_match.is_some_and(|c| !etag_matches(c, &src.etag)) {
        return Err(failed());
    }
    if if_none_match.is_some_and(|c| etag_matches(c, &src.etag)) {
        return Err(failed());
    }
    Ok(())
}

/// The span a GET/HEAD sends: a `Range`, a `partNumber`, or (`None`) the whole object.
fn select_span(meta: &ObjectMeta, range: Option<Range>, part_number: Option<i32>) -> S3Result<Option<ByteSpan>> {
    match (range, part_number) {
        (Some(_), Some(_)) => {
            Err(s3_error!(InvalidRequest, "Cannot specify both Range header and partNumber query parameter"))
        }
        (Some(r), None) => resolve(r, meta.size).map(Some),
        (None, None) => Ok(None),
        (None, Some(n)) => {
            if meta.parts.is_empty() {
                return if n == 1 { Ok(None) } else { Err(invalid_part_number()) };
            }
            let mut start = 0;
            for p in &meta.parts {
                if p.number == n {
                    return Ok(Some(ByteSpan { start, len: p.size }));
                }
                start += p.size;
            }
            Err(invalid_part_number())
        }
    }
}

/// S3's `InvalidPartNumber` (416), which s3s has no code for.
fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

fn parts_count(meta: &ObjectMeta, part_number: Option<i32>) -> Option<i32> {
    (part_number.is_some() && !meta.parts.is_empty()).then(|| i32::try_from(meta.parts.len()).unwrap_or(i32::MAX))
}

fn user_metadata(meta: &ObjectMeta) -> Option<Metadata> {
    (!meta.user_metadata.is_empty()).then(|| meta.user_metadata.clone().into_iter().collect())
}

/// The storage class header: S3 omits it for STANDARD.
fn storage_class(meta: &ObjectMeta) -> Option<StorageClass> {
    meta.storage_class.as_ref().filter(|c| c.as_str() != "STANDARD").map(|c| StorageClass::from(c.clone()))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn copy_source(source: &CopySource) -> S3Result<(String, String)> {
    match source {
        CopySource::Bucket { bucket, key, .. } => Ok((bucket.to_string(), key.to_string())),
        _ => Err(s3_error!(NotImplemented, "only bucket/key copy sources are supported")),
    }
}

fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=multipart::MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(s3_error!(InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive"))
    }
}

/// `x-amz-copy-source-range: bytes=a-b` (both bounds required, as in S3).
fn parse_copy_range(header: &str, size: u64) -> S3Result<ByteSpan> {
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
    layout.require_bucket(&input.bucket)?;
    check_write_conditions(layout, &input.bucket, key, input.if_match.as_ref(), input.if_none_match.as_ref())?;
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
    let dest = layout.object_path(&input.bucket, key);
    if let Some(assembled) = multipart::assemble_in_place(&dir, &parts, &stored).map_err(internal)? {
        meta.ino = assembled.metadata().map_err(internal)?.ino();
        write::rename_creating_parents(&multipart::assembly_path(&dir), &dest).map_err(|e| persist_error(e, key))?;
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
        meta.ino = out.metadata().map_err(internal)?.ino();
        tmp.persist(&dest).map_err(|e| persist_error(e, key))?;
    }
    meta.parts = parts.into_iter().map(|p| PartMeta { offset: None, ..p }).collect();
    layout.write_sidecar(&layout.sidecar_path(&input.bucket, key), &meta).map_err(internal)?;

    let done = CompletedRecord { bucket: input.bucket, key: input.key, etag, checksums, checksum_type };
    if let Ok(json) = serde_json::to_vec(&done) {
        let _ = layout.write_json_atomically(&layout.completed_path(upload_id), &json);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(done)
}

/// The object's own Content-Encoding: `aws-chunked` (how the request body was framed, as S3
/// documents) is not part of it, and S3 does not store it.
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

    fn meta(etag: &str, mtime_ms: u64) -> ObjectMeta {
        ObjectMeta { etag: etag.into(), mtime_ms, size: 10, ..Default::default() }
    }

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from(time::OffsetDateTime::from_unix_timestamp(secs).unwrap())
    }

    #[test]
    fn read_conditions() {
        let m = meta("abc", 100_000);
        let etag = |s: &str| ETagCondition::ETag(ETag::Strong(s.into()));
        assert!(check_read_conditions(&m, Some(&etag("abc")), None, None, None).is_ok());
        assert!(check_read_conditions(&m, Some(&ETagCondition::Any), None, None, None).is_ok());
        let code = |r: S3Result<()>| r.unwrap_err().code().clone();
        assert_eq!(
            code(check_read_conditions(&m, Some(&etag("x")), None, None, None)),
            s3s::S3ErrorCode::PreconditionFailed
        );
        assert_eq!(
            code(check_read_conditions(&m, None, Some(&etag("abc")), None, None)),
            s3s::S3ErrorCode::NotModified
        );
        assert!(check_read_conditions(&m, None, Some(&etag("x")), None, None).is_ok());
        assert_eq!(code(check_read_conditions(&m, None, None, Some(&ts(100)), None)), s3s::S3ErrorCode::NotModified);
        assert!(check_read_conditions(&m, None, None, Some(&ts(99)), None).is_ok());
        assert_eq!(
            code(check_read_conditions(&m, None, None, None, Some(&ts(99)))),
            s3s::S3ErrorCode::PreconditionFailed
        );
        // If-Match wins over If-Unmodified-Since.
        assert!(check_read_conditions(&m, Some(&etag("abc")), None, None, Some(&ts(99))).is_ok());
    }

    #[test]
    fn part_number_spans() {
        let mut m = meta("e-2", 0);
        m.size = 15;
        m.parts = vec![
            PartMeta { number: 1, size: 10, ..Default::default() },
            PartMeta { number: 2, size: 5, ..Default::default() },
        ];
        assert_eq!(select_span(&m, None, Some(2)).unwrap(), Some(ByteSpan { start: 10, len: 5 }));
        assert!(select_span(&m, None, Some(3)).is_err());
        assert_eq!(select_span(&meta("e", 0), None, Some(1)).unwrap(), None);
    }

    #[test]
    fn copy_ranges() {
        assert_eq!(parse_copy_range("bytes=0-9", 100).unwrap(), ByteSpan { start: 0, len: 10 });
        assert!(parse_copy_range("bytes=0-100", 100).is_err());
        assert!(parse_copy_range("bytes=5-", 100).is_err());
        assert!(parse_copy_range("0-5", 100).is_err());
    }

    #[test]
    fn url_encoding_of_keys() {
        let e = Encoder::new(Some(&EncodingType::from_static(EncodingType::URL)));
        assert_eq!(e.apply("a b/c+d%".into()), "a%20b/c%2Bd%25");
        let plain = Encoder::new(None);
        assert_eq!(plain.apply("a b".into()), "a b");
    }

    #[test]
    fn delete_tree_helpers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("x/y")).unwrap();
        assert!(!contains_file(dir.path()).unwrap());
        std::fs::write(dir.path().join("x/y/f"), b"1").unwrap();
        assert!(contains_file(dir.path()).unwrap());
    }
}
