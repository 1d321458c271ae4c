//! HTTPS endpoints: the embedded server's TLS listener with a certificate from a test CA; a
//! client trusts it through a CA bundle (`AWS_CA_BUNDLE`, `--ca-bundle`), and without the bundle
//! fails at once with a TLS error naming the endpoint.

use s3io::Error;
use s3io_server::ServerConfig;

use crate::common::{test_data, TestCertificates, TestServer};

async fn https_server(certs: &TestCertificates) -> (s3io_server::RunningServer, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let config = ServerConfig::new(root.path()).with_tls(&certs.cert, &certs.key);
    let server = s3io_server::start(config).await.expect("TLS server starts");
    assert!(server.endpoint_url().starts_with("https://127.0.0.1:"), "{}", server.endpoint_url());
    (server, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_bundle_makes_a_private_certificate_trusted() {
    let certs = TestCertificates::new();
    let (server, _root) = https_server(&certs).await;
    let client = TestServer::builder_for(&server).ca_bundle(&certs.ca).build().await.unwrap();
    client.create_bucket("tls-bucket").await.expect("create bucket over HTTPS");
    let data = test_data(3 * 1024 * 1024 + 17, 5);
    client.upload("tls-bucket", "k").from_bytes(data.clone().into()).await.unwrap();
    let got = client.download("tls-bucket", "k").part_size(1024 * 1024).to_bytes().await.unwrap();
    assert!(got == data, "the download over TLS is byte-exact");
    assert_eq!(client.head_object("tls-bucket", "k").await.unwrap().content_length, data.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_at_once_naming_the_endpoint() {
    let certs = TestCertificates::new();
    let (server, _root) = https_server(&certs).await;
    // The system's roots do not hold the test CA.
    let client = TestServer::builder_for(&server).build().await.unwrap();
    let started = std::time::Instant::now();
    let err = client.head_bucket("any").await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    let text = crate::common::report(&err);
    let endpoint = server.local_addr().to_string();
    assert!(text.contains(&endpoint) && text.contains("TLS handshake"), "{text}");
    assert!(text.contains("certificate"), "the cause names the certificate: {text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "not retried as an outage");
    assert_eq!(client.retry_counters().total(), 0, "a certificate error is not retried");

    // The same with a bundle that holds another CA.
    let other = TestCertificates::new();
    let client = TestServer::builder_for(&server).ca_bundle(&other.ca).build().await.unwrap();
    let err = client.head_bucket("any").await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    // --no-verify-ssl accepts it.
    let client = TestServer::builder_for(&server).accept_invalid_certs(true).build().await.unwrap();
    client.create_bucket("insecure").await.expect("accepted without verification");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_ca_bundle_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = TestServer::builder_for_url("https://127.0.0.1:9").ca_bundle(&missing).build().await.unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let err = TestServer::builder_for_url("https://127.0.0.1:9").ca_bundle(&garbage).build().await.unwrap_err();
    assert!(err.to_string().contains("garbage.pem") && err.to_string().contains("no PEM certificate"), "{err}");
}
