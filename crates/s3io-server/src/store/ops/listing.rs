//! ListObjects, ListObjectsV2 and ListObjectVersions: request parameters to a
//! [`ListQuery`], the page (see `list`) to S3's output, `encoding-type=url`
//! applied. The store keeps one version of each object, so its versions listing
//! is the objects listing with every object as its latest version, id `null`, as
//! S3 lists a bucket that never had versioning.

use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN_B64;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::{to_i64, MAX_KEYS};
use crate::store::list::{ListEntry, ListQuery};
use crate::store::{blocking, FsStore};

/// What `encoding-type=url` escapes: all but unreserved characters and `/`, as S3 does.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// ListObjectsV2.
pub(crate) async fn list_v2(
    store: &FsStore,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
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
        list_page(store, input.bucket.clone(), input.prefix.clone(), input.delimiter.clone(), marker, max_keys).await?;
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

/// ListObjects (v1).
pub(crate) async fn list_v1(
    store: &FsStore,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let input = req.input;
    let max_keys = input.max_keys.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS);
    let listing = list_page(
        store,
        input.bucket.clone(),
        input.prefix.clone(),
        input.delimiter.clone(),
        input.marker.clone(),
        max_keys,
    )
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

/// ListObjectVersions (see the module doc: one version, `null`, per object).
pub(crate) async fn list_versions(
    store: &FsStore,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let input = req.input;
    let max_keys = input.max_keys.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS);
    let listing = list_page(
        store,
        input.bucket.clone(),
        input.prefix.clone(),
        input.delimiter.clone(),
        input.key_marker.clone(),
        max_keys,
    )
    .await?;
    let encode = Encoder::new(input.encoding_type.as_ref());
    let versions = encode
        .objects(listing.contents)
        .into_iter()
        .map(|o| ObjectVersion {
            key: o.key,
            version_id: Some("null".to_owned()),
            is_latest: Some(true),
            size: o.size,
            e_tag: o.e_tag,
            last_modified: o.last_modified,
            storage_class: o.storage_class.map(|c| ObjectVersionStorageClass::from(c.as_str().to_owned())),
            checksum_type: o.checksum_type,
            ..Default::default()
        })
        .collect();
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(encode.apply(input.prefix.unwrap_or_default())),
        delimiter: input.delimiter.map(|d| encode.apply(d)),
        key_marker: Some(encode.apply(input.key_marker.unwrap_or_default())),
        version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
        max_keys: Some(max_keys),
        is_truncated: Some(listing.truncated),
        next_version_id_marker: listing.next_marker.as_ref().map(|_| "null".to_owned()),
        next_key_marker: listing.next_marker.map(|m| encode.apply(m)),
        versions: Some(versions),
        common_prefixes: Some(encode.prefixes(listing.prefixes)),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

/// A listing page with each object's metadata.
struct Listing {
    contents: Vec<Object>,
    prefixes: Vec<String>,
    truncated: bool,
    next_marker: Option<String>,
}

async fn list_page(
    store: &FsStore,
    bucket: String,
    prefix: Option<String>,
    delimiter: Option<String>,
    marker: Option<String>,
    max_keys: i32,
) -> S3Result<Listing> {
    let layout = store.layout.clone();
    blocking(move || {
        let query = ListQuery {
            prefix: prefix.as_deref().unwrap_or(""),
            delimiter: delimiter.as_deref(),
            marker: marker.as_deref().filter(|m| !m.is_empty()),
            max_keys: usize::try_from(max_keys).unwrap_or(0),
        };
        let page = crate::store::list::list(&layout.index, &bucket, query)?;
        let next_marker = page.next_marker();
        let mut contents = Vec::new();
        let mut prefixes = Vec::new();
        for entry in page.entries {
            match entry {
                ListEntry::Prefix(p) => prefixes.push(p),
                ListEntry::Object { key, meta } => contents.push(Object {
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
                }),
            }
        }
        Ok(Listing { contents, prefixes, truncated: page.truncated, next_marker })
    })
    .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_of_keys() {
        let e = Encoder::new(Some(&EncodingType::from_static(EncodingType::URL)));
        assert_eq!(e.apply("a b/c+d%".into()), "a%20b/c%2Bd%25");
        let plain = Encoder::new(None);
        assert_eq!(plain.apply("a b".into()), "a b");
    }
}
