//! The environment the AWS ecosystem uses, read by the binary: proxies (`HTTP_PROXY`,
//! `HTTPS_PROXY`, `NO_PROXY`), `AWS_CA_BUNDLE` / `--ca-bundle` against the server's TLS
//! listener, `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE`, the endpoint options, and bucket region
//! discovery from a process that starts knowing nothing.
//!
//! The CLI proxies loopback endpoints like any other (as curl and the AWS CLI do), so a test
//! proxy on 127.0.0.1 sees the requests unless `NO_PROXY` lists the address.

use s3io_server::ForwardProxy;

use crate::common::{data, Harness, ServerConfig};

/// A test CA and a server certificate for 127.0.0.1 it signed, as PEM files in `dir`:
/// (ca, cert, key).
fn certificates(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    let (ca_path, cert_path, key_path) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&ca_path, ca.pem()).unwrap();
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca_path.to_str().unwrap().to_owned(), cert_path, key_path)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn http_proxy_and_no_proxy_from_the_environment() {
    let h = Harness::start();
    let proxy = h.runtime.block_on(ForwardProxy::start(None)).unwrap();
    h.ok(&["mb", "s3://proxied"]);
    let file = h.file("f", &data(100_000, 1));
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let mut command = h.s3io(args);
        command.envs(vars.iter().copied());
        let output = command.output().unwrap();
        assert!(output.status.success(), "{vars:?} s3io {args:?}: {}", stderr(&output));
    };
    run(&[("HTTP_PROXY", &proxy.url())], &["cp", &file, "s3://proxied/k"]);
    let through = proxy.forwarded();
    assert!(through >= 1, "the upload went through the proxy");
    run(&[("http_proxy", &proxy.url())], &["cp", "s3://proxied/k", &h.path_str("back")]);
    assert!(proxy.forwarded() > through, "lower-case http_proxy is read too");
    assert_eq!(std::fs::read(h.path("back")).unwrap(), data(100_000, 1));
    let before = proxy.forwarded();
    // NO_PROXY listing the address, a CIDR block or `*` bypasses it; HTTPS_PROXY is for https.
    for vars in [
        [("HTTP_PROXY", proxy.url()), ("NO_PROXY", "127.0.0.1".to_owned())],
        [("HTTP_PROXY", proxy.url()), ("no_proxy", "localhost,127.0.0.0/8".to_owned())],
        [("ALL_PROXY", proxy.url()), ("NO_PROXY", "*".to_owned())],
        [("HTTPS_PROXY", proxy.url()), ("NO_PROXY", String::new())],
    ] {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(&vars, &["ls", "s3://proxied"]);
        assert_eq!(proxy.forwarded(), before, "{vars:?} bypasses the proxy");
    }
    // ALL_PROXY alone covers http.
    run(&[("ALL_PROXY", &proxy.url())], &["ls", "s3://proxied"]);
    assert!(proxy.forwarded() > before);
    // A proxy URL no connection can use is refused, naming its variable.
    let mut command = h.s3io(&["ls", "s3://proxied"]);
    command.env("HTTPS_PROXY", "socks5://127.0.0.1:1");
    let output = command.output().unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("HTTPS_PROXY"), "{}", stderr(&output));
}

#[test]
fn https_through_a_ca_bundle_and_a_connect_proxy() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(certs.path());
    let h = Harness::start_with(|c| c.with_tls(&cert, &key));
    assert!(h.endpoint.starts_with("https://"));
    let port = h.endpoint.rsplit(':').next().unwrap().to_owned();

    // Untrusted: a clear, immediate failure naming the endpoint.
    let started = std::time::Instant::now();
    let output = h.run(&["mb", "s3://tls"]);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains(&format!("TLS handshake with 127.0.0.1:{port} failed")), "{text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "not retried");

    // Trusted through AWS_CA_BUNDLE, then --ca-bundle.
    let mut command = h.s3io(&["mb", "s3://tls"]);
    command.env("AWS_CA_BUNDLE", &ca);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let file = h.file("f", &data(50_000, 2));
    h.ok(&["--ca-bundle", &ca, "cp", &file, "s3://tls/k"]);
    h.ok(&["--no-verify-ssl", "ls", "s3://tls"]);

    // Through a CONNECT tunnel of HTTPS_PROXY (HTTP_PROXY is for http endpoints).
    let proxy = h.runtime.block_on(ForwardProxy::start(Some(("u", "p")))).unwrap();
    let mut command = h.s3io(&["--ca-bundle", &ca, "cp", "s3://tls/k", &h.path_str("back")]);
    command.env("HTTPS_PROXY", proxy.url().replace("http://", "http://u:p@")).env("HTTP_PROXY", "http://127.0.0.1:1");
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(proxy.tunnels() >= 1, "the download went through a tunnel");
    assert_eq!(proxy.forwarded(), 0);
    assert_eq!(std::fs::read(h.path("back")).unwrap(), data(50_000, 2));
}

#[test]
fn max_attempts_and_retry_mode_from_the_environment() {
    let h = Harness::start_with(|c| c.with_faults("seed=1,500=1".parse().unwrap()));
    let served = || h.server.as_ref().unwrap().fault_stats().requests;
    let attempts = |vars: &[(&str, &str)], args: &[&str]| {
        let before = served();
        let mut command = h.s3io(args);
        command.envs(vars.iter().copied());
        let output = command.output().unwrap();
        assert!(!output.status.success(), "every request fails");
        served() - before
    };
    assert_eq!(attempts(&[("AWS_MAX_ATTEMPTS", "2")], &["ls", "s3://b"]), 2);
    assert_eq!(attempts(&[("AWS_RETRY_MODE", "standard")], &["ls", "s3://b"]), 3);
    assert_eq!(attempts(&[("AWS_RETRY_MODE", "adaptive"), ("AWS_MAX_ATTEMPTS", "4")], &["ls", "s3://b"]), 4);
    assert_eq!(attempts(&[("AWS_MAX_ATTEMPTS", "4")], &["--max-attempts", "1", "ls", "s3://b"]), 1, "the flag wins");
    // The profile's settings, below the environment's.
    let config = h.file(
        "config",
        b"[default]\nmax_attempts = 2\n[profile work]\nretry_mode = standard\ns3 =\n  use_accelerate_endpoint = true\n",
    );
    assert_eq!(attempts(&[("AWS_CONFIG_FILE", &config)], &["ls", "s3://b"]), 2);
    assert_eq!(attempts(&[("AWS_CONFIG_FILE", &config), ("AWS_MAX_ATTEMPTS", "1")], &["ls", "s3://b"]), 1);
    // (The work profile's acceleration is ignored with the custom endpoint.)
    assert_eq!(attempts(&[("AWS_CONFIG_FILE", &config)], &["--profile", "work", "ls", "s3://b"]), 3);
    // A value that is not one is a usage error naming the variable.
    let mut command = h.s3io(&["ls", "s3://b"]);
    command.env("AWS_RETRY_MODE", "eager");
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("AWS_RETRY_MODE=\"eager\""), "{}", stderr(&output));
}

#[test]
fn endpoint_options_with_a_custom_endpoint() {
    let h = Harness::start();
    h.ok(&["mb", "s3://plain"]);
    // From the environment they name AWS endpoints and are ignored with a custom one ...
    let mut command = h.s3io(&["ls", "s3://plain"]);
    command.env("AWS_USE_DUALSTACK_ENDPOINT", "true");
    assert!(command.output().unwrap().status.success());
    // ... as flags they are refused.
    for flag in ["--dualstack", "--accelerate"] {
        let output = h.run(&[flag, "ls", "s3://plain"]);
        assert_eq!(output.status.code(), Some(2), "{flag}");
        assert!(stderr(&output).contains("custom endpoint"), "{flag}: {}", stderr(&output));
    }
}

#[test]
fn a_bucket_in_another_region_is_found_by_every_run() {
    let h = Harness::start_with(|c: ServerConfig| c.with_region("us-east-1").with_request_log());
    let far = h.runtime.block_on(
        s3io::Client::builder()
            .endpoint(&h.endpoint)
            .region("eu-west-1")
            .credentials(s3io::CredentialsSource::static_keys(
                s3io_server::DEFAULT_ACCESS_KEY,
                s3io_server::DEFAULT_SECRET_KEY,
            ))
            .build(),
    );
    h.runtime.block_on(far.unwrap().create_bucket("far-away")).unwrap();
    let file = h.file("f", &data(30_000, 3));
    // The CLI runs in us-east-1 (the harness's AWS_REGION): each run is redirected once. The
    // server reads the PUT's body although it answers 301 first, so the connection stays open
    // for the PUT sent again (closing it with the body unread risks a reset that takes the 301
    // with it, and a second 301 for the PUT sent once more).
    let upload = h.ok(&["cp", "--json", &file, "s3://far-away/k"]);
    let record: serde_json::Value = serde_json::from_slice(&upload.stdout).unwrap();
    assert_eq!(record["connections_opened"], 1, "{record}");
    h.ok(&["cp", "s3://far-away/k", &h.path_str("back")]);
    assert_eq!(std::fs::read(h.path("back")).unwrap(), data(30_000, 3));
    let log = h.server.as_ref().unwrap().request_log();
    let redirects = log.iter().filter(|r| r.status == 301).count();
    assert_eq!(redirects, 2, "one redirect per run: {log:?}");
    let mut command = h.s3io(&["ls", "s3://far-away"]);
    command.env("AWS_REGION", "eu-west-1");
    assert!(command.output().unwrap().status.success());
    assert_eq!(
        h.server.as_ref().unwrap().request_log().iter().filter(|r| r.status == 301).count(),
        2,
        "signed for the right region: no redirect"
    );
}

#[test]
fn serve_with_a_region_and_tls() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let log = dir.path().join("requests.jsonl");
    let root = dir.path().join("root");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_s3io"));
    crate::common::clean_env(&mut command);
    let mut server = command
        .args(["serve", "--root", root.to_str().unwrap(), "--addr", "127.0.0.1:0", "--region", "eu-west-1"])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--log-requests")
        .arg(&log)
        .env_remove("S3IO_ACCESS_KEY")
        .env_remove("S3IO_SECRET_KEY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = server.stdout.take().unwrap();
    let mut banner = Vec::new();
    let mut byte = [0u8; 1];
    while !banner.ends_with(b"\n") {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "server exited before printing its endpoint");
        banner.push(byte[0]);
    }
    let banner = String::from_utf8(banner).unwrap();
    let endpoint = banner.split_whitespace().last().unwrap().to_owned();
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{banner}");
    let file = dir.path().join("f");
    std::fs::write(&file, b"far and secure").unwrap();
    let cli = |region: &str, args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_s3io"));
        crate::common::clean_env(&mut command);
        let output = command
            .env("AWS_ACCESS_KEY_ID", s3io_server::DEFAULT_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", s3io_server::DEFAULT_SECRET_KEY)
            .env("AWS_REGION", region)
            .env("AWS_CA_BUNDLE", &ca)
            .arg("--endpoint-url")
            .arg(&endpoint)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "s3io {args:?}: {}", stderr(&output));
        output
    };
    // Created without a LocationConstraint: in the server's region.
    cli("eu-west-1", &["mb", "s3://served"]);
    // A us-east-1 client is redirected there, once per run.
    cli("us-east-1", &["cp", file.to_str().unwrap(), "s3://served/f"]);
    assert_eq!(cli("us-east-1", &["cat", "s3://served/f"]).stdout, b"far and secure");
    crate::common::interrupt(&server);
    let status = crate::common::wait_with_deadline(&mut server, std::time::Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let lines = std::fs::read_to_string(&log).unwrap();
    // Each run is redirected once, and the redirect is followed: the PUT and the GET that follow
    // a 301 succeed. (A PUT was sometimes answered 301 twice: the server answered before reading
    // the body, closed the connection with the body unread, and the reset took the 301 with it,
    // so the client sent the PUT again; the server now reads a small body it answered early.)
    let statuses = |method: &str| -> Vec<&str> {
        lines
            .lines()
            .filter(|l| l.contains(&format!("\"method\":\"{method}\",\"path\":\"/served/f\"")))
            .map(|l| if l.contains("\"status\":301") { "301" } else { "other" })
            .collect()
    };
    for method in ["PUT", "GET"] {
        let seen = statuses(method);
        let redirects = seen.iter().filter(|s| **s == "301").count();
        assert_eq!(redirects, 1, "{method}: {redirects} redirects\n{lines}");
        assert_eq!(seen.last(), Some(&"other"), "{method} ends after its redirects\n{lines}");
    }
    let redirects = lines.lines().filter(|l| l.contains("\"status\":301")).count();
    assert_eq!(redirects, 2, "{lines}");
}
