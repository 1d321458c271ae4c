//! ListObjectsV2, one page at a time or as a stream of pages.

use std::time::SystemTime;

use http::Method;

use super::request::S3Request;
use super::{parse_iso8601, xml};
use crate::client::Client;
use crate::error::{Error, ErrorContext, Operation, Result};

/// Options of [`Client::list_objects_v2`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListObjectsOptions {
    /// Only keys starting with this. By default all keys.
    pub prefix: Option<String>,
    /// Roll keys up to the first delimiter after the prefix into common prefixes (`/` lists one
    /// "directory" level). By default none.
    pub delimiter: Option<String>,
    /// Continue where the previous page ended. By default the first page.
    pub continuation_token: Option<String>,
    /// Start after this key. By default the first key.
    pub start_after: Option<String>,
    /// Keys per page (the store caps it at 1,000). By default the store's maximum.
    pub max_keys: Option<u32>,
}

/// Builder-style setters, one per field: `ListObjectsOptions::default().with_…(…)`.
impl ListObjectsOptions {
    /// Lists only keys starting with `prefix` ([`prefix`](Self::prefix)).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Rolls keys up to `delimiter` into common prefixes ([`delimiter`](Self::delimiter)).
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }

    /// Continues where the page of `token` ended ([`continuation_token`](Self::continuation_token)).
    #[must_use]
    pub fn with_continuation_token(mut self, token: impl Into<String>) -> Self {
        self.continuation_token = Some(token.into());
        self
    }

    /// Starts after `key` ([`start_after`](Self::start_after)).
    #[must_use]
    pub fn with_start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }

    /// Asks for at most `max_keys` keys per page ([`max_keys`](Self::max_keys)).
    #[must_use]
    pub fn with_max_keys(mut self, max_keys: u32) -> Self {
        self.max_keys = Some(max_keys);
        self
    }
}

/// One object in a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectSummary {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, quoted.
    pub etag: Option<String>,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
    /// The storage class.
    pub storage_class: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsPage {
    /// Objects, in key order.
    pub objects: Vec<ObjectSummary>,
    /// Common prefixes ("directories") when a delimiter was given.
    pub common_prefixes: Vec<String>,
    /// The token of the next page, when the listing is truncated.
    pub next_continuation_token: Option<String>,
}

fn decode(text: String, url_encoded: bool) -> String {
    if !url_encoded {
        return text;
    }
    // Keys are bytes on S3; ones that are not UTF-8 are kept lossily rather than dropped.
    percent_encoding::percent_decode_str(&text).decode_utf8_lossy().into_owned()
}

impl Client {
    /// ListObjectsV2: one page of keys under `options.prefix`.
    pub async fn list_objects_v2(&self, bucket: &str, options: &ListObjectsOptions) -> Result<ListObjectsPage> {
        let context = ErrorContext::new(Operation::ListObjectsV2, bucket, None);
        let mut request = S3Request::new(Method::GET, bucket, None, context.clone())
            .query("list-type", "2")
            .query("encoding-type", "url");
        if let Some(token) = &options.continuation_token {
            request = request.query("continuation-token", token.clone());
        }
        if let Some(delimiter) = &options.delimiter {
            request = request.query("delimiter", delimiter.clone());
        }
        if let Some(max_keys) = options.max_keys {
            request = request.query("max-keys", max_keys.to_string());
        }
        if let Some(prefix) = &options.prefix {
            request = request.query("prefix", prefix.clone());
        }
        if let Some(start_after) = &options.start_after {
            request = request.query("start-after", start_after.clone());
        }
        let (_, body) = self.send_for_xml(&request).await?;
        let parsed: xml::ListBucketResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context.clone(), format!("ListObjectsV2 XML: {e}")))?;
        let url_encoded = parsed.encoding_type.as_deref() == Some("url");
        let next_continuation_token = match (parsed.is_truncated, parsed.next_continuation_token) {
            (true, Some(token)) => Some(token),
            (true, None) => {
                return Err(Error::invalid_response(context, "truncated listing without a continuation token"));
            }
            (false, _) => None,
        };
        Ok(ListObjectsPage {
            objects: parsed
                .contents
                .into_iter()
                .map(|c| ObjectSummary {
                    key: decode(c.key, url_encoded),
                    size: c.size,
                    etag: c.etag,
                    last_modified: c.last_modified.as_deref().and_then(parse_iso8601),
                    storage_class: c.storage_class,
                })
                .collect(),
            common_prefixes: parsed.common_prefixes.into_iter().map(|p| decode(p.prefix, url_encoded)).collect(),
            next_continuation_token,
        })
    }

    /// Every page of a listing, following continuation tokens, as a stream.
    pub fn list_objects_v2_pages(
        &self,
        bucket: &str,
        options: ListObjectsOptions,
    ) -> impl futures::Stream<Item = Result<ListObjectsPage>> + Send + 'static {
        let client = self.clone();
        let bucket = bucket.to_owned();
        futures::stream::try_unfold(Some(options), move |state| {
            let client = client.clone();
            let bucket = bucket.clone();
            async move {
                let Some(mut options) = state else { return Ok(None) };
                let page = client.list_objects_v2(&bucket, &options).await?;
                let next = page.next_continuation_token.clone().map(|token| {
                    options.continuation_token = Some(token);
                    options
                });
                Ok(Some((page, next)))
            }
        })
    }
}
