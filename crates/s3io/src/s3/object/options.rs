//! What an object request is shaped by: the `*Options` and properties a caller fills in
//! ([`GetObjectOptions`], [`PutObjectOptions`], [`CopyProperties`]) and the values they hold
//! ([`ByteRange`], [`ServerSideEncryption`], [`CopySource`]), each turned into its request
//! headers by an `apply` (or `header_value`) method the operations call.
//!
//! The options and properties are `#[non_exhaustive]`, built with `with_*` setters from
//! `Default` ([`CopySource`] from `new`). [`ByteRange`] stays an exhaustive value: its two
//! fields say every range it can be, and [`ByteRange::inclusive`] and [`ByteRange::from`] build it.

use super::output::ObjectInfo;
use crate::checksum::ChecksumValue;
use crate::error::Result;
use crate::s3::request::S3Request;

/// Characters left as they are in `x-amz-copy-source`: unreserved plus `/`.
const COPY_SOURCE_ENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

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

    pub(in crate::s3) fn header_value(&self) -> String {
        match self.end {
            Some(end) => format!("bytes={}-{}", self.start, end),
            None => format!("bytes={}-", self.start),
        }
    }
}

/// Options of [`Client::get_object`](crate::Client::get_object).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GetObjectOptions {
    /// Only these bytes. By default the whole object.
    pub range: Option<ByteRange>,
    /// Fail with 412 PreconditionFailed unless the object's ETag is this one. By default unset.
    pub if_match: Option<String>,
    /// Ask for the stored checksums (`x-amz-checksum-mode: ENABLED`). By default `false`.
    pub checksum_mode: bool,
    /// The customer-provided key the object was stored with (SSE-C). By default none.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// This version of the object (`versionId`), on a versioned bucket. By default the latest.
    pub version_id: Option<String>,
}

/// Builder-style setters, one per field: `GetObjectOptions::default().with_…(…)`.
impl GetObjectOptions {
    /// Reads only [`range`](Self::range).
    #[must_use]
    pub fn with_range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
        self
    }

    /// Sets the [`if_match`](Self::if_match) precondition to `etag`.
    #[must_use]
    pub fn with_if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Sets [`checksum_mode`](Self::checksum_mode).
    #[must_use]
    pub fn with_checksum_mode(mut self, checksum_mode: bool) -> Self {
        self.checksum_mode = checksum_mode;
        self
    }

    /// Reads the object with its SSE-C key `key` ([`sse_customer_key`](Self::sse_customer_key)).
    #[must_use]
    pub fn with_sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer_key = Some(key);
        self
    }

    /// Reads version `version_id` ([`version_id`](Self::version_id)).
    #[must_use]
    pub fn with_version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }
}

/// Options of [`Client::head_object_with`](crate::Client::head_object_with).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct HeadObjectOptions {
    /// The customer-provided key the object was stored with (SSE-C). By default none.
    pub sse_customer_key: Option<SseCustomerKey>,
    /// This version of the object (`versionId`), on a versioned bucket. By default the latest.
    pub version_id: Option<String>,
}

/// Builder-style setters, one per field: `HeadObjectOptions::default().with_…(…)`.
impl HeadObjectOptions {
    /// Reads the object with its SSE-C key `key` ([`sse_customer_key`](Self::sse_customer_key)).
    #[must_use]
    pub fn with_sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer_key = Some(key);
        self
    }

    /// Reads version `version_id` ([`version_id`](Self::version_id)).
    #[must_use]
    pub fn with_version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
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

/// A customer-provided encryption key (SSE-C): S3 encrypts the object with it and keeps only the
/// key's MD5, so every later read (GET, HEAD, a copy's source) must bring the same key. The
/// algorithm is `AES256`, the only one S3 offers. The three headers
/// (`x-amz-server-side-encryption-customer-{algorithm,key,key-MD5}`) are built once, as values
/// marked sensitive, and cloned per request by reference count: a download's parts allocate
/// nothing for them. `Debug` shows only the key's MD5.
#[derive(Clone, PartialEq, Eq)]
pub struct SseCustomerKey(std::sync::Arc<SseCustomerKeyInner>);

#[derive(PartialEq, Eq)]
struct SseCustomerKeyInner {
    key: http::HeaderValue,
    key_md5: http::HeaderValue,
}

impl std::fmt::Debug for SseCustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseCustomerKey").field("algorithm", &"AES256").field("key_md5", &self.key_md5()).finish()
    }
}

impl SseCustomerKey {
    /// Bytes of an AES-256 key.
    pub const KEY_LEN: usize = 32;

    /// The key of `key`'s 32 raw bytes.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) when `key` is not 32 bytes long.
    pub fn new(key: &[u8]) -> Result<Self> {
        use base64::Engine as _;
        use md5::Digest as _;
        if key.len() != Self::KEY_LEN {
            return Err(crate::Error::InvalidConfig(format!(
                "an SSE-C key (AES256) is {} bytes, got {}",
                Self::KEY_LEN,
                key.len()
            )));
        }
        let engine = base64::engine::general_purpose::STANDARD;
        let value = |text: String| {
            let mut value = http::HeaderValue::from_str(&text).expect("base64 is a valid header value");
            value.set_sensitive(true);
            value
        };
        Ok(Self(std::sync::Arc::new(SseCustomerKeyInner {
            key: value(engine.encode(key)),
            key_md5: value(engine.encode(md5::Md5::digest(key))),
        })))
    }

    /// The base64 MD5 of the key, as S3 reports it (`x-amz-server-side-encryption-customer-key-MD5`).
    pub fn key_md5(&self) -> &str {
        self.0.key_md5.to_str().unwrap_or_default()
    }

    /// Adds the key's three headers to `request`: of the request's own object, or (`copy_source`)
    /// of a copy's source (`x-amz-copy-source-server-side-encryption-customer-*`).
    pub(crate) fn apply<'a>(&self, mut request: S3Request<'a>, copy_source: bool) -> S3Request<'a> {
        use http::HeaderName;
        let names: [&'static str; 3] = if copy_source {
            [
                "x-amz-copy-source-server-side-encryption-customer-algorithm",
                "x-amz-copy-source-server-side-encryption-customer-key",
                "x-amz-copy-source-server-side-encryption-customer-key-md5",
            ]
        } else {
            [
                "x-amz-server-side-encryption-customer-algorithm",
                "x-amz-server-side-encryption-customer-key",
                "x-amz-server-side-encryption-customer-key-md5",
            ]
        };
        let headers = &mut request.headers;
        headers.insert(HeaderName::from_static(names[0]), http::HeaderValue::from_static("AES256"));
        headers.insert(HeaderName::from_static(names[1]), self.0.key.clone());
        headers.insert(HeaderName::from_static(names[2]), self.0.key_md5.clone());
        request
    }
}

/// Options of [`Client::put_object`](crate::Client::put_object) and
/// [`Client::create_multipart_upload`](crate::Client::create_multipart_upload).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
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
    /// Encrypt with this customer-provided key (SSE-C); every part of a multipart upload carries
    /// it too. By default none.
    pub sse_customer_key: Option<SseCustomerKey>,
}

/// Builder-style setters, one per field: `PutObjectOptions::default().with_…(…)`.
impl PutObjectOptions {
    /// Sets [`content_type`](Self::content_type).
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets [`content_encoding`](Self::content_encoding).
    #[must_use]
    pub fn with_content_encoding(mut self, content_encoding: impl Into<String>) -> Self {
        self.content_encoding = Some(content_encoding.into());
        self
    }

    /// Sets [`content_disposition`](Self::content_disposition).
    #[must_use]
    pub fn with_content_disposition(mut self, content_disposition: impl Into<String>) -> Self {
        self.content_disposition = Some(content_disposition.into());
        self
    }

    /// Sets [`content_language`](Self::content_language).
    #[must_use]
    pub fn with_content_language(mut self, content_language: impl Into<String>) -> Self {
        self.content_language = Some(content_language.into());
        self
    }

    /// Sets [`cache_control`](Self::cache_control).
    #[must_use]
    pub fn with_cache_control(mut self, cache_control: impl Into<String>) -> Self {
        self.cache_control = Some(cache_control.into());
        self
    }

    /// Sets [`expires`](Self::expires) (an HTTP date).
    #[must_use]
    pub fn with_expires(mut self, expires: impl Into<String>) -> Self {
        self.expires = Some(expires.into());
        self
    }

    /// Sets the user [`metadata`](Self::metadata), replacing any already set.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Vec<(String, String)>) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets [`storage_class`](Self::storage_class).
    #[must_use]
    pub fn with_storage_class(mut self, storage_class: impl Into<String>) -> Self {
        self.storage_class = Some(storage_class.into());
        self
    }

    /// Sets the server-side encryption ([`sse`](Self::sse)).
    #[must_use]
    pub fn with_sse(mut self, sse: ServerSideEncryption) -> Self {
        self.sse = Some(sse);
        self
    }

    /// Sends the body's [`checksum`](Self::checksum).
    #[must_use]
    pub fn with_checksum(mut self, checksum: ChecksumValue) -> Self {
        self.checksum = Some(checksum);
        self
    }

    /// Sets the canned [`acl`](Self::acl).
    #[must_use]
    pub fn with_acl(mut self, acl: impl Into<String>) -> Self {
        self.acl = Some(acl.into());
        self
    }

    /// Sets the tags ([`tagging`](Self::tagging)), a URL query such as `team=data&tier=hot`.
    #[must_use]
    pub fn with_tagging(mut self, tagging: impl Into<String>) -> Self {
        self.tagging = Some(tagging.into());
        self
    }

    /// Encrypts with the customer-provided key `key` ([`sse_customer_key`](Self::sse_customer_key)).
    #[must_use]
    pub fn with_sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.sse_customer_key = Some(key);
        self
    }
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
        if let Some(key) = &self.sse_customer_key {
            request = key.apply(request, false);
        }
        if with_checksum {
            if let Some(checksum) = &self.checksum {
                request = request.header(checksum.algorithm.header(), &checksum.value)?;
            }
        }
        Ok(request)
    }
}

/// What a server-side copy sets on the new object. By default it keeps the source's metadata,
/// headers and tags (S3's `COPY` directives) and sets nothing else.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CopyProperties {
    /// Replace the source's Content-Type, other headers and user metadata with `options`'
    /// (`x-amz-metadata-directive: REPLACE`). By default `false`: they are copied.
    pub replace_metadata: bool,
    /// Copy the source's tags when `options` gives none: CopyObject does by itself, a multipart
    /// copy reads them (GetObjectTagging) and sets them on the new object. `false` gives the new
    /// object no tags but `options`' (`x-amz-tagging-directive: REPLACE`). By default `true`.
    pub copy_tags: bool,
    /// The new object's headers and metadata (used when `replace_metadata`), and its storage
    /// class, encryption (SSE-C key included), canned ACL and tags (used either way; tags replace
    /// the source's).
    pub options: PutObjectOptions,
}

impl CopyProperties {
    /// Properties replacing the source's metadata with `options`' (`replace_metadata`), or
    /// keeping it and setting only `options`' storage class, encryption, ACL and tags.
    pub fn new(options: PutObjectOptions, replace_metadata: bool) -> Self {
        Self { replace_metadata, copy_tags: true, options }
    }

    /// The same properties, copying the source's tags or not (see [`copy_tags`](Self::copy_tags)).
    #[must_use]
    pub fn with_copy_tags(mut self, copy_tags: bool) -> Self {
        self.copy_tags = copy_tags;
        self
    }

    /// The same properties, replacing the source's metadata or not (see
    /// [`replace_metadata`](Self::replace_metadata)).
    #[must_use]
    pub fn with_replace_metadata(mut self, replace_metadata: bool) -> Self {
        self.replace_metadata = replace_metadata;
        self
    }

    /// The same properties, setting `options` on the new object (see [`options`](Self::options)).
    #[must_use]
    pub fn with_options(mut self, options: PutObjectOptions) -> Self {
        self.options = options;
        self
    }

    pub(super) fn apply<'a>(&self, request: S3Request<'a>) -> Result<S3Request<'a>> {
        let mut request = if self.replace_metadata {
            self.options.apply(request.header("x-amz-metadata-directive", "REPLACE")?, false)?
        } else {
            let kept = PutObjectOptions {
                storage_class: self.options.storage_class.clone(),
                sse: self.options.sse.clone(),
                acl: self.options.acl.clone(),
                tagging: self.options.tagging.clone(),
                sse_customer_key: self.options.sse_customer_key.clone(),
                ..PutObjectOptions::default()
            };
            kept.apply(request, false)?
        };
        if self.options.tagging.is_some() || !self.copy_tags {
            request = request.header("x-amz-tagging-directive", "REPLACE")?;
        }
        Ok(request)
    }

    /// The options of a multipart copy's CreateMultipartUpload, which copies nothing by itself:
    /// the source's headers and metadata (from its HeadObject) unless replaced, the source's tags
    /// (`source_tags`, an `x-amz-tagging` query) unless replaced or not copied, plus the
    /// properties set either way.
    pub(crate) fn for_multipart(&self, source: &ObjectInfo, source_tags: Option<String>) -> PutObjectOptions {
        let tagging = match (&self.options.tagging, self.copy_tags) {
            (Some(tags), _) => Some(tags.clone()),
            (None, true) => source_tags,
            (None, false) => None,
        };
        if self.replace_metadata {
            return PutObjectOptions { tagging, ..self.options.clone() };
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
            tagging,
            sse_customer_key: self.options.sse_customer_key.clone(),
            ..PutObjectOptions::default()
        }
    }
}

impl Default for CopyProperties {
    fn default() -> Self {
        Self::new(PutObjectOptions::default(), false)
    }
}

/// The source object of a server-side copy
/// ([`Client::copy_object_from`](crate::Client::copy_object_from),
/// [`Client::upload_part_copy`](crate::Client::upload_part_copy)), with an optional ETag
/// precondition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopySource<'a> {
    /// The source bucket.
    pub bucket: &'a str,
    /// The source key (any characters: it is URL-encoded in `x-amz-copy-source`).
    pub key: &'a str,
    /// Copy only if the source's ETag is this one (`x-amz-copy-source-if-match`), else the store
    /// answers 412 PreconditionFailed. By default unset.
    pub if_match: Option<&'a str>,
    /// The customer-provided key the source was stored with (SSE-C), sent as
    /// `x-amz-copy-source-server-side-encryption-customer-*`. By default none.
    pub sse_customer_key: Option<&'a SseCustomerKey>,
    /// This version of the source (`?versionId=` in `x-amz-copy-source`). By default the latest.
    pub version_id: Option<&'a str>,
}

impl<'a> CopySource<'a> {
    /// `bucket`/`key`, without a precondition.
    pub fn new(bucket: &'a str, key: &'a str) -> Self {
        Self { bucket, key, if_match: None, sse_customer_key: None, version_id: None }
    }

    /// The same source, read with its SSE-C key `key`.
    #[must_use]
    pub fn with_sse_customer_key(self, key: Option<&'a SseCustomerKey>) -> Self {
        Self { sse_customer_key: key, ..self }
    }

    /// The same source, at version `version_id`.
    #[must_use]
    pub fn with_version_id(self, version_id: Option<&'a str>) -> Self {
        Self { version_id, ..self }
    }

    /// The same source, copied only while its ETag is `etag`.
    #[must_use]
    pub fn if_match(self, etag: &'a str) -> Self {
        Self { if_match: Some(etag), ..self }
    }

    /// `x-amz-copy-source` (`bucket/key`, the key percent-encoded except `/` and unreserved
    /// characters, so spaces, `+`, `%`, `#`, `?` and non-ASCII keys survive) and the precondition.
    pub(in crate::s3) fn apply<'r>(&self, request: S3Request<'r>) -> Result<S3Request<'r>> {
        let mut source = String::with_capacity(self.bucket.len() + 1 + self.key.len() * 3);
        source.extend(percent_encoding::utf8_percent_encode(self.bucket, COPY_SOURCE_ENCODE));
        source.push('/');
        source.extend(percent_encoding::utf8_percent_encode(self.key, COPY_SOURCE_ENCODE));
        if let Some(version) = self.version_id {
            source.push_str("?versionId=");
            source.extend(percent_encoding::utf8_percent_encode(version, COPY_SOURCE_ENCODE));
        }
        let mut request = request.header("x-amz-copy-source", &source)?;
        if let Some(key) = self.sse_customer_key {
            request = key.apply(request, true);
        }
        match self.if_match {
            Some(etag) => request.header("x-amz-copy-source-if-match", etag),
            None => Ok(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::error::{ErrorContext, Operation};

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
    fn range_header_values() {
        assert_eq!(ByteRange::inclusive(5, 9).header_value(), "bytes=5-9");
        assert_eq!(ByteRange::from(7).header_value(), "bytes=7-");
    }
}
