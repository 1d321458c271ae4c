//! Building, signing and sending one S3 request, with retries.
//!
//! An [`S3Request`] names the bucket, key, query and headers of an operation; its body is
//! `Bytes`, so every attempt resends the whole body. [`Client::send`] and
//! [`Client::send_for_xml`] build the URL (path-style or virtual-hosted), sign each attempt with
//! fresh time, send it, turn error statuses and error documents into [`Error::Service`], and retry
//! through the crate's one attempt loop ([`Client::with_retries`], in `retry`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::xml;
use crate::auth;
use crate::client::Client;
use crate::config::AddressingStyle;
use crate::error::{Error, ErrorContext, ServiceError};
use crate::http::{HeaderWait, ReplayablePayload, RequestBody, ResponseBody};
use crate::region::redirect_region;
use crate::retry::{Failure, RetryContext};

/// Characters left as they are in a key's URL path: RFC 3986 unreserved plus `/`.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
/// Characters left as they are in query values: RFC 3986 unreserved.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Largest error or XML answer read into memory: 16 MiB (a 1,000-key listing is about 300 KiB).
const XML_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// One S3 request, before signing.
pub(crate) struct S3Request<'a> {
    pub(crate) method: Method,
    pub(crate) bucket: &'a str,
    pub(crate) key: Option<&'a str>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// A streamed body, re-read for every attempt; when set it replaces `body`.
    pub(crate) payload: Option<Arc<dyn ReplayablePayload>>,
    /// Given to the response bodies of its attempts (a clone shares the bucket and key).
    pub(crate) context: ErrorContext,
}

impl<'a> S3Request<'a> {
    pub(crate) fn new(method: Method, bucket: &'a str, key: Option<&'a str>, context: ErrorContext) -> Self {
        Self {
            method,
            bucket,
            key,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            payload: None,
            context,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    /// Adds a header; a value that is not a valid header is an `InvalidConfig` error.
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Result<Self, Error> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::InvalidConfig(format!("invalid value for header {name}: {value:?}")))?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// Adds a header whose value is fixed text: no allocation, and clones for each attempt are
    /// free.
    pub(crate) fn static_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        self
    }

    /// Adds a header with a name built at run time (user metadata).
    pub(crate) fn dynamic_header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::InvalidConfig(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::InvalidConfig(format!("invalid value for header {name}: {value:?}")))?;
        self.headers.insert(header, value);
        Ok(self)
    }

    pub(crate) fn body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// A streamed body, read again from its start for every attempt.
    pub(crate) fn payload(mut self, payload: Arc<dyn ReplayablePayload>) -> Self {
        self.payload = Some(payload);
        self
    }
}

/// A response whose status was a success.
pub(crate) struct S3Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: ResponseBody,
}

/// The URL of a request to `endpoint`, encoded as it is sent and signed.
pub(crate) fn request_url(
    client: &Client,
    endpoint: &url::Url,
    bucket: &str,
    key: Option<&str>,
    query: &[(&'static str, String)],
) -> String {
    let virtual_hosted = match client.config().addressing_style {
        AddressingStyle::Path => false,
        AddressingStyle::VirtualHosted => !bucket.is_empty(),
        AddressingStyle::Auto => client.config().endpoint.is_none() && !bucket.is_empty() && is_dns_compatible(bucket),
    };
    let mut url = String::with_capacity(64 + key.map_or(0, str::len) * 3);
    url.push_str(endpoint.scheme());
    url.push_str("://");
    if virtual_hosted {
        url.push_str(bucket);
        url.push('.');
    }
    url.push_str(endpoint.host_str().unwrap_or_default());
    if let Some(port) = endpoint.port() {
        use std::fmt::Write as _;
        let _ = write!(url, ":{port}");
    }
    url.push_str(endpoint.path().trim_end_matches('/'));
    url.push('/');
    if !virtual_hosted && !bucket.is_empty() {
        url.push_str(bucket);
        if key.is_some() {
            url.push('/');
        }
    }
    if let Some(key) = key {
        url.extend(utf8_percent_encode(key, KEY_ENCODE));
    }
    for (i, (name, value)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(name);
        if !value.is_empty() {
            url.push('=');
            url.extend(utf8_percent_encode(value, QUERY_ENCODE));
        }
    }
    url
}

/// Whether a bucket name can be a DNS label under a TLS wildcard certificate.
fn is_dns_compatible(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

impl Client {
    /// Sends `request` with retries; on success returns the response with its body unread.
    pub(crate) async fn send(&self, request: &S3Request<'_>) -> Result<S3Response, Error> {
        self.send_with(request, &mut RetryContext::new()).await
    }

    /// Sends `request` with retries, counting its attempts in `retry` (a context the caller
    /// carries on, e.g. across the resumes of a download part).
    pub(crate) async fn send_with(
        &self,
        request: &S3Request<'_>,
        retry: &mut RetryContext,
    ) -> Result<S3Response, Error> {
        self.with_retries(retry, || self.send_once(request)).await
    }

    /// Sends `request` with retries and reads its (XML) body; a 200 answer whose body is an error
    /// document is an error, and a body cut short is retried like any transport error.
    pub(crate) async fn send_for_xml(&self, request: &S3Request<'_>) -> Result<(HeaderMap, Bytes), Error> {
        self.send_for_xml_with(request, &mut RetryContext::new()).await
    }

    /// [`send_for_xml`](Self::send_for_xml), counting its attempts in `retry` (for a caller that
    /// must know whether an earlier attempt may have taken effect).
    pub(crate) async fn send_for_xml_with(
        &self,
        request: &S3Request<'_>,
        retry: &mut RetryContext,
    ) -> Result<(HeaderMap, Bytes), Error> {
        self.with_retries(retry, || async {
            let response = self.send_once(request).await?;
            let body = response.body.collect(XML_BODY_LIMIT).await.map_err(|e| (e, None))?;
            if let Some(error) = xml::parse_error(response.status.as_u16(), &body) {
                return Err((Error::service(ErrorContext::clone(&request.context), error), None));
            }
            Ok((response.headers, body))
        })
        .await
    }

    /// One attempt: build, sign, send, map error statuses. The error comes with the server's
    /// `Retry-After`, if it sent one.
    ///
    /// A bucket found in another region than the one the request was signed for (see
    /// `region`) is remembered, and the request sent once more, re-signed for that region,
    /// within the same attempt.
    pub(crate) async fn send_once(&self, request: &S3Request<'_>) -> Result<S3Response, Failure> {
        match self.send_routed(request).await {
            Ok(response) => Ok(response),
            Err(Routed::Failed(failure)) => Err(failure),
            Err(Routed::WrongRegion(failure, region)) => {
                if self.remember_region(request.bucket, &region).is_err() {
                    // A region no endpoint can be made of: the answer stands as it is.
                    return Err(failure);
                }
                match self.send_routed(request).await {
                    Ok(response) => Ok(response),
                    Err(Routed::Failed(failure) | Routed::WrongRegion(failure, _)) => Err(failure),
                }
            }
        }
    }

    /// [`send_once`](Self::send_once) on the bucket's current route.
    async fn send_routed(&self, request: &S3Request<'_>) -> Result<S3Response, Routed> {
        // Held until the answer's body is read (or dropped): see `throttle`.
        let permit = self.throttle_handle().acquire().await;
        let route = self.route(request.bucket);
        let (endpoint, region) = match &route {
            Some(route) => (&route.endpoint, &*route.region),
            None => (self.endpoint(), self.region()),
        };
        // The URL's text becomes the URI's shared buffer (one allocation, its reference count),
        // and the URI's parts and the Host header are slices of it: no copy of the text, and the
        // clones hyper takes (the pool key, the origin-form path) are reference counts too.
        let url = Bytes::from(request_url(self, endpoint, request.bucket, request.key, &request.query));
        let bad_url = |e: &dyn std::fmt::Display| {
            let message = format!("bad request URL {}: {e}", String::from_utf8_lossy(&url));
            (Error::invalid_response(ErrorContext::clone(&request.context), message), None)
        };
        let uri = http::Uri::from_maybe_shared(url.clone()).map_err(|e| Routed::Failed(bad_url(&e)))?;
        let host = match uri.authority() {
            Some(authority) => {
                Some(HeaderValue::from_maybe_shared(url.slice_ref(authority.as_str().as_bytes())).map_err(|e| {
                    let message = format!("bad host: {e}");
                    Routed::Failed((Error::invalid_response(ErrorContext::clone(&request.context), message), None))
                })?)
            }
            None => None,
        };
        let mut http_request = http::Request::builder()
            .method(request.method.clone())
            .uri(uri)
            .body(match &request.payload {
                Some(payload) => RequestBody::stream(payload.as_ref()),
                None => RequestBody::bytes(request.body.clone()),
            })
            .map_err(|e| Routed::Failed(bad_url(&e)))?;
        let headers = http_request.headers_mut();
        headers.reserve(request.headers.len() + 6);
        for (name, value) in &request.headers {
            headers.insert(name, value.clone());
        }
        if self.config().request_payer {
            headers.insert(HeaderName::from_static("x-amz-request-payer"), HeaderValue::from_static("requester"));
        }
        if let Some(host) = host {
            headers.insert(http::header::HOST, host);
        }
        let length = request.payload.as_ref().map_or(request.body.len() as u64, |p| p.len());
        if length > 0 || matches!(request.method, Method::PUT | Method::POST) {
            http_request.headers_mut().insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
        }
        if let Some(credentials) = self.credentials(&request.context).await.map_err(|e| (e, None))? {
            auth::sign_request(&mut http_request, &credentials, region, SystemTime::now(), &request.context)
                .map_err(|e| (e, None))?;
        }
        let response = match self.http().send(http_request, &request.context, header_wait(request)).await {
            Ok(answer) => answer,
            Err(error) => {
                return Err(Routed::Failed((tls_named(error, std::str::from_utf8(&url).unwrap_or_default()), None)))
            }
        };
        let (response, claim) = response;
        let (parts, body) = response.into_parts();
        let body =
            ResponseBody::new(body, self.http().stall_timeout(), request.context.clone(), Some(permit), Some(claim));
        if parts.status.is_success() {
            self.http().metrics().count_sent(length);
            return Ok(S3Response { status: parts.status, headers: parts.headers, body });
        }
        let retry_after = parts
            .headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let request_id = header_str(&parts.headers, "x-amz-request-id").map(str::to_owned);
        let status = parts.status.as_u16();
        // An error body is small; a body we cannot read still leaves the status to report.
        let text = if request.method == Method::HEAD {
            Bytes::new()
        } else {
            body.collect(XML_BODY_LIMIT).await.unwrap_or_default()
        };
        let (parsed, body_region) = match xml::parse_error_with_region(status, &text) {
            Some((error, region)) => (Some(error), region),
            None => (None, None),
        };
        // A body that is not an S3 error document (an HTML page from a web server or a proxy)
        // means the endpoint is not S3 at all: say so, with the start of the body, rather than
        // name a missing key or bucket.
        let not_s3 = parsed.is_none() && !text.iter().all(u8::is_ascii_whitespace);
        let mut error = parsed.unwrap_or_else(|| ServiceError {
            status,
            code: xml::fallback_code(status).to_owned(),
            message: not_s3.then(|| not_s3_message(status, &text)),
            request_id: None,
        });
        if error.request_id.is_none() {
            error.request_id = request_id;
        }
        if status == 404 && error.code == "NotFound" && !not_s3 {
            // HEAD answers carry no body: name what is missing as GET would.
            error.code = if request.key.is_some() { "NoSuchKey" } else { "NoSuchBucket" }.to_owned();
        }
        let wrong_region = match request.bucket {
            "" => None,
            _ => redirect_region(&request.method, &parts.headers, &error, body_region.as_deref(), region),
        };
        let failure = (Error::service(ErrorContext::clone(&request.context), error), retry_after);
        Err(match wrong_region {
            Some(region) => Routed::WrongRegion(failure, region),
            None => Routed::Failed(failure),
        })
    }
}

/// `error`, made an [`Error::Tls`] naming the endpoint of `url` when a TLS handshake is what
/// failed (which retries cannot mend).
/// A proxy's refusal for want of credentials is made an [`Error::Proxy`], final too.
fn tls_named(error: Error, url: &str) -> Error {
    let refused = crate::http::proxy_refused(&error);
    match (crate::http::tls_failure(&error), error) {
        (Some(tls), Error::Transport { context, .. }) => {
            let endpoint = url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or(url);
            Error::Tls { context, endpoint: endpoint.to_owned(), source: Box::new(tls) }
        }
        (None, Error::Transport { context, source, .. }) if refused => Error::Proxy { context, source },
        (_, error) => error,
    }
}

/// How an attempt on a bucket's route failed.
enum Routed {
    /// As it failed.
    Failed(Failure),
    /// The bucket is in the region named, not in the one the request was signed for.
    WrongRegion(Failure, String),
}

impl From<Failure> for Routed {
    fn from(failure: Failure) -> Self {
        Routed::Failed(failure)
    }
}

/// Bytes of a non-S3 error body quoted in its error.
const NOT_S3_BODY_SHOWN: usize = 120;

/// "not an S3 endpoint (HTTP 404, body "<html>…")": the start of the body, on one line.
fn not_s3_message(status: u16, body: &[u8]) -> String {
    let shown = &body[..body.len().min(NOT_S3_BODY_SHOWN)];
    let text: String = String::from_utf8_lossy(shown).split_whitespace().collect::<Vec<_>>().join(" ");
    let more = if body.len() > NOT_S3_BODY_SHOWN { "…" } else { "" };
    format!("not an S3 endpoint (HTTP {status}, body {text:?}{more})")
}

/// How long `request` waits for its response headers. Most S3 answers come as soon as the request
/// is in: body-less requests and PUTs (a part or an object, once its body has gone) wait the
/// adaptive first-byte timeout, so a server that sits on a request is abandoned after seconds. A
/// server-side copy (CopyObject, UploadPartCopy) answers when the copy is done, which takes as
/// long as the bytes copied, and other requests with a body (CompleteMultipartUpload,
/// DeleteObjects: small bodies, answers that may take long to compute) keep the read timeout.
fn header_wait(request: &S3Request<'_>) -> HeaderWait {
    let has_body = request.payload.is_some() || !request.body.is_empty();
    if request.headers.contains_key("x-amz-copy-source") || (has_body && request.method != Method::PUT) {
        HeaderWait::ReadTimeout
    } else {
        HeaderWait::Adaptive
    }
}

/// A header's value as text, if present and valid.
pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_s3_body_is_named() {
        assert_eq!(
            not_s3_message(404, b"<html>\n  <h1>Not Found</h1>\n</html>"),
            r#"not an S3 endpoint (HTTP 404, body "<html> <h1>Not Found</h1> </html>")"#
        );
        assert!(not_s3_message(502, &[b'x'; 500]).ends_with("xxx\"…)"));
    }

    async fn aws_client(dualstack: bool, accelerate: bool) -> Client {
        // No request is sent: only URLs are built.
        Client::builder()
            .region("eu-west-1")
            .dualstack(dualstack)
            .accelerate(accelerate)
            .credentials(crate::CredentialsSource::static_keys("key", "secret"))
            .build()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn aws_endpoint_options_resolve_to_their_urls() {
        let url = |client: &Client| request_url(client, client.endpoint(), "my-bucket", Some("a/k"), &[]);
        assert_eq!(url(&aws_client(false, false).await), "https://my-bucket.s3.eu-west-1.amazonaws.com/a/k");
        assert_eq!(url(&aws_client(true, false).await), "https://my-bucket.s3.dualstack.eu-west-1.amazonaws.com/a/k");
        assert_eq!(url(&aws_client(false, true).await), "https://my-bucket.s3-accelerate.amazonaws.com/a/k");
        assert_eq!(url(&aws_client(true, true).await), "https://my-bucket.s3-accelerate.dualstack.amazonaws.com/a/k");
        // A bucket name that cannot be a host name goes in the path.
        let client = aws_client(true, false).await;
        assert_eq!(
            request_url(&client, client.endpoint(), "my.dotted.bucket", Some("k"), &[]),
            "https://s3.dualstack.eu-west-1.amazonaws.com/my.dotted.bucket/k"
        );
    }

    #[tokio::test]
    async fn a_redirected_bucket_goes_to_its_regions_endpoint() {
        let client = aws_client(true, false).await;
        client.remember_region("far", "ap-south-1").unwrap();
        let route = client.route("far").unwrap();
        assert_eq!(&*route.region, "ap-south-1");
        assert_eq!(
            request_url(&client, &route.endpoint, "far", Some("k"), &[]),
            "https://far.s3.dualstack.ap-south-1.amazonaws.com/k"
        );
        assert!(client.route("near").is_none());
        assert_eq!(client.bucket_region("near"), "eu-west-1");
        // A custom endpoint stays, re-signed for the region.
        let custom = Client::builder()
            .endpoint("http://127.0.0.1:9")
            .region("us-east-1")
            .credentials(crate::CredentialsSource::static_keys("key", "secret"))
            .build()
            .await
            .unwrap();
        custom.remember_region("far", "eu-north-1").unwrap();
        assert_eq!(custom.route("far").unwrap().endpoint.as_str(), "http://127.0.0.1:9/");
        assert_eq!(custom.bucket_region("far"), "eu-north-1");
    }

    #[test]
    fn dns_compatible_bucket_names() {
        assert!(is_dns_compatible("my-bucket-1"));
        assert!(!is_dns_compatible("My_Bucket"));
        assert!(!is_dns_compatible("a.b.c"));
        assert!(!is_dns_compatible("ab"));
    }

    #[test]
    fn key_encoding_keeps_slashes_and_unreserved() {
        let encoded: String = utf8_percent_encode("dir/a b+c%d~é?.txt", KEY_ENCODE).collect();
        assert_eq!(encoded, "dir/a%20b%2Bc%25d~%C3%A9%3F.txt");
    }
}
