//! Object tags: Put/Get/DeleteObjectTagging, and the `x-amz-tagging` header
//! of PutObject, CopyObject and CreateMultipartUpload.
//!
//! Tags are part of an object's metadata in the index (see `meta`), so they
//! change atomically with the object; tagging operations rewrite the index
//! entry and keep the data file. S3's limits apply: at most [`MAX_TAGS`] tags,
//! keys of at most 128 and values of at most 256 characters, no key twice
//! (`InvalidTag` otherwise).

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use crate::store::key::ObjectKey;
use crate::store::{blocking, FsStore};

/// S3's most tags per object.
const MAX_TAGS: usize = 10;
/// S3's longest tag key, in characters.
const MAX_TAG_KEY: usize = 128;
/// S3's longest tag value, in characters.
const MAX_TAG_VALUE: usize = 256;

/// Checks a tag set against S3's limits.
fn validate(tags: Vec<(String, String)>) -> S3Result<Vec<(String, String)>> {
    if tags.len() > MAX_TAGS {
        return Err(s3_error!(InvalidTag, "Object tags cannot be greater than {MAX_TAGS}"));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > MAX_TAG_KEY {
            return Err(s3_error!(InvalidTag, "The TagKey you have provided is invalid"));
        }
        if v.chars().count() > MAX_TAG_VALUE {
            return Err(s3_error!(InvalidTag, "The TagValue you have provided is invalid"));
        }
        if tags[..i].iter().any(|(other, _)| other == k) {
            return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(tags)
}

/// Parses `x-amz-tagging` (`k1=v1&k2=v2`, URL-encoded).
pub(crate) fn parse_tagging_header(header: &str) -> S3Result<Vec<(String, String)>> {
    validate(url::form_urlencoded::parse(header.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

/// The tag set of a Tagging body.
fn from_tag_set(tagging: Tagging) -> S3Result<Vec<(String, String)>> {
    validate(tagging.tag_set.into_iter().map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default())).collect())
}

/// PutObjectTagging.
pub(crate) async fn put(
    store: &FsStore,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let input = req.input;
    ObjectKey::parse(&input.key)?;
    let tags = from_tag_set(input.tagging)?;
    let layout = store.layout.clone();
    blocking(move || layout.update_meta(&input.bucket, ObjectKey::parse(&input.key)?, |m| m.tags = tags)).await?;
    Ok(S3Response::new(PutObjectTaggingOutput::default()))
}

/// GetObjectTagging.
pub(crate) async fn get(
    store: &FsStore,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let input = req.input;
    ObjectKey::parse(&input.key)?;
    let layout = store.layout.clone();
    let tags = blocking(move || {
        let key = ObjectKey::parse(&input.key)?;
        match layout.stat_object(&input.bucket, key)? {
            Some(m) => Ok(m.tags),
            None => Err(super::missing_object(&layout, &input.bucket, key)),
        }
    })
    .await?;
    let tag_set = tags.into_iter().map(|(k, v)| Tag { key: Some(k), value: Some(v) }).collect();
    Ok(S3Response::new(GetObjectTaggingOutput { tag_set, version_id: None }))
}

/// DeleteObjectTagging.
pub(crate) async fn delete(
    store: &FsStore,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let input = req.input;
    ObjectKey::parse(&input.key)?;
    let layout = store.layout.clone();
    blocking(move || layout.update_meta(&input.bucket, ObjectKey::parse(&input.key)?, |m| m.tags.clear())).await?;
    Ok(S3Response::new(DeleteObjectTaggingOutput::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_url_encoded_pairs() {
        assert_eq!(
            parse_tagging_header("a=1&b%20c=x%26y").unwrap(),
            [("a".to_owned(), "1".to_owned()), ("b c".to_owned(), "x&y".to_owned())]
        );
        assert!(parse_tagging_header("").unwrap().is_empty());
    }

    #[test]
    fn s3_limits() {
        let code = |h: &str| parse_tagging_header(h).unwrap_err().code().clone();
        assert_eq!(code("a=1&a=2"), s3s::S3ErrorCode::InvalidTag);
        let many: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert_eq!(code(&many.join("&")), s3s::S3ErrorCode::InvalidTag);
        assert_eq!(code(&format!("{}=v", "k".repeat(129))), s3s::S3ErrorCode::InvalidTag);
        assert_eq!(code(&format!("k={}", "v".repeat(257))), s3s::S3ErrorCode::InvalidTag);
    }
}
