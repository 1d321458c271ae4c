//! Object operations: HeadObject, GetObject, PutObject, DeleteObject, DeleteObjects, CopyObject,
//! and presigned URLs.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};

use super::request::{header_str, request_url, S3Request, S3Response};
use super::{parse_http_date, xml};
use crate::auth;
use crate::checksum::ChecksumValue;
use crate::client::Client;
use crate::config::ChecksumAlgorithm;
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::http::ResponseBody;
use crate::retry::{Failure, RetryContext};

/// Characters left as they are in `x-amz-copy-source`: unreserved plus `/`.
const COPY_SOURCE_ENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// S3's limit on keys per DeleteObjects request.
pub const MAX_DELETE_KEYS: usize = 1000;

/// Longest expiry S3 accepts for a presigned URL: 7 days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

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
    /// The version id, on versioned buckets.
    pub version_id: Option<String>,
    /// Server-side encryption (`AES256`, `aws:kms`), when the store reports it.
    pub server_side_encryption: Option<String>,
    /// The KMS key of `aws:kms` encryption, when the store reports it.
    pub sse_kms_key_id: Option<String>,
    /// The algorithm of SSE-C encryption (`AES256`), when the object is encrypted with a key the
    /// client supplies.
    pub sse_customer_algorithm: Option<String>,
    /// How many tags the object carries (`x-amz-tagging-count`), when it has any.
    pub tag_count: Option<u32>,
}

impl ObjectInfo {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name| header_str(headers, name).map(str::to_owned);
        let mut checksums = Vec::new();
        // Only full-object checksums are kept. A composite one (a checksum of the parts'
        // checksums) ends in "-N" in a whole answer, but not always in a ranged one, so a CRC32C
        // of a multipart object (its ETag ends in "-N") is kept only when the store says it is
        // FULL_OBJECT. CRC64NVME is full-object by definition.
        let checksum_type = header_str(headers, "x-amz-checksum-type");
        let multipart_etag = header_str(headers, "etag").is_some_and(|e| e.contains('-'));
        let composite = checksum_type.is_some_and(|t| t.eq_ignore_ascii_case("COMPOSITE"))
            || (multipart_etag && !checksum_type.is_some_and(|t| t.eq_ignore_ascii_case("FULL_OBJECT")));
        for algorithm in [ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Crc32c] {
            if algorithm == ChecksumAlgorithm::Crc32c && composite {
                continue;
            }
            if let Some(value) = text(algorithm.header()) {
                if !value.contains('-') {
                    checksums.push(ChecksumValue { algorithm, value });
                }
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
            version_id: text("x-amz-version-id"),
            server_side_encryption: text("x-amz-server-side-encryption"),
            sse_kms_key_id: text("x-amz-server-side-encryption-aws-kms-key-id"),
            sse_customer_algorithm: text("x-amz-server-side-encryption-customer-algorithm"),
            tag_count: header_str(headers, "x-amz-tagging-count").and_then(|v| v.parse().ok()),
        }
    }
}

/// A byte range of an object, both ends included (`Range: bytes=start-end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, included; `None` for "to the end".
    pub end: Option<u64>,
}

impl ByteRange {
    /// Bytes `start..=end`.
    pub fn inclusive(start: u64, end: u64) -> Self {
        Self { start, end: Some(end) }
    }

    /// Bytes from `start` to the end of the object.
    pub fn from(start: u64) -> Self {
        Self { start, end: None }
    }

    pub(super) fn header_value(&self) -> String {
        match self.end {
            Some(end) => format!("bytes={}-{}", self.start, end),
            None => format!("bytes={}-", self.start),
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

/// Options of [`Client::get_object`].
#[derive(Debug, Clone, Default)]
pub struct GetObjectOptions {
    /// Only these bytes. By default the whole object.
    pub range: Option<ByteRange>,
    /// Fail with 412 PreconditionFailed unless the object's ETag is this one. By default unset.
    pub if_match: Option<String>,
    /// Ask for the stored checksums (`x-amz-checksum-mode: ENABLED`). By default `false`.
    pub checksum_mode: bool,
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

/// Server-side encryption of an uploaded object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSideEncryption {
    /// S3-managed keys (`AES256`).
    Aes256,
    /// KMS keys (`aws:kms`), with an optional key id (the bucket's default otherwise).
    Kms {
        /// The KMS key id or ARN.
        key_id: Option<String>,
    },
}

/// Options of [`Client::put_object`] and [`Client::create_multipart_upload`].
#[derive(Debug, Clone, Default)]
pub struct PutObjectOptions {
    /// `Content-Type`. By default none (the store picks `application/octet-stream`).
    pub content_type: Option<String>,
    /// `Content-Encoding`. By default none.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`. By default none.
    pub content_disposition: Option<String>,
    /// `Content-Language`. By default none.
    pub content_language: Option<String>,
    /// `Cache-Control`. By default none.
    pub cache_control: Option<String>,
    /// `Expires` (an HTTP date). By default none.
    pub expires: Option<String>,
    /// User metadata, sent as `x-amz-meta-NAME`. By default none.
    pub metadata: Vec<(String, String)>,
    /// The storage class, e.g. `STANDARD_IA`. By default the bucket's.
    pub storage_class: Option<String>,
    /// Server-side encryption. By default the bucket's.
    pub sse: Option<ServerSideEncryption>,
    /// A checksum of the body to send (and have the store verify). By default none.
    pub checksum: Option<ChecksumValue>,
    /// A canned ACL (`x-amz-acl`), e.g. `private`, `public-read`. By default the bucket's.
    pub acl: Option<String>,
    /// Tags as a URL query (`x-amz-tagging`), e.g. `team=data&tier=hot`. By default none.
    pub tagging: Option<String>,
}

impl PutObjectOptions {
    pub(crate) fn apply<'a>(&self, mut request: S3Request<'a>, with_checksum: bool) -> Result<S3Request<'a>> {
        let headers = [
            ("content-type", &self.content_type),
            ("content-encoding", &self.content_encoding),
            ("content-disposition", &self.content_disposition),
            ("content-language", &self.content_language),
            ("cache-control", &self.cache_control),
            ("expires", &self.expires),
        ];
        for (name, value) in headers {
            if let Some(value) = value {
                request = request.header(name, value)?;
            }
        }
        for (name, value) in &self.metadata {
            request = request.dynamic_header(&format!("x-amz-meta-{name}"), value)?;
        }
        if let Some(class) = &self.storage_class {
            request = request.header("x-amz-storage-class", class)?;
        }
        if let Some(acl) = &self.acl {
            request = request.header("x-amz-acl", acl)?;
        }
        if let Some(tagging) = &self.tagging {
            request = request.header("x-amz-tagging", tagging)?;
        }
        match &self.sse {
            Some(ServerSideEncryption::Aes256) => {
                request = request.header("x-amz-server-side-encryption", "AES256")?;
            }
            Some(ServerSideEncryption::Kms { key_id }) => {
                request = request.header("x-amz-server-side-encryption", "aws:kms")?;
                if let Some(key_id) = key_id {
                    request = request.header("x-amz-server-side-encryption-aws-kms-key-id", key_id)?;
                }
            }
            None => {}
        }
        if with_checksum {
            if let Some(checksum) = &self.checksum {
                request = request.header(checksum.algorithm.header(), &checksum.value)?;
            }
        }
        Ok(request)
    }
}

/// What a server-side copy sets on the new object. By default it keeps the source's metadata
/// and headers (S3's `COPY` directive) and sets nothing else.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CopyProperties {
    /// Replace the source's Content-Type, other headers and user metadata with `options`'
    /// (`x-amz-metadata-directive: REPLACE`). By default `false`: they are copied.
    pub replace_metadata: bool,
    /// The new object's headers and metadata (used when `replace_metadata`), and its storage
    /// class, encryption, canned ACL and tags (used either way; tags replace the source's).
    pub options: PutObjectOptions,
}

impl CopyProperties {
    /// Properties replacing the source's metadata with `options`' (`replace_metadata`), or
    /// keeping it and setting only `options`' storage class, encryption, ACL and tags.
    pub fn new(options: PutObjectOptions, replace_metadata: bool) -> Self {
        Self { replace_metadata, options }
    }

    fn apply<'a>(&self, request: S3Request<'a>) -> Result<S3Request<'a>> {
        let mut request = if self.replace_metadata {
            self.options.apply(request.header("x-amz-metadata-directive", "REPLACE")?, false)?
        } else {
            let kept = PutObjectOptions {
                storage_class: self.options.storage_class.clone(),
                sse: self.options.sse.clone(),
                acl: self.options.acl.clone(),
                tagging: self.options.tagging.clone(),
                ..PutObjectOptions::default()
            };
            kept.apply(request, false)?
        };
        if self.options.tagging.is_some() {
            request = request.header("x-amz-tagging-directive", "REPLACE")?;
        }
        Ok(request)
    }

    /// The options of a multipart copy's CreateMultipartUpload, which copies nothing by itself:
    /// the source's headers and metadata (from its HeadObject) unless replaced, plus the
    /// properties set either way.
    pub(crate) fn for_multipart(&self, source: &ObjectInfo) -> PutObjectOptions {
        if self.replace_metadata {
            return self.options.clone();
        }
        PutObjectOptions {
            content_type: source.content_type.clone(),
            content_encoding: source.content_encoding.clone(),
            content_disposition: source.content_disposition.clone(),
            content_language: source.content_language.clone(),
            cache_control: source.cache_control.clone(),
            expires: source.expires.clone(),
            metadata: source.metadata.clone(),
            storage_class: self.options.storage_class.clone(),
            sse: self.options.sse.clone(),
            acl: self.options.acl.clone(),
            tagging: self.options.tagging.clone(),
            ..PutObjectOptions::default()
        }
    }
}

/// The source object of a server-side copy ([`Client::copy_object_from`],
/// [`Client::upload_part_copy`]), with an optional ETag precondition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopySource<'a> {
    /// The source bucket.
    pub bucket: &'a str,
    /// The source key (any characters: it is URL-encoded in `x-amz-copy-source`).
    pub key: &'a str,
    /// Copy only if the source's ETag is this one (`x-amz-copy-source-if-match`), else the store
    /// answers 412 PreconditionFailed. By default unset.
    pub if_match: Option<&'a str>,
}

impl<'a> CopySource<'a> {
    /// `bucket`/`key`, without a precondition.
    pub fn new(bucket: &'a str, key: &'a str) -> Self {
        Self { bucket, key, if_match: None }
    }

    /// The same source, copied only while its ETag is `etag`.
    pub fn if_match(self, etag: &'a str) -> Self {
        Self { if_match: Some(etag), ..self }
    }

    /// `x-amz-copy-source` (`bucket/key`, the key percent-encoded except `/` and unreserved
    /// characters, so spaces, `+`, `%`, `#`, `?` and non-ASCII keys survive) and the precondition.
    pub(super) fn apply<'r>(&self, request: S3Request<'r>) -> Result<S3Request<'r>> {
        let mut source = String::with_capacity(self.bucket.len() + 1 + self.key.len() * 3);
        source.extend(percent_encoding::utf8_percent_encode(self.bucket, COPY_SOURCE_ENCODE));
        source.push('/');
        source.extend(percent_encoding::utf8_percent_encode(self.key, COPY_SOURCE_ENCODE));
        let request = request.header("x-amz-copy-source", &source)?;
        match self.if_match {
            Some(etag) => request.header("x-amz-copy-source-if-match", etag),
            None => Ok(request),
        }
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

impl Client {
    /// HeadObject: the object's size, ETag, metadata and checksums.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo> {
        let context = ErrorContext::new(Operation::HeadObject, bucket, Some(key));
        let request =
            S3Request::new(Method::HEAD, bucket, Some(key), context).header("x-amz-checksum-mode", "ENABLED")?;
        let response = self.send(&request).await?;
        Ok(ObjectInfo::from_headers(&response.headers))
    }

    /// GetObject: the whole object or a range, with a streaming body.
    pub async fn get_object(&self, bucket: &str, key: &str, options: &GetObjectOptions) -> Result<GetObjectOutput> {
        let mut output = self.get_object_with(bucket, key, options, &mut RetryContext::new()).await?;
        // The caller may hold the body as long as it likes: it does not hold a request slot.
        output.body.release_slot();
        Ok(output)
    }

    /// GetObject with retries, counting its attempts in `retry`.
    pub(crate) async fn get_object_with(
        &self,
        bucket: &str,
        key: &str,
        options: &GetObjectOptions,
        retry: &mut RetryContext,
    ) -> Result<GetObjectOutput> {
        let request = get_object_request(bucket, key, options)?;
        let response = self.send_with(&request, retry).await?;
        get_object_output(response, &request.context)
    }

    /// One GetObject attempt, no retry (for a caller whose own attempt covers more than the
    /// headers: a download part, whose body is read in the same attempt).
    pub(crate) async fn get_object_once(
        &self,
        bucket: &str,
        key: &str,
        options: &GetObjectOptions,
    ) -> std::result::Result<GetObjectOutput, Failure> {
        let request = get_object_request(bucket, key, options).map_err(|e| (e, None))?;
        let response = self.send_once(&request).await?;
        get_object_output(response, &request.context).map_err(|e| (e, None))
    }

    /// PutObject: uploads `body` as one object. The body is sent again whole on a retry.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        options: &PutObjectOptions,
    ) -> Result<PutObjectOutput> {
        let context = ErrorContext::new(Operation::PutObject, bucket, Some(key));
        let request = options.apply(S3Request::new(Method::PUT, bucket, Some(key), context).body(body), true)?;
        let (headers, _) = self.send_for_xml(&request).await?;
        Ok(PutObjectOutput {
            etag: header_str(&headers, "etag").map(str::to_owned),
            version_id: header_str(&headers, "x-amz-version-id").map(str::to_owned),
        })
    }

    /// DeleteObject. Deleting a key that does not exist succeeds, as in S3.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let context = ErrorContext::new(Operation::DeleteObject, bucket, Some(key));
        self.send_for_xml(&S3Request::new(Method::DELETE, bucket, Some(key), context)).await?;
        Ok(())
    }

    /// DeleteObjects: deletes up to [`MAX_DELETE_KEYS`] keys in one request. Per-key failures are
    /// reported in the output, not as an error.
    pub async fn delete_objects(&self, bucket: &str, keys: &[String]) -> Result<DeleteObjectsOutput> {
        let context = ErrorContext::new(Operation::DeleteObjects, bucket, None);
        if keys.len() > MAX_DELETE_KEYS {
            return Err(Error::InvalidConfig(format!(
                "DeleteObjects takes at most {MAX_DELETE_KEYS} keys, got {}",
                keys.len()
            )));
        }
        if keys.is_empty() {
            return Ok(DeleteObjectsOutput::default());
        }
        let document = xml::delete_objects(keys.iter().map(String::as_str), false);
        let md5 = crate::checksum::checksum(ChecksumAlgorithm::Md5, document.as_bytes());
        let request = S3Request::new(Method::POST, bucket, None, context.clone())
            .query("delete", "")
            .header("content-md5", &md5.value)?
            .header("content-type", "application/xml")?
            .body(Bytes::from(document));
        let (_, body) = self.send_for_xml(&request).await?;
        let parsed: xml::DeleteResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context, format!("DeleteObjects XML: {e}")))?;
        Ok(DeleteObjectsOutput {
            deleted: parsed.deleted.into_iter().map(|d| d.key).collect(),
            errors: parsed
                .error
                .into_iter()
                .map(|e| DeleteError { key: e.key, code: e.code, message: e.message })
                .collect(),
        })
    }

    /// CopyObject: a server-side copy (up to 5 GiB), keeping the source's metadata.
    pub async fn copy_object(
        &self,
        source_bucket: &str,
        source_key: &str,
        bucket: &str,
        key: &str,
    ) -> Result<PutObjectOutput> {
        self.copy_object_from(CopySource::new(source_bucket, source_key), bucket, key).await
    }

    /// CopyObject from `source` (with its precondition, if any): a server-side copy of up to
    /// 5 GiB that keeps the source's content type and user metadata. A 200 answer carrying an
    /// error document is an error (and retried when S3 says it may be).
    pub async fn copy_object_from(&self, source: CopySource<'_>, bucket: &str, key: &str) -> Result<PutObjectOutput> {
        self.copy_object_with(source, bucket, key, &CopyProperties::default()).await
    }

    /// CopyObject from `source` setting `properties` on the new object (see [`CopyProperties`]).
    pub async fn copy_object_with(
        &self,
        source: CopySource<'_>,
        bucket: &str,
        key: &str,
        properties: &CopyProperties,
    ) -> Result<PutObjectOutput> {
        let context = ErrorContext::new(Operation::CopyObject, bucket, Some(key));
        let request = source.apply(S3Request::new(Method::PUT, bucket, Some(key), context.clone()))?;
        let request = properties.apply(request)?;
        let (headers, body) = self.send_for_xml(&request).await?;
        let parsed: xml::CopyObjectResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context, format!("CopyObject XML: {e}")))?;
        Ok(PutObjectOutput {
            etag: parsed.etag,
            version_id: header_str(&headers, "x-amz-version-id").map(str::to_owned),
        })
    }

    /// A presigned GET URL for `bucket/key`, valid for `expires_in` (at most 7 days).
    pub async fn presign_get(&self, bucket: &str, key: &str, expires_in: Duration) -> Result<String> {
        self.presign(Method::GET, bucket, key, expires_in).await
    }

    /// A presigned PUT URL for `bucket/key`, valid for `expires_in` (at most 7 days).
    pub async fn presign_put(&self, bucket: &str, key: &str, expires_in: Duration) -> Result<String> {
        self.presign(Method::PUT, bucket, key, expires_in).await
    }

    async fn presign(&self, method: Method, bucket: &str, key: &str, expires_in: Duration) -> Result<String> {
        let context = ErrorContext::new(Operation::Presign, bucket, Some(key));
        if expires_in.is_zero() || expires_in > MAX_PRESIGN_EXPIRY {
            return Err(Error::InvalidConfig(format!(
                "presigned URL expiry must be between 1 s and 7 days, got {expires_in:?}"
            )));
        }
        let url = request_url(self, bucket, Some(key), &[]);
        let credentials = self.credentials(&context).await?.ok_or_else(|| Error::Credentials {
            context: Box::new(context.clone()),
            message: "anonymous clients cannot presign".into(),
        })?;
        auth::presign_url(&method, &url, &credentials, self.region(), SystemTime::now(), expires_in, &context)
    }
}

/// The request of a GetObject.
fn get_object_request<'a>(bucket: &'a str, key: &'a str, options: &GetObjectOptions) -> Result<S3Request<'a>> {
    let context = ErrorContext::new(Operation::GetObject, bucket, Some(key));
    let mut request = S3Request::new(Method::GET, bucket, Some(key), context);
    if let Some(range) = &options.range {
        // Written on the stack: the header value is the only allocation.
        let mut value = [0u8; 48];
        let len = {
            use std::io::Write as _;
            let mut cursor = std::io::Cursor::new(&mut value[..]);
            let _ = match range.end {
                Some(end) => write!(cursor, "bytes={}-{}", range.start, end),
                None => write!(cursor, "bytes={}-", range.start),
            };
            cursor.position() as usize
        };
        let value = http::HeaderValue::from_bytes(&value[..len]).expect("ASCII digits");
        request.headers.insert(http::header::RANGE, value);
    }
    if let Some(etag) = &options.if_match {
        request = request.header("if-match", etag)?;
    }
    if options.checksum_mode {
        request = request.header("x-amz-checksum-mode", "ENABLED")?;
    }
    Ok(request)
}

/// A GetObject answer with its body unread.
fn get_object_output(response: S3Response, context: &ErrorContext) -> Result<GetObjectOutput> {
    let info = ObjectInfo::from_headers(&response.headers);
    let content_range = match header_str(&response.headers, "content-range") {
        Some(value) => Some(
            ContentRange::parse(value)
                .ok_or_else(|| Error::invalid_response(context.clone(), format!("bad Content-Range {value:?}")))?,
        ),
        None if response.status == http::StatusCode::PARTIAL_CONTENT => {
            return Err(Error::invalid_response(context.clone(), "206 answer without Content-Range"));
        }
        None => None,
    };
    Ok(GetObjectOutput { info, content_range, body: response.body })
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
    fn copy_source_header_encodes_odd_keys() {
        let context = ErrorContext::new(Operation::CopyObject, "b", Some("k"));
        let request = CopySource::new("src", "dir/a b+c%d#e?f=g&h~é.txt")
            .if_match("\"etag\"")
            .apply(S3Request::new(Method::PUT, "b", Some("k"), context))
            .unwrap();
        assert_eq!(request.headers["x-amz-copy-source"], "src/dir/a%20b%2Bc%25d%23e%3Ff%3Dg%26h~%C3%A9.txt");
        assert_eq!(request.headers["x-amz-copy-source-if-match"], "\"etag\"");
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
    }

    #[test]
    fn range_header_values() {
        assert_eq!(ByteRange::inclusive(5, 9).header_value(), "bytes=5-9");
        assert_eq!(ByteRange::from(7).header_value(), "bytes=7-");
    }
}
