//! Object operations: HeadObject, GetObject, PutObject, DeleteObject, DeleteObjects, CopyObject,
//! and presigned URLs.
//!
//! Each operation is a method on [`Client`] in this file: it builds its [`S3Request`] from the
//! caller's options ([`options`]: the `*Options` types and the headers they become), sends it
//! through the retrying request path and parses the answer into its output ([`output`]:
//! [`ObjectInfo`] from the headers, the `*Output` types).

mod options;
mod output;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Method;

pub use options::{
    ByteRange, CopyProperties, CopySource, GetObjectOptions, HeadObjectOptions, PutObjectOptions, ServerSideEncryption,
    SseCustomerKey,
};
pub use output::{ContentRange, DeleteError, DeleteObjectsOutput, GetObjectOutput, ObjectInfo, PutObjectOutput};

use super::request::{header_str, request_url, S3Request, S3Response};
use super::xml;
use crate::auth;
use crate::client::Client;
use crate::config::ChecksumAlgorithm;
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::retry::{Failure, RetryContext};

/// S3's limit on keys per DeleteObjects request.
pub const MAX_DELETE_KEYS: usize = 1000;

/// Longest expiry S3 accepts for a presigned URL: 7 days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

impl Client {
    /// HeadObject: the object's size, ETag, metadata and checksums.
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo> {
        self.head_object_with(bucket, key, &HeadObjectOptions::default()).await
    }

    /// HeadObject of a version, or of an object stored with a customer-provided key (SSE-C).
    pub async fn head_object_with(&self, bucket: &str, key: &str, options: &HeadObjectOptions) -> Result<ObjectInfo> {
        let context = ErrorContext::new(Operation::HeadObject, bucket, Some(key));
        let mut request =
            S3Request::new(Method::HEAD, bucket, Some(key), context).static_header("x-amz-checksum-mode", "ENABLED");
        if let Some(version) = &options.version_id {
            request = request.query("versionId", version.as_str());
        }
        if let Some(sse_key) = &options.sse_customer_key {
            request = sse_key.apply(request, false);
        }
        match self.send(&request).await {
            Ok(response) => Ok(ObjectInfo::from_headers(&response.headers)),
            Err(error) => Err(explain_head_error(error, options.sse_customer_key.is_some())),
        }
    }

    /// GetObject: the whole object or a range, with a streaming body.
    pub async fn get_object(&self, bucket: &str, key: &str, options: &GetObjectOptions) -> Result<GetObjectOutput> {
        let context = ErrorContext::new(Operation::GetObject, bucket, Some(key));
        let mut output = self.get_object_with(&context, options, &mut RetryContext::new()).await?;
        // The caller may hold the body as long as it likes: it does not hold a request slot.
        output.body.release_slot();
        Ok(output)
    }

    /// GetObject of the object `context` names (its operation `GetObject`) with retries,
    /// counting its attempts in `retry`.
    pub(crate) async fn get_object_with(
        &self,
        context: &ErrorContext,
        options: &GetObjectOptions,
        retry: &mut RetryContext,
    ) -> Result<GetObjectOutput> {
        let request = get_object_request(context, options)?;
        let response = self.send_with(&request, retry).await?;
        get_object_output(response, &request.context)
    }

    /// One GetObject attempt, no retry (for a caller whose own attempt covers more than the
    /// headers: a download part, whose body is read in the same attempt).
    pub(crate) async fn get_object_once(
        &self,
        context: &ErrorContext,
        options: &GetObjectOptions,
    ) -> std::result::Result<GetObjectOutput, Failure> {
        let request = get_object_request(context, options).map_err(|e| (e, None))?;
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
        self.copy_object_if(source, bucket, key, properties, false, &mut crate::retry::RetryContext::new()).await
    }

    /// [`Client::copy_object_with`], with `If-None-Match: *` when `if_absent`: the store refuses
    /// (412) to copy over an existing object (see `overwrite`).
    pub(crate) async fn copy_object_if(
        &self,
        source: CopySource<'_>,
        bucket: &str,
        key: &str,
        properties: &CopyProperties,
        if_absent: bool,
        retry: &mut crate::retry::RetryContext,
    ) -> Result<PutObjectOutput> {
        let context = ErrorContext::new(Operation::CopyObject, bucket, Some(key));
        let request = source.apply(S3Request::new(Method::PUT, bucket, Some(key), context.clone()))?;
        let mut request = properties.apply(request)?;
        if if_absent {
            request = request.header(crate::overwrite::IF_NONE_MATCH, crate::overwrite::ANY)?;
        }
        let (headers, body) = self.send_for_xml_with(&request, retry).await?;
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
        let route = self.route(bucket);
        let (endpoint, region) = match &route {
            Some(route) => (&route.endpoint, &*route.region),
            None => (self.endpoint(), self.region()),
        };
        let url = request_url(self, endpoint, bucket, Some(key), &[]);
        let credentials = self.credentials(&context).await?.ok_or_else(|| Error::Credentials {
            context: Box::new(context.clone()),
            message: "anonymous clients cannot presign".into(),
        })?;
        auth::presign_url(&method, &url, &credentials, region, SystemTime::now(), expires_in, &context)
    }
}

/// A HEAD answer has no body, so a refusal comes with its status alone. The likely reasons of the
/// two S3 gives an SSE-C object are named: 400 to a HEAD without the object's customer key,
/// 403 to one with another key.
fn explain_head_error(mut error: Error, with_key: bool) -> Error {
    if let Error::Service { error: service, .. } = &mut error {
        if service.message.is_none() {
            service.message = match (service.status, with_key) {
                (400, false) => Some(
                    "bad request: an object encrypted with a customer-provided key (SSE-C) is read only with its key"
                        .into(),
                ),
                (403, true) => Some("forbidden: the SSE-C key may not be the one the object was stored with".into()),
                _ => None,
            };
        }
    }
    error
}

/// The request of a GetObject of the object `context` names (a clone of it, which shares its
/// bucket and key: no copy of them per request).
fn get_object_request<'a>(context: &'a ErrorContext, options: &GetObjectOptions) -> Result<S3Request<'a>> {
    let mut request = S3Request::new(Method::GET, context.bucket(), context.key(), context.clone());
    if let Some(range) = &options.range {
        // Written on the stack, then shared: the value's one allocation is its shared owner, so
        // the copy each attempt takes of it is a reference count (a value copied into a plain
        // `Bytes` would be copied again, into a shared one, by the first attempt's clone).
        let mut value = RangeValue { text: [0u8; 48], len: 0 };
        {
            use std::io::Write as _;
            let mut cursor = std::io::Cursor::new(&mut value.text[..]);
            let _ = match range.end {
                Some(end) => write!(cursor, "bytes={}-{}", range.start, end),
                None => write!(cursor, "bytes={}-", range.start),
            };
            value.len = cursor.position() as usize;
        }
        let value = http::HeaderValue::from_maybe_shared(Bytes::from_owner(value)).expect("ASCII digits");
        request.headers.insert(http::header::RANGE, value);
    }
    if let Some(etag) = &options.if_match {
        request = request.header("if-match", etag)?;
    }
    if options.checksum_mode {
        request = request.static_header("x-amz-checksum-mode", "ENABLED");
    }
    if let Some(version) = &options.version_id {
        request = request.query("versionId", version.as_str());
    }
    if let Some(key) = &options.sse_customer_key {
        request = key.apply(request, false);
    }
    Ok(request)
}

/// A `Range` header's text, owned by the header value that shares it.
struct RangeValue {
    text: [u8; 48],
    len: usize,
}

impl AsRef<[u8]> for RangeValue {
    fn as_ref(&self) -> &[u8] {
        &self.text[..self.len]
    }
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
