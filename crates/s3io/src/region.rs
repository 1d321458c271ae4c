//! Bucket region discovery: where a bucket's requests go and which region signs them.
//!
//! A client signs for its own region and sends to its endpoint. A bucket in another region
//! answers such a request with 301 `PermanentRedirect` (or 400 `AuthorizationHeaderMalformed`, or
//! a HEAD's bare 301/400), naming its region in the `x-amz-bucket-region` header (or, in the
//! error document, in `<Region>` or the message's "expecting 'REGION'"). [`redirect_region`]
//! reads that answer; the request layer then remembers the bucket's [`Route`] in the client's
//! [`BucketRegions`] and sends the request once more, re-signed for that region: to that
//! region's AWS endpoint when the client uses AWS's default endpoint, to the same endpoint when
//! it is a custom one. Every later request to the bucket takes the remembered route at once, as
//! the AWS CLI's and SDKs' region redirectors do.
//!
//! The lookup on every request costs one atomic load while no bucket has been redirected, and a
//! read lock and an `Arc` clone after that: no allocation on the hot path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use http::{HeaderMap, Method};

use crate::error::ServiceError;

/// Where one bucket's requests go and the region they are signed for.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) region: Box<str>,
    pub(crate) endpoint: url::Url,
}

/// The routes of the buckets found in another region than the client's.
#[derive(Debug, Default)]
pub(crate) struct BucketRegions {
    /// Whether `routes` has any entry: the lookup of a client that never met a redirect is one
    /// atomic load.
    any: AtomicBool,
    routes: RwLock<HashMap<Box<str>, Arc<Route>>>,
}

impl BucketRegions {
    /// The remembered route of `bucket`, if it was redirected.
    pub(crate) fn get(&self, bucket: &str) -> Option<Arc<Route>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.routes.read().unwrap_or_else(PoisonError::into_inner).get(bucket).cloned()
    }

    /// Remembers `route` for `bucket`.
    pub(crate) fn insert(&self, bucket: &str, route: Route) {
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        routes.insert(bucket.into(), Arc::new(route));
        self.any.store(true, Ordering::Release);
    }
}

/// The region an error answer says the bucket is in, when the answer is a wrong-region
/// redirect and names a region other than `signed` (the one the request was signed for).
///
/// A redirect is a 301 or 307, a `PermanentRedirect`, `AuthorizationHeaderMalformed` or
/// `IllegalLocationConstraintException` error, or a HEAD answered 400 (S3 gives HEADs no body).
/// The region comes from the `x-amz-bucket-region` header, else the error document's
/// `<Region>`, else its message's "expecting 'REGION'".
pub(crate) fn redirect_region(
    method: &Method,
    headers: &HeaderMap,
    error: &ServiceError,
    body_region: Option<&str>,
    signed: &str,
) -> Option<String> {
    let redirect = matches!(error.status, 301 | 307)
        || matches!(
            error.code.as_str(),
            "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException"
        )
        || (error.status == 400 && *method == Method::HEAD);
    if !redirect {
        return None;
    }
    let region = headers
        .get("x-amz-bucket-region")
        .and_then(|v| v.to_str().ok())
        .or(body_region)
        .or_else(|| expected_region(error.message.as_deref()?))
        .map(str::trim)
        .filter(|r| is_region(r) && *r != signed)?;
    Some(region.to_owned())
}

/// The region of "... the region 'us-east-1' is wrong; expecting 'eu-west-1'".
fn expected_region(message: &str) -> Option<&str> {
    let rest = &message[message.find("expecting '")? + "expecting '".len()..];
    Some(&rest[..rest.find('\'')?])
}

/// Whether `name` can be a region (letters, digits and `-`): a header or message naming
/// anything else is not followed.
fn is_region(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, code: &str, message: Option<&str>) -> ServiceError {
        ServiceError { status, code: code.into(), message: message.map(Into::into), request_id: None }
    }

    fn header(region: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-bucket-region", region.parse().unwrap());
        headers
    }

    #[test]
    fn redirects_name_their_region() {
        let none = HeaderMap::new();
        let get = Method::GET;
        // 301 PermanentRedirect with the header (path-style on a regional endpoint).
        let e = error(301, "PermanentRedirect", Some("must be addressed using the specified endpoint"));
        assert_eq!(redirect_region(&get, &header("eu-west-1"), &e, None, "us-east-1").as_deref(), Some("eu-west-1"));
        // 400 AuthorizationHeaderMalformed: the document's <Region>, else the message.
        let e = error(
            400,
            "AuthorizationHeaderMalformed",
            Some("The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'ap-south-1'"),
        );
        assert_eq!(redirect_region(&get, &none, &e, Some("ap-south-1"), "us-east-1").as_deref(), Some("ap-south-1"));
        assert_eq!(redirect_region(&get, &none, &e, None, "us-east-1").as_deref(), Some("ap-south-1"));
        // A HEAD's bare 400 with the header.
        let e = error(400, "BadRequest", None);
        assert_eq!(
            redirect_region(&Method::HEAD, &header("us-west-2"), &e, None, "us-east-1").as_deref(),
            Some("us-west-2")
        );
    }

    #[test]
    fn other_answers_are_not_redirects() {
        let get = Method::GET;
        // A GET's 400 is not a redirect even with the header (S3 sends it on many answers).
        assert_eq!(
            redirect_region(&get, &header("eu-west-1"), &error(400, "InvalidArgument", None), None, "us-east-1"),
            None
        );
        assert_eq!(
            redirect_region(&get, &header("eu-west-1"), &error(403, "AccessDenied", None), None, "us-east-1"),
            None
        );
        // The region signed for already: following it would loop.
        let e = error(301, "PermanentRedirect", None);
        assert_eq!(redirect_region(&get, &header("us-east-1"), &e, None, "us-east-1"), None);
        // A redirect naming no region, or something that is not one.
        assert_eq!(redirect_region(&get, &HeaderMap::new(), &e, None, "us-east-1"), None);
        assert_eq!(redirect_region(&get, &header("evil.example/x"), &e, None, "us-east-1"), None);
    }
}
