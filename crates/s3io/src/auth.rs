//! Credentials and SigV4 signing.
//!
//! [`CredentialsSource`] says where credentials come from: static keys, the `AWS_*` environment
//! variables, a named profile of the shared `~/.aws/credentials` and `~/.aws/config` files, or
//! the aws-config crate's standard chain (environment, profiles, SSO, web identity, ECS, IMDS).
//! The [`CredentialsProvider`] caches what the source returns until shortly before it expires, so
//! signing a request normally costs no I/O.
//!
//! [`sign_request`] signs in header mode with `UNSIGNED-PAYLOAD` (bodies are protected by TLS and
//! by the per-part checksums instead, so nothing hashes the payload twice), with the hot-path
//! signer of [`sigv4`], which the tests hold to aws-sigv4's signatures; [`presign_url`] makes
//! query-string-signed URLs with an expiry through the aws-sigv4 crate.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use tokio::sync::Mutex;

use crate::error::{Error, ErrorContext};

mod sigv4;

/// Credentials are refreshed this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// The payload hash sent with every header-signed request.
#[cfg(test)]
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Where a client's credentials come from.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum CredentialsSource {
    /// The standard AWS chain: environment, shared profile files (`AWS_PROFILE` or `default`),
    /// SSO, web identity, ECS and IMDS.
    #[default]
    DefaultChain,
    /// A named profile of the shared files, then the rest of the chain.
    Profile(String),
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` only.
    Environment,
    /// Fixed keys.
    Static {
        /// The access key id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: String,
        /// The session token of temporary credentials.
        session_token: Option<String>,
    },
    /// Anonymous: requests are sent unsigned (public buckets).
    Anonymous,
}

impl std::fmt::Debug for CredentialsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialsSource::DefaultChain => f.write_str("DefaultChain"),
            CredentialsSource::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
            CredentialsSource::Environment => f.write_str("Environment"),
            CredentialsSource::Static { access_key_id, .. } => {
                f.debug_struct("Static").field("access_key_id", access_key_id).finish_non_exhaustive()
            }
            CredentialsSource::Anonymous => f.write_str("Anonymous"),
        }
    }
}

impl CredentialsSource {
    /// Fixed keys without a session token.
    pub fn static_keys(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        CredentialsSource::Static {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }
}

/// Loads credentials from a [`CredentialsSource`] and caches them until shortly before expiry.
pub(crate) struct CredentialsProvider {
    source: Source,
    cached: Mutex<Option<Credentials>>,
}

enum Source {
    Fixed(Option<Credentials>),
    Chain(Arc<dyn ProvideCredentials>),
}

impl CredentialsProvider {
    /// Builds the provider; the chain's own set-up (reading profile files) happens here.
    pub(crate) async fn new(source: &CredentialsSource, region: &str) -> Self {
        let source = match source {
            CredentialsSource::Static { access_key_id, secret_access_key, session_token } => Source::Fixed(Some(
                Credentials::new(access_key_id, secret_access_key, session_token.clone(), None, "s3io-static"),
            )),
            CredentialsSource::Anonymous => Source::Fixed(None),
            CredentialsSource::Environment => {
                Source::Chain(Arc::new(aws_config::environment::EnvironmentVariableCredentialsProvider::new()))
            }
            CredentialsSource::DefaultChain | CredentialsSource::Profile(_) => {
                // The chain's providers that call out (SSO, STS web identity, ECS, IMDS) get the
                // smithy HTTP client on rustls with ring, the crypto the rest of s3io uses:
                // aws-config's default client would build a second TLS stack (aws-lc).
                use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                let provider_config = aws_config::provider_config::ProviderConfig::default().with_http_client(http);
                let mut builder = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .configure(provider_config)
                    .region(aws_config::Region::new(region.to_owned()));
                if let CredentialsSource::Profile(name) = source {
                    builder = builder.profile_name(name);
                }
                Source::Chain(Arc::new(builder.build().await))
            }
        };
        Self { source, cached: Mutex::new(None) }
    }

    /// Current credentials, or `None` for anonymous access.
    pub(crate) async fn credentials(&self, context: &ErrorContext) -> Result<Option<Credentials>, Error> {
        let chain = match &self.source {
            Source::Fixed(creds) => return Ok(creds.clone()),
            Source::Chain(chain) => chain,
        };
        let mut cached = self.cached.lock().await;
        if let Some(creds) = cached.as_ref() {
            let fresh = creds.expiry().is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(Some(creds.clone()));
            }
        }
        let creds = chain.provide_credentials().await.map_err(|e| Error::Credentials {
            context: Box::new(context.clone()),
            message: format!(
                "no credentials found ({e}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                 or configure a profile"
            ),
        })?;
        *cached = Some(creds.clone());
        Ok(Some(creds))
    }
}

fn settings(location: SignatureLocation, expires_in: Option<Duration>) -> SigningSettings {
    let mut settings = SigningSettings::default();
    // S3 signs the path as sent: no double encoding, no dot-segment normalisation.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = location;
    settings.expires_in = expires_in;
    if location == SignatureLocation::Headers {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    settings
}

/// Signs `request` in place (Authorization, x-amz-date, x-amz-content-sha256 headers), with the
/// allocation-light signer of [`sigv4`] (aws-sigv4's signature, computed without its sixty
/// allocations per request).
pub(crate) fn sign_request<B>(
    request: &mut http::Request<B>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    context: &ErrorContext,
) -> Result<(), Error> {
    sigv4::sign_request(request, credentials, region, time, context)
}

fn apply_signature<B>(
    request: &mut http::Request<B>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    settings: SigningSettings,
    context: &ErrorContext,
) -> Result<(), Error> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| signing_error(context, e))?
        .into();
    let uri = request.uri().to_string();
    let headers = request.headers().iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    // An aws-chunked body with trailing checksums (file uploads) announces itself in
    // x-amz-content-sha256; every other body is signed as an unsigned payload.
    let body = match request.headers().get("x-amz-content-sha256") {
        Some(v) if v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => SignableBody::StreamingUnsignedPayloadTrailer,
        _ => SignableBody::UnsignedPayload,
    };
    let signable =
        SignableRequest::new(request.method().as_str(), uri, headers, body).map_err(|e| signing_error(context, e))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| signing_error(context, e))?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

fn signing_error(context: &ErrorContext, e: impl std::fmt::Display) -> Error {
    Error::Credentials { context: Box::new(context.clone()), message: format!("signing failed: {e}") }
}

/// Returns `url` with a query-string signature valid for `expires_in` from `time`.
pub(crate) fn presign_url(
    method: &http::Method,
    url: &str,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    expires_in: Duration,
    context: &ErrorContext,
) -> Result<String, Error> {
    let mut request =
        http::Request::builder().method(method.clone()).uri(url).body(()).map_err(|e| signing_error(context, e))?;
    let host = request.uri().authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
    request
        .headers_mut()
        .insert(http::header::HOST, http::HeaderValue::from_str(&host).map_err(|e| signing_error(context, e))?);
    let settings = settings(SignatureLocation::QueryParams, Some(expires_in));
    apply_signature(&mut request, credentials, region, time, settings, context)?;
    Ok(request.uri().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Operation;

    fn example_credentials() -> Credentials {
        // The keys of AWS's published S3 SigV4 examples.
        Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, None, "test")
    }

    fn example_time() -> SystemTime {
        // 20130524T000000Z, the time of AWS's published examples.
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600)
    }

    /// AWS's published example "GET Object" (header-based auth, S3 SigV4 documentation).
    #[test]
    fn signs_the_published_get_object_example() {
        let mut request = http::Request::builder()
            .method("GET")
            .uri("https://examplebucket.s3.amazonaws.com/test.txt")
            .header("host", "examplebucket.s3.amazonaws.com")
            .header("range", "bytes=0-9")
            .header("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            .body(())
            .unwrap();
        // The example signs the empty-body hash, so sign without our UNSIGNED-PAYLOAD header.
        let mut settings = settings(SignatureLocation::Headers, None);
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        let identity = example_credentials().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("s3")
            .time(example_time())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let headers: Vec<(&str, &str)> =
            request.headers().iter().map(|(n, v)| (n.as_str(), v.to_str().unwrap())).collect();
        let signable = SignableRequest::new(
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            headers.into_iter(),
            SignableBody::Precomputed("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()),
        )
        .unwrap();
        let (instructions, signature) = sign(signable, &params).unwrap().into_parts();
        assert_eq!(signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        instructions.apply_to_request_http1x(&mut request);
        let auth = request.headers()["authorization"].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"));
    }

    /// AWS's published presigned URL example (query-string auth, 86400 s expiry).
    #[test]
    fn presigns_the_published_example() {
        let context = ErrorContext::new(Operation::Presign, "examplebucket", Some("test.txt"));
        let url = presign_url(
            &http::Method::GET,
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &example_credentials(),
            "us-east-1",
            example_time(),
            Duration::from_secs(86400),
            &context,
        )
        .unwrap();
        assert!(url.contains("X-Amz-Expires=86400"), "{url}");
        assert!(
            url.contains("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            "{url}"
        );
    }

    #[test]
    fn header_signing_sends_unsigned_payload() {
        let context = ErrorContext::new(Operation::GetObject, "b", Some("k"));
        let mut request = http::Request::builder()
            .uri("http://127.0.0.1:9000/b/k")
            .header("host", "127.0.0.1:9000")
            .body(())
            .unwrap();
        sign_request(&mut request, &example_credentials(), "us-east-1", example_time(), &context).unwrap();
        assert_eq!(request.headers()["x-amz-content-sha256"], UNSIGNED_PAYLOAD);
        assert!(request.headers().contains_key("authorization"));
        assert_eq!(request.headers()["x-amz-date"], "20130524T000000Z");
    }
}
