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

/// A raw request to one object of `target`'s bucket, the bucket itself, or the service.
pub(crate) struct RawRequest<'a> {
    target: &'a Target,
    method: Method,
    /// The path, encoded as sent.
    path: String,
    query: &'a str,
    headers: Vec<(String, String)>,
    body: Bytes,
    /// The `x-amz-content-sha256` to sign and send; `UNSIGNED-PAYLOAD` when `None`.
    content_sha256: Option<String>,
    /// Sign in the query string, valid this long, instead of in headers.
    presign: Option<std::time::Duration>,
}

impl<'a> RawRequest<'a> {
    /// A request to `key` of the target's bucket, or to the bucket when `key` is empty.
    pub(crate) fn new(target: &'a Target, method: Method, key: &str) -> Self {
        let path = match key {
            "" => format!("/{}", target.bucket),
            key => format!("/{}/{}", target.bucket, utf8_percent_encode(key, KEY_PATH)),
        };
        Self::with_path(target, method, path)
    }

    /// A request to the service (`/`: ListBuckets).
    pub(crate) fn service(target: &'a Target, method: Method) -> Self {
        Self::with_path(target, method, "/".to_owned())
    }

    fn with_path(target: &'a Target, method: Method, path: String) -> Self {
        Self {
            target,
            method,
            path,
            query: "",
            headers: Vec::new(),
            body: Bytes::new(),
            content_sha256: None,
            presign: None,
        }
    }

    /// Signs the payload as having this SHA-256 (hex) instead of as unsigned.
    pub(crate) fn content_sha256(mut self, hex: impl Into<String>) -> Self {
        self.content_sha256 = Some(hex.into());
        self
    }

    /// The query string (already encoded, without `?`), e.g. `tagging`.
    pub(crate) fn query(mut self, query: &'a str) -> Self {
        self.query = query;
        self
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub(crate) fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Presigns the request (query-string signature valid for `expires_in`, which may exceed
    /// what S3 accepts) and sends it without an Authorization header.
    pub(crate) async fn send_presigned(mut self, expires_in: std::time::Duration) -> RawResponse {
        self.presign = Some(expires_in);
        self.send().await
    }

    /// Signs and sends the request; panics naming the request if it cannot be sent at all.
    pub(crate) async fn send(self) -> RawResponse {
        let target = self.target;
        let path = &self.path;
        let url = match self.query {
            "" => format!("{}{path}", target.endpoint),
            query => format!("{}{path}?{query}", target.endpoint),
        };
        let what = format!("{} {url}", self.method);
        let authority = url::Url::parse(&url).expect("raw request URL");
        let host = format!("{}:{}", authority.host_str().unwrap(), authority.port().unwrap());
        let mut request = http::Request::builder().method(self.method).uri(&url).header("host", host);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request = request.header("content-length", self.body.len().to_string());
        let mut request = request.body(Full::new(self.body)).expect("raw request");
        sign(&mut request, target, self.content_sha256.as_deref(), self.presign);

        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
        let response = client.request(request).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap_or_else(|e| panic!("{what}: body: {e}")).to_bytes();
        RawResponse { status, headers, body }
    }
}

/// Signs `request` in place for `target`'s credentials and region, in header mode, with the
/// payload's SHA-256 as given or else unsigned.
fn sign<B>(
    request: &mut http::Request<B>,
    target: &Target,
    content_sha256: Option<&str>,
    presign: Option<std::time::Duration>,
) {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode,
    };
    if presign.is_none() {
        let payload = content_sha256.unwrap_or("UNSIGNED-PAYLOAD");
        request.headers_mut().insert("x-amz-content-sha256", http::HeaderValue::from_str(payload).expect("hex"));
    }
    let credentials =
        aws_credential_types::Credentials::new(&target.access_key, &target.secret_key, None, None, "conformance");
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    if let Some(expires_in) = presign {
        settings.signature_location = aws_sigv4::http_request::SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
    }
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
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri,
        headers,
        match content_sha256 {
            Some(hex) => SignableBody::Precomputed(hex.to_owned()),
            None => SignableBody::UnsignedPayload,
        },
    )
    .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("signing").into_parts();
    instructions.apply_to_request_http1x(request);
}
