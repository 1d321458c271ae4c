//! HTTP proxies: `http://` endpoints through a forward proxy in absolute form, `https://`
//! endpoints through a CONNECT tunnel, proxy credentials from the URL, and `NO_PROXY` hosts
//! reached directly. The proxy is the server crate's [`ForwardProxy`] on loopback, which counts
//! what went through it; the library's settings are explicit here (the environment's are read
//! by the CLI tests).

use s3io::config::ProxyConfig;
use s3io::Error;
use s3io_server::{ForwardProxy, ServerConfig};

use crate::common::{test_data, TestCertificates, TestServer, MIB};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_endpoint_is_reached_through_the_proxy_in_absolute_form() {
    let proxy = ForwardProxy::start(None).await.unwrap();
    let server = TestServer::start().await;
    let server = server.restart_configured(ServerConfig::with_request_log, |b| b).await;
    let client = server.client_with(|b| b.proxy(ProxyConfig::all(proxy.url(), None))).await;
    let data = test_data(2 * MIB + 3, 7);
    client.upload(&server.bucket, "k").from_bytes(data.clone().into()).await.unwrap();
    let got = client.download(&server.bucket, "k").part_size(MIB as u64).to_bytes().await.unwrap();
    assert!(got == data);
    let served = server.server.request_log().len() as u64;
    assert!(served >= 4, "upload, and a download of 3 parts: {served} requests");
    assert_eq!(proxy.forwarded(), served, "every request the server saw came through the proxy");
    assert_eq!(client.connection_metrics().requests(), served);
    assert_eq!(proxy.tunnels(), 0, "plain HTTP is not tunnelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_endpoint_is_reached_through_a_connect_tunnel() {
    let proxy = ForwardProxy::start(None).await.unwrap();
    let certs = TestCertificates::new();
    let root = tempfile::tempdir().unwrap();
    let server = s3io_server::start(ServerConfig::new(root.path()).with_tls(&certs.cert, &certs.key)).await.unwrap();
    let client = TestServer::builder_for(&server)
        .ca_bundle(&certs.ca)
        .proxy(ProxyConfig::Explicit { http: None, https: Some(proxy.url()), no_proxy: None })
        .build()
        .await
        .unwrap();
    client.create_bucket("tunnelled").await.unwrap();
    let data = test_data(MIB, 8);
    client.upload("tunnelled", "k").from_bytes(data.clone().into()).await.unwrap();
    assert!(client.download("tunnelled", "k").to_bytes().await.unwrap() == data);
    let opened = client.connection_metrics().opened();
    assert!(opened >= 1);
    assert_eq!(proxy.tunnels(), opened, "every connection is a tunnel through the proxy");
    assert_eq!(proxy.forwarded(), 0, "TLS runs end to end: the proxy sees no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_come_from_the_url() {
    let proxy = ForwardProxy::start(Some(("user", "p@ss word"))).await.unwrap();
    let authed = proxy.url().replace("http://", "http://user:p%40ss%20word@");
    // Plain HTTP: each absolute-form request carries them.
    let server = TestServer::start().await;
    let client = server.client_with(|b| b.proxy(ProxyConfig::all(authed.clone(), None))).await;
    client.upload(&server.bucket, "k").from_bytes(bytes::Bytes::from_static(b"abc")).await.unwrap();
    assert!(proxy.forwarded() >= 1);
    assert_eq!(proxy.refused(), 0);
    // Without them: the proxy's 407, not retried.
    let client = server.client_with(|b| b.proxy(ProxyConfig::all(proxy.url(), None))).await;
    let err = client.head_object(&server.bucket, "k").await.unwrap_err();
    assert_eq!(err.code(), Some("ProxyAuthenticationRequired"), "{err}");
    assert_eq!(proxy.refused(), 1, "not retried");

    // HTTPS: the CONNECT carries them; without them the tunnel is refused, once, clearly.
    let certs = TestCertificates::new();
    let root = tempfile::tempdir().unwrap();
    let tls = s3io_server::start(ServerConfig::new(root.path()).with_tls(&certs.cert, &certs.key)).await.unwrap();
    let client =
        TestServer::builder_for(&tls).ca_bundle(&certs.ca).proxy(ProxyConfig::all(authed, None)).build().await.unwrap();
    client.create_bucket("bucket-b").await.unwrap();
    assert_eq!(proxy.tunnels(), client.connection_metrics().opened());
    let client = TestServer::builder_for(&tls)
        .ca_bundle(&certs.ca)
        .proxy(ProxyConfig::all(proxy.url(), None))
        .build()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.head_bucket("bucket-b").await.unwrap_err();
    assert!(matches!(err, Error::Proxy { .. }), "{err:?}");
    let text = crate::common::report(&err);
    assert!(text.contains(&proxy.url()) && text.contains("proxy authorization required"), "{text}");
    assert!(!text.contains("p@ss"), "no password in messages: {text}");
    assert_eq!(proxy.refused(), 2, "the refused CONNECT is not retried");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_are_reached_directly() {
    let proxy = ForwardProxy::start(None).await.unwrap();
    let server = TestServer::start().await;
    let port = server.server.local_addr().port();
    for no_proxy in ["127.0.0.1", "127.0.0.0/8", "*", "example.com, 127.0.0.1"] {
        let client = server.client_with(|b| b.proxy(ProxyConfig::all(proxy.url(), Some(no_proxy.into())))).await;
        client.head_bucket(&server.bucket).await.unwrap_or_else(|e| panic!("NO_PROXY={no_proxy}: {e}"));
        assert_eq!(proxy.forwarded(), 0, "NO_PROXY={no_proxy} bypasses the proxy");
    }
    // A host name matches itself and its subdomains only.
    let client = TestServer::builder_for_url(&format!("http://localhost:{port}"))
        .proxy(ProxyConfig::all(proxy.url(), Some(".localhost".into())))
        .build()
        .await
        .unwrap();
    client.head_bucket(&server.bucket).await.unwrap();
    assert_eq!(proxy.forwarded(), 0);
    // An entry with a port exempts that port of that host only (another port: further down).
    let client =
        server.client_with(|b| b.proxy(ProxyConfig::all(proxy.url(), Some(format!("127.0.0.1:{port}"))))).await;
    client.head_bucket(&server.bucket).await.unwrap();
    assert_eq!(proxy.forwarded(), 0, "NO_PROXY=127.0.0.1:{port}");
    let client = TestServer::builder_for_url(&format!("http://localhost:{port}"))
        .proxy(ProxyConfig::all(proxy.url(), Some(format!("example.com, LOCALHOST:{port}"))))
        .build()
        .await
        .unwrap();
    client.head_bucket(&server.bucket).await.unwrap();
    assert_eq!(proxy.forwarded(), 0, "NO_PROXY=example.com, LOCALHOST:{port}");
    // Not listed: through the proxy.
    let client =
        server.client_with(|b| b.proxy(ProxyConfig::all(proxy.url(), Some("10.0.0.0/8,example.com".into())))).await;
    client.head_bucket(&server.bucket).await.unwrap();
    assert_eq!(proxy.forwarded(), 1);
    // Listed with another port: through the proxy.
    let other = port.wrapping_add(1).max(1);
    let client =
        server.client_with(|b| b.proxy(ProxyConfig::all(proxy.url(), Some(format!("127.0.0.1:{other}"))))).await;
    client.head_bucket(&server.bucket).await.unwrap();
    assert_eq!(proxy.forwarded(), 2);
    // Disabled: never, whatever the environment says.
    let client = server.client_with(|b| b.proxy(ProxyConfig::Disabled)).await;
    client.head_bucket(&server.bucket).await.unwrap();
    assert_eq!(proxy.forwarded(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_proxy_urls_are_refused() {
    for bad in ["https://proxy:443", "socks5://proxy:1080", "http://"] {
        let err = TestServer::builder_for_url("http://127.0.0.1:9")
            .proxy(ProxyConfig::all(bad, None))
            .build()
            .await
            .expect_err(bad);
        assert!(err.to_string().contains("proxy URL"), "{bad}: {err}");
    }
}
