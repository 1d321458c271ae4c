//! Buckets: CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
//! ListBuckets. Buckets are entries of the object index (see `index`).
//!
//! ListBuckets honours `max-buckets` (1–10,000, as S3) with a continuation
//! token (the last name of the page) and `prefix`.

use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN_B64;
use base64::Engine as _;
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use crate::store::meta::to_ms;
use crate::store::{blocking, FsStore};

/// S3's largest `max-buckets`.
const MAX_BUCKETS: i32 = 10_000;

/// CreateBucket.
pub(crate) async fn create(
    store: &FsStore,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let layout = store.layout.clone();
    let bucket = req.input.bucket;
    // `EU` is S3's old name of eu-west-1; an empty constraint is us-east-1's.
    let region = req
        .input
        .create_bucket_configuration
        .and_then(|c| c.location_constraint)
        .map(|c| if c.as_str() == "EU" { "eu-west-1".to_owned() } else { c.as_str().to_owned() })
        .filter(|r| !r.is_empty());
    let recorded = region.clone();
    let name = bucket.clone();
    blocking(move || {
        if layout.index.create_bucket(&bucket, to_ms(SystemTime::now()), recorded.as_deref())? {
            Ok(())
        } else {
            Err(s3_error!(BucketAlreadyOwnedByYou, "The bucket {bucket} already exists and is owned by you"))
        }
    })
    .await?;
    store.set_bucket_region(&name, region.as_deref());
    Ok(S3Response::new(CreateBucketOutput::default()))
}

/// DeleteBucket: only an empty one, as S3.
pub(crate) async fn delete(
    store: &FsStore,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let layout = store.layout.clone();
    let bucket = req.input.bucket;
    let name = bucket.clone();
    blocking(move || layout.index.delete_bucket(&bucket)).await?;
    store.set_bucket_region(&name, None);
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

/// HeadBucket, with the bucket's region (`x-amz-bucket-region`).
pub(crate) async fn head(store: &FsStore, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
    let layout = store.layout.clone();
    let bucket = req.input.bucket;
    let region = store.bucket_region(&bucket);
    blocking(move || layout.require_bucket(&bucket)).await?;
    Ok(S3Response::new(HeadBucketOutput { bucket_region: Some(region), ..Default::default() }))
}

/// GetBucketLocation: the bucket's region, empty for us-east-1 (as S3). Served whatever region
/// the request was signed for, as S3 does, since it is how clients find the region.
pub(crate) async fn location(
    store: &FsStore,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let layout = store.layout.clone();
    let bucket = req.input.bucket;
    let region = store.bucket_region(&bucket);
    blocking(move || layout.require_bucket(&bucket)).await?;
    let location_constraint = (region != "us-east-1").then(|| BucketLocationConstraint::from(region));
    Ok(S3Response::new(GetBucketLocationOutput { location_constraint }))
}

/// ListBuckets.
pub(crate) async fn list(store: &FsStore, req: S3Request<ListBucketsInput>) -> S3Result<S3Response<ListBucketsOutput>> {
    let input = req.input;
    let max = match input.max_buckets {
        None => None,
        Some(n) if (1..=MAX_BUCKETS).contains(&n) => Some(usize::try_from(n).unwrap_or(0)),
        Some(_) => {
            return Err(s3_error!(InvalidArgument, "max-buckets must be an integer between 1 and {MAX_BUCKETS}"))
        }
    };
    let after = input
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
    let layout = store.layout.clone();
    let all = blocking(move || layout.index.buckets()).await?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let mut buckets: Vec<Bucket> = all
        .into_iter()
        .filter(|(name, _)| name.starts_with(&prefix) && after.as_ref().is_none_or(|a| name > a))
        .map(|(name, created_ms)| Bucket {
            creation_date: Some(Timestamp::from(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(created_ms))),
            bucket_region: Some(store.bucket_region(&name)),
            name: Some(name),
        })
        .collect();
    let mut next = None;
    if let Some(max) = max.filter(|m| buckets.len() > *m) {
        buckets.truncate(max);
        next = buckets.last().and_then(|b| b.name.as_ref()).map(|n| TOKEN_B64.encode(n));
    }
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        continuation_token: next,
        prefix: input.prefix,
        ..Default::default()
    }))
}
