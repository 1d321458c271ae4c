//! The server's one set of credentials, answered as S3 answers: a request
//! signed with another access key gets 403 `InvalidAccessKeyId` (s3s's
//! `SimpleAuth` says `NotSignedUp`, which S3 clients do not expect).

use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Result};

/// One access key and its secret.
pub(crate) struct SingleKeyAuth {
    access_key: String,
    secret_key: SecretKey,
}

impl SingleKeyAuth {
    pub(crate) fn new(access_key: String, secret_key: String) -> Self {
        Self { access_key, secret_key: SecretKey::from(secret_key) }
    }
}

#[async_trait::async_trait]
impl S3Auth for SingleKeyAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == self.access_key {
            Ok(self.secret_key.clone())
        } else {
            Err(s3_error!(InvalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records."))
        }
    }
}

/// The region check of every request, as S3 answers a request signed for another region than
/// its bucket's: 301 `PermanentRedirect` with the bucket's region in `x-amz-bucket-region` (a
/// virtual-hosted request, which S3 answers on its global endpoint, gets 400
/// `AuthorizationHeaderMalformed` naming the expected region, with the same header). Only when
/// the store has a region ([`FsStore::set_region`]); GetBucketLocation, CreateBucket and
/// ListBuckets are served signed for any region, as S3 serves them.
pub(crate) struct RegionCheck {
    store: crate::FsStore,
}

impl RegionCheck {
    pub(crate) fn new(store: crate::FsStore) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl s3s::access::S3Access for RegionCheck {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_none() {
            return Err(s3_error!(AccessDenied, "Signature is required"));
        }
        let bucket = match cx.s3_path() {
            s3s::path::S3Path::Bucket { bucket } | s3s::path::S3Path::Object { bucket, .. } => bucket,
            s3s::path::S3Path::Root => return Ok(()),
        };
        if matches!(cx.s3_op().name(), "GetBucketLocation" | "CreateBucket") {
            return Ok(());
        }
        let Some(signed) = signing_region(cx.headers(), cx.uri()) else { return Ok(()) };
        let Some(region) = self.store.wrong_region(bucket, signed) else { return Ok(()) };
        let virtual_hosted = cx
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| host.strip_prefix(bucket.as_ref()).is_some_and(|rest| rest.starts_with('.')));
        let mut error = if virtual_hosted {
            let mut e = s3_error!(
                AuthorizationHeaderMalformed,
                "The authorization header is malformed; the region '{signed}' is wrong; expecting '{region}'"
            );
            e.set_status_code(http::StatusCode::BAD_REQUEST);
            e
        } else {
            let mut e = s3_error!(
                PermanentRedirect,
                "The bucket you are attempting to access must be addressed using the specified endpoint. \
                 Please send all future requests to this endpoint."
            );
            e.set_status_code(http::StatusCode::MOVED_PERMANENTLY);
            e
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
        if let Ok(value) = http::HeaderValue::from_str(&region) {
            headers.insert("x-amz-bucket-region", value);
        }
        error.set_headers(headers);
        Err(error)
    }
}

/// The region a SigV4 request was signed for: the third field of the credential scope, in the
/// `Authorization` header or a presigned URL's `X-Amz-Credential`.
fn signing_region<'a>(headers: &'a http::HeaderMap, uri: &'a http::Uri) -> Option<&'a str> {
    // AKID/DATE/REGION/s3/aws4_request, with each '/' percent-encoded in a query.
    match headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(auth) => auth.split("Credential=").nth(1)?.split([',', ' ']).next()?.split('/').nth(2),
        None => {
            let scope = uri.query()?.split('&').find_map(|p| p.strip_prefix("X-Amz-Credential="))?;
            scope.split("%2F").nth(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_region_from_header_and_query() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-3/s3/aws4_request, SignedHeaders=host, Signature=ab"
                .parse()
                .unwrap(),
        );
        let uri: http::Uri = "/b/k".parse().unwrap();
        assert_eq!(signing_region(&headers, &uri), Some("eu-west-3"));
        let uri: http::Uri =
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101%2Fap-south-1%2Fs3%2Faws4_request"
                .parse()
                .unwrap();
        assert_eq!(signing_region(&http::HeaderMap::new(), &uri), Some("ap-south-1"));
    }
}
