//! Bucket operations: CreateBucket, DeleteBucket, HeadBucket, ListBuckets.

use std::time::SystemTime;

use bytes::Bytes;
use http::Method;

use super::request::S3Request;
use super::{parse_iso8601, xml};
use crate::client::Client;
use crate::error::{Error, ErrorContext, Operation, Result};

/// A bucket as ListBuckets reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketInfo {
    /// The bucket's name.
    pub name: String,
    /// When it was created, if the store said.
    pub creation_date: Option<SystemTime>,
}

impl Client {
    /// Creates `bucket` (in the client's region, unless that is `us-east-1`).
    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        let context = ErrorContext::new(Operation::CreateBucket, bucket, None);
        let mut request = S3Request::new(Method::PUT, bucket, None, context);
        if self.region() != "us-east-1" {
            request = request.body(Bytes::from(format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                quick_xml::escape::escape(self.region())
            )));
        }
        self.send_for_xml(&request).await?;
        Ok(())
    }

    /// Deletes the empty bucket `bucket`.
    pub async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let context = ErrorContext::new(Operation::DeleteBucket, bucket, None);
        self.send_for_xml(&S3Request::new(Method::DELETE, bucket, None, context)).await?;
        Ok(())
    }

    /// Checks that `bucket` exists and is accessible (`NoSuchBucket` or `AccessDenied` otherwise).
    pub async fn head_bucket(&self, bucket: &str) -> Result<()> {
        let context = ErrorContext::new(Operation::HeadBucket, bucket, None);
        self.send(&S3Request::new(Method::HEAD, bucket, None, context)).await?;
        Ok(())
    }

    /// Lists the buckets the credentials own.
    pub async fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        let context = ErrorContext::new(Operation::ListBuckets, "", None);
        let (_, body) = self.send_for_xml(&S3Request::new(Method::GET, "", None, context.clone())).await?;
        let parsed: xml::ListAllMyBucketsResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context, format!("ListBuckets XML: {e}")))?;
        Ok(parsed
            .buckets
            .bucket
            .into_iter()
            .map(|b| BucketInfo { creation_date: b.creation_date.as_deref().and_then(parse_iso8601), name: b.name })
            .collect())
    }
}
