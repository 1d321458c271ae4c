//! Thin wrappers that let the criterion benchmarks in `crates/s3io/benches/` reach crate-private
//! hot paths: SigV4 signing, download range planning and ListObjectsV2 XML parsing.
//!
//! **Not a stable API.** The module is `#[doc(hidden)]`, exists only for the benchmarks, and may
//! change or disappear in any release. Each wrapper calls the code the client itself runs, with
//! nothing added on the measured path but the wrapper call.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use crate::download::Plan;
use crate::error::{Error, ErrorContext, Operation};
use crate::s3::xml::ListBucketResult;

/// Signs GetObject requests with static credentials, a fixed region and a fixed time, the way
/// the client signs each attempt (header SigV4, `UNSIGNED-PAYLOAD`). No I/O.
#[derive(Debug)]
pub struct GetObjectSigner {
    credentials: Credentials,
    region: String,
    time: SystemTime,
    context: ErrorContext,
}

impl GetObjectSigner {
    /// A signer with AWS's published example keys, `us-east-1`, and the examples' time
    /// (2013-05-24T00:00:00Z), so every run signs the same bytes.
    pub fn new() -> Self {
        Self {
            credentials: Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "s3io-bench",
            ),
            region: "us-east-1".to_owned(),
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600),
            context: ErrorContext::new(Operation::GetObject, "bucket", Some("key")),
        }
    }

    /// An unsigned ranged GetObject request for `host/bucket/key`, bytes `[start, end)` (`end`
    /// greater than `start`), with the `host` and `range` headers the client sends.
    pub fn request(&self, host: &str, bucket: &str, key: &str, start: u64, end: u64) -> http::Request<()> {
        http::Request::builder()
            .method(http::Method::GET)
            .uri(format!("http://{host}/{bucket}/{key}"))
            .header(http::header::HOST, host)
            .header(http::header::RANGE, format!("bytes={start}-{}", end - 1))
            .body(())
            .expect("a valid request")
    }

    /// Signs `request` in place with `crate::auth::sign_request`.
    pub fn sign(&self, request: &mut http::Request<()>) -> Result<(), Error> {
        crate::auth::sign_request(request, &self.credentials, &self.region, self.time, &self.context)
    }
}

impl Default for GetObjectSigner {
    fn default() -> Self {
        Self::new()
    }
}

/// The range plan of a download (`crate::download::Plan`), for an object of a given size.
#[derive(Debug, Clone)]
pub struct DownloadPlan(Plan);

impl DownloadPlan {
    /// The plan a download of a `size`-byte object in `part_size`-byte parts makes (`part_size`
    /// greater than zero).
    pub fn new(size: u64, part_size: u64) -> Self {
        Self(Plan {
            size,
            part_size,
            first_len: part_size,
            first_answer_after: std::time::Duration::ZERO,
            etag: Some("\"0123456789abcdef0123456789abcdef\"".to_owned()),
            last_modified: None,
            context: ErrorContext::new(Operation::Download, "bucket", Some("key")),
            check: crate::download::Check::Nothing,
            head: None,
            sse_customer_key: None,
            version_id: None,
        })
    }

    /// Number of ranged GETs.
    pub fn part_count(&self) -> u64 {
        self.0.part_count()
    }

    /// Byte range `[start, end)` of part `index`.
    pub fn part_range(&self, index: u64) -> (u64, u64) {
        self.0.part_range(index)
    }
}

/// Parses a ListObjectsV2 response body as the client does and returns its number of keys.
pub fn parse_list_objects_v2(body: &[u8]) -> Result<usize, quick_xml::DeError> {
    let page: ListBucketResult = quick_xml::de::from_reader(body)?;
    Ok(page.contents.len())
}
