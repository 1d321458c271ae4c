//! Signed raw HTTP requests, for the S3 behaviour the library's typed operations do not expose
//! (If-None-Match, If-Modified-Since, suffix ranges, conditional writes, headers as sent).
//!
//! A request is built as S3 expects it on the wire — path-style URL, the key percent-encoded
//! byte by byte except the unreserved characters and `/` — signed with SigV4 in header mode with
//! an unsigned payload (aws-sigv4, as the library signs), and sent with hyper over a fresh
//! loopback connection. The answer is read whole: these requests and answers are small.

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt as _, Full};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::server::Target;

/// Bytes S3 leaves unencoded in a key's path: the unreserved characters and `/`.
const KEY_PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// A whole HTTP answer.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl RawResponse {
    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `<Code>` of an S3 error document.
    pub(crate) fn code(&self) -> Option<String> {
        let text = std::str::from_utf8(&self.body).ok()?;
        let start = text.find("<Code>")? + "<Code>".len();
        let end = start + text[start..].find("</Code>")?;
        Some(text[start..end].to_owned())
    }
}

/// A raw request to one object (or, with `key` empty, the bucket) of `target`'s bucket.
pub(crate) struct RawRequest<'a> {
    target: &'a Target,
    method: Method,
    key: &'a str,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl<'a> RawRequest<'a> {
    pub(crate) fn new(target: &'a Target, method: Method, key: &'a str) -> Self {
        Self { target, method, key, headers: Vec::new(), body: Bytes::new() }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub(crate) fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Signs and sends the request; panics naming the request if it cannot be sent at all.
    pub(crate) async fn send(self) -> RawResponse {
        let target = self.target;
        let path = format!("/{}/{}", target.bucket, utf8_percent_encode(self.key, KEY_PATH));
        let url = format!("{}{path}", target.endpoint);
        let what = format!("{} {url}", self.method);
        let authority = url::Url::parse(&url).expect("raw request URL");
        let host = format!("{}:{}", authority.host_str().unwrap(), authority.port().unwrap());
        let mut request = http::Request::builder().method(self.method).uri(&url).header("host", host);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request = request.header("content-length", self.body.len().to_string());
        let mut request = request.body(Full::new(self.body)).expect("raw request");
        sign(&mut request, target);

        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
        let response = client.request(request).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap_or_else(|e| panic!("{what}: body: {e}")).to_bytes();
        RawResponse { status, headers, body }
    }
}

/// Signs `request` in place for `target`'s credentials and region (header mode, unsigned payload).
fn sign<B>(request: &mut http::Request<B>, target: &Target) {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode,
    };
    request.headers_mut().insert("x-amz-content-sha256", http::HeaderValue::from_static("UNSIGNED-PAYLOAD"));
    let credentials =
        aws_credential_types::Credentials::new(&target.access_key, &target.secret_key, None, None, "conformance");
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(super::server::REGION)
        .name("s3")
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .expect("signing parameters")
        .into();
    let uri = request.uri().to_string();
    let headers = request.headers().iter().filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)));
    let signable = SignableRequest::new(request.method().as_str(), uri, headers, SignableBody::UnsignedPayload)
        .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("signing").into_parts();
    instructions.apply_to_request_http1x(request);
}
