//! Multipart upload operations: Create, UploadPart, UploadPartCopy, Complete, Abort,
//! ListMultipartUploads.

use std::time::SystemTime;

use bytes::Bytes;
use http::Method;

use super::object::{ByteRange, CopySource, PutObjectOptions, SseCustomerKey};
use super::request::{header_str, S3Request};
use super::{parse_iso8601, xml};
use crate::checksum::ChecksumValue;
use crate::client::Client;
use crate::config::ChecksumAlgorithm;
use crate::error::{Error, ErrorContext, Operation, Result};
use crate::retry::RetryContext;

/// A part uploaded, as CompleteMultipartUpload needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletedPart {
    /// The part number, 1 to 10,000.
    pub part_number: u32,
    /// The ETag UploadPart returned.
    pub etag: String,
    /// The checksum sent with the part, if any.
    pub checksum: Option<ChecksumValue>,
}

impl CompletedPart {
    /// Part `part_number` (1 to 10,000), uploaded with ETag `etag`, without a checksum.
    pub fn new(part_number: u32, etag: impl Into<String>) -> Self {
        Self { part_number, etag: etag.into(), checksum: None }
    }

    /// The same part, sent with `checksum` ([`checksum`](Self::checksum)).
    #[must_use]
    pub fn with_checksum(mut self, checksum: ChecksumValue) -> Self {
        self.checksum = Some(checksum);
        self
    }

    /// The same part, numbered `part_number` ([`part_number`](Self::part_number)).
    #[must_use]
    pub fn with_part_number(mut self, part_number: u32) -> Self {
        self.part_number = part_number;
        self
    }

    /// The same part, with ETag `etag` ([`etag`](Self::etag)).
    #[must_use]
    pub fn with_etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = etag.into();
        self
    }
}

/// What CompleteMultipartUpload returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompleteMultipartUploadOutput {
    /// The object's ETag (`"…-N"` for multipart objects).
    pub etag: Option<String>,
    /// The full-object CRC64NVME the store reports, if any.
    pub checksum_crc64nvme: Option<String>,
    /// Every checksum the store reports for the object, full-object or composite (`…-N`).
    pub checksums: Vec<ChecksumValue>,
}

/// What UploadPartCopy returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPartCopyOutput {
    /// The part, as CompleteMultipartUpload needs it (its `checksum` is `None`: the checksums the
    /// store computed are in `checksums`).
    pub part: CompletedPart,
    /// When the part was written, as the store reports it.
    pub last_modified: Option<SystemTime>,
    /// Checksums of the part the store computed, when it reports any.
    pub checksums: Vec<ChecksumValue>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartUploadInfo {
    /// The key being uploaded.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    /// When it was started.
    pub initiated: Option<SystemTime>,
}

/// A part of a multipart upload in progress, as ListParts reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartInfo {
    /// The part number (1 to 10,000).
    pub part_number: u32,
    /// Bytes in the part.
    pub size: u64,
    /// The part's ETag.
    pub etag: String,
    /// The checksums the store keeps for the part, as ListParts reports them.
    pub checksums: Vec<ChecksumValue>,
}

/// One page of ListMultipartUploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMultipartUploadsPage {
    /// Uploads in progress, by key.
    pub uploads: Vec<MultipartUploadInfo>,
    /// Where the next page starts (key marker, upload id marker), when truncated.
    pub next_marker: Option<(String, String)>,
}

impl Client {
    /// CreateMultipartUpload: starts an upload and returns its id. `checksum_algorithm` announces
    /// the algorithm every part will carry (not for MD5).
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        options: &PutObjectOptions,
        checksum_algorithm: Option<ChecksumAlgorithm>,
    ) -> Result<String> {
        let context = ErrorContext::new(Operation::CreateMultipartUpload, bucket, Some(key));
        let mut request = options
            .apply(S3Request::new(Method::POST, bucket, Some(key), context.clone()).query("uploads", ""), false)?;
        if let Some(algorithm) = checksum_algorithm.filter(|a| *a != ChecksumAlgorithm::Md5) {
            request = request.header("x-amz-checksum-algorithm", algorithm.name())?;
            if algorithm == ChecksumAlgorithm::Crc64Nvme {
                request = request.header("x-amz-checksum-type", "FULL_OBJECT")?;
            }
        }
        let (_, body) = self.send_for_xml(&request).await?;
        let parsed: xml::InitiateMultipartUploadResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context.clone(), format!("CreateMultipartUpload XML: {e}")))?;
        if parsed.upload_id.is_empty() {
            return Err(Error::invalid_response(context, "no UploadId in the answer"));
        }
        Ok(parsed.upload_id)
    }

    /// UploadPart: sends one part (resent whole on a retry) and returns what Complete needs.
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Bytes,
        checksum: Option<ChecksumValue>,
    ) -> Result<CompletedPart> {
        let context = ErrorContext::new(Operation::UploadPart, bucket, Some(key));
        let mut request = S3Request::new(Method::PUT, bucket, Some(key), context.clone())
            .query("partNumber", part_number.to_string())
            .query("uploadId", upload_id)
            .body(body);
        if let Some(checksum) = &checksum {
            request = request.header(checksum.algorithm.header(), &checksum.value)?;
        }
        let response = self.send(&request).await?;
        let etag = header_str(&response.headers, "etag")
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid_response(context, format!("UploadPart {part_number} answer has no ETag")))?;
        Ok(CompletedPart { part_number, etag, checksum })
    }

    /// UploadPartCopy: part `part_number` of the upload is copied by the store from `source`
    /// (its bytes `range`, both ends included, or the whole source for `None`), with the source's
    /// precondition as `x-amz-copy-source-if-match`. A 200 answer carrying an error document is an
    /// error (and retried when S3 says it may be).
    pub async fn upload_part_copy(
        &self,
        source: CopySource<'_>,
        range: Option<ByteRange>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
    ) -> Result<UploadPartCopyOutput> {
        self.upload_part_copy_with(source, range, bucket, key, upload_id, part_number, None).await
    }

    /// [`upload_part_copy`](Self::upload_part_copy) into an upload encrypted with a
    /// customer-provided key (SSE-C), which every part must carry.
    #[allow(clippy::too_many_arguments)] // The operation's own parameters, as S3 names them.
    pub async fn upload_part_copy_with(
        &self,
        source: CopySource<'_>,
        range: Option<ByteRange>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        sse_customer_key: Option<&SseCustomerKey>,
    ) -> Result<UploadPartCopyOutput> {
        let context = ErrorContext::new(Operation::UploadPartCopy, bucket, Some(key));
        let mut request = source.apply(
            S3Request::new(Method::PUT, bucket, Some(key), context.clone())
                .query("partNumber", part_number.to_string())
                .query("uploadId", upload_id),
        )?;
        if let Some(sse_key) = sse_customer_key {
            request = sse_key.apply(request, false);
        }
        if let Some(range) = range {
            if range.end.is_none() {
                return Err(Error::InvalidConfig(format!(
                    "UploadPartCopy needs a range with both ends, got bytes={}-",
                    range.start
                )));
            }
            request = request.header("x-amz-copy-source-range", &range.header_value())?;
        }
        let (_, body) = self.send_for_xml(&request).await?;
        let mut parsed: xml::CopyObjectResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context.clone(), format!("UploadPartCopy XML: {e}")))?;
        let etag = parsed.etag.take().filter(|e| !e.is_empty()).ok_or_else(|| {
            Error::invalid_response(context, format!("UploadPartCopy {part_number} answer has no ETag"))
        })?;
        let checksums = parsed.checksums();
        Ok(UploadPartCopyOutput {
            part: CompletedPart { part_number, etag, checksum: None },
            last_modified: parsed.last_modified.as_deref().and_then(parse_iso8601),
            checksums,
        })
    }

    /// CompleteMultipartUpload: joins the parts (in part-number order) into the object. A 200
    /// answer carrying an error document is an error (and retried when S3 says it may be).
    pub async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object_checksum: Option<&ChecksumValue>,
    ) -> Result<CompleteMultipartUploadOutput> {
        self.complete_multipart_upload_if(bucket, key, upload_id, parts, full_object_checksum, None, false).await
    }

    /// [`complete_multipart_upload`](Self::complete_multipart_upload) of an upload encrypted with
    /// a customer-provided key (SSE-C), which S3 wants on Complete too when the upload carries
    /// checksums.
    pub async fn complete_multipart_upload_with(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object_checksum: Option<&ChecksumValue>,
        sse_customer_key: Option<&SseCustomerKey>,
    ) -> Result<CompleteMultipartUploadOutput> {
        self.complete_multipart_upload_if(bucket, key, upload_id, parts, full_object_checksum, sse_customer_key, false)
            .await
    }

    /// [`Client::complete_multipart_upload_with`], with `If-None-Match: *` when `if_absent`: the
    /// store refuses (412) to complete over an existing object (see `overwrite`).
    #[allow(clippy::too_many_arguments)] // the request's parts, each needed; crate-private
    pub(crate) async fn complete_multipart_upload_if(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object_checksum: Option<&ChecksumValue>,
        sse_customer_key: Option<&SseCustomerKey>,
        if_absent: bool,
    ) -> Result<CompleteMultipartUploadOutput> {
        let context = ErrorContext::new(Operation::CompleteMultipartUpload, bucket, Some(key));
        let document = xml::complete_multipart_upload(parts.iter().map(|p| xml::CompletePart {
            part_number: p.part_number,
            etag: &p.etag,
            checksum: p.checksum.as_ref().and_then(|c| Some((c.algorithm.xml_element()?, c.value.as_str()))),
        }));
        let mut request = S3Request::new(Method::POST, bucket, Some(key), context.clone())
            .query("uploadId", upload_id)
            .header("content-type", "application/xml")?
            .body(Bytes::from(document));
        if let Some(sse_key) = sse_customer_key {
            request = sse_key.apply(request, false);
        }
        if let Some(checksum) = full_object_checksum {
            request = request
                .header(checksum.algorithm.header(), &checksum.value)?
                .header("x-amz-checksum-type", "FULL_OBJECT")?;
        }
        if if_absent {
            request = request.header(crate::overwrite::IF_NONE_MATCH, crate::overwrite::ANY)?;
        }
        let (_, body) = self.send_for_xml(&request).await?;
        let mut parsed: xml::CompleteMultipartUploadResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context, format!("CompleteMultipartUpload XML: {e}")))?;
        let checksum_crc64nvme = parsed.checksum_crc64nvme.clone();
        Ok(CompleteMultipartUploadOutput {
            etag: parsed.etag.take(),
            checksum_crc64nvme,
            checksums: parsed.checksums(),
        })
    }

    /// AbortMultipartUpload: discards the upload and its parts. A retried abort that finds the
    /// upload gone (`NoSuchUpload`) succeeds: its earlier attempt reached the store.
    pub async fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        let context = ErrorContext::new(Operation::AbortMultipartUpload, bucket, Some(key));
        let request = S3Request::new(Method::DELETE, bucket, Some(key), context).query("uploadId", upload_id);
        let mut retry = RetryContext::new();
        match self.send_for_xml_with(&request, &mut retry).await {
            Ok(_) => Ok(()),
            // A retried abort that finds no upload: an earlier attempt aborted it, and its answer
            // was lost (a timeout or a dropped connection after the store had acted).
            Err(error) if retry.attempts() > 1 && error.code() == Some("NoSuchUpload") => {
                tracing::debug!(bucket, key, upload_id, "abort retried: the upload was already gone");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// ListMultipartUploads: one page of uploads in progress under `prefix`.
    pub async fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        marker: Option<(&str, &str)>,
    ) -> Result<ListMultipartUploadsPage> {
        let context = ErrorContext::new(Operation::ListMultipartUploads, bucket, None);
        let mut request = S3Request::new(Method::GET, bucket, None, context.clone()).query("uploads", "");
        if let Some((key_marker, upload_id_marker)) = marker {
            request = request.query("key-marker", key_marker).query("upload-id-marker", upload_id_marker);
        }
        if let Some(prefix) = prefix {
            request = request.query("prefix", prefix);
        }
        let (_, body) = self.send_for_xml(&request).await?;
        let parsed: xml::ListMultipartUploadsResult = quick_xml::de::from_reader(&body[..])
            .map_err(|e| Error::invalid_response(context, format!("ListMultipartUploads XML: {e}")))?;
        let next_marker = match (parsed.is_truncated, parsed.next_key_marker, parsed.next_upload_id_marker) {
            (true, Some(key), Some(id)) => Some((key, id)),
            _ => None,
        };
        Ok(ListMultipartUploadsPage {
            uploads: parsed
                .upload
                .into_iter()
                .map(|u| MultipartUploadInfo {
                    initiated: u.initiated.as_deref().and_then(parse_iso8601),
                    key: u.key,
                    upload_id: u.upload_id,
                })
                .collect(),
            next_marker,
        })
    }

    /// ListParts: every part uploaded so far to the multipart upload `upload_id`, following
    /// every page (at most 10,000 parts, 1,000 per page by default).
    pub async fn list_parts(&self, bucket: &str, key: &str, upload_id: &str) -> Result<Vec<PartInfo>> {
        let context = ErrorContext::new(Operation::ListParts, bucket, Some(key));
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        // 10,000 parts at the smallest page of 1 part: the loop is bounded even for a store
        // that repeats its marker.
        for _ in 0..=10_000 {
            let mut request =
                S3Request::new(Method::GET, bucket, Some(key), context.clone()).query("uploadId", upload_id);
            if let Some(marker) = &marker {
                request = request.query("part-number-marker", marker);
            }
            let (_, body) = self.send_for_xml(&request).await?;
            let parsed: xml::ListPartsResult = quick_xml::de::from_reader(&body[..])
                .map_err(|e| Error::invalid_response(context.clone(), format!("ListParts XML: {e}")))?;
            parts.extend(parsed.part.into_iter().map(|mut p| {
                let checksums = p.checksums();
                PartInfo { part_number: p.part_number, size: p.size, etag: p.etag, checksums }
            }));
            match parsed.next_part_number_marker {
                Some(next) if parsed.is_truncated && Some(&next) != marker.as_ref() => marker = Some(next),
                _ => break,
            }
        }
        Ok(parts)
    }
}
