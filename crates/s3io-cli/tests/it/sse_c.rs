//! `--sse-c`/`--sse-c-key` and `--sse-c-copy-source`/`--sse-c-copy-source-key`: uploads and copies
//! write objects encrypted with the customer's key (the store keeps its MD5, as HeadObject
//! shows), downloads, `cat` and `head` read them with it, and a missing or wrong key fails with
//! one clear line.

use base64::Engine as _;
use s3io::types::{HeadObjectOptions, SseCustomerKey};

use crate::common::{assert_one_line_failure, data, entries, stdout, Harness};

/// 32 bytes given as they are on the command line.
const RAW_KEY: &str = "0123456789abcdef0123456789abcdef";

fn head_with(h: &Harness, key: &str, sse_key: &SseCustomerKey) -> s3io::types::ObjectInfo {
    let client = h.client();
    let options = HeadObjectOptions::default().with_sse_customer_key(sse_key.clone());
    h.runtime.block_on(client.head_object_with("bkt", key, &options)).unwrap()
}

#[test]
fn sse_c_objects_are_written_and_read_with_the_customer_key() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let body = data(6 * 1024 * 1024 + 7, 21);
    let source = h.file("src.bin", &body);
    let raw = SseCustomerKey::new(RAW_KEY.as_bytes()).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(RAW_KEY);
    // One PutObject (raw key), and a multipart upload in 5 MiB parts (the same key as base64).
    h.ok(&["cp", "--sse-c", "--sse-c-key", RAW_KEY, &source, "s3://bkt/one"]);
    h.ok(&["cp", "--part-size", "5MiB", "--sse-c", "AES256", "--sse-c-key", &encoded, &source, "s3://bkt/multi"]);
    for key in ["one", "multi"] {
        let info = head_with(&h, key, &raw);
        assert_eq!(info.sse_customer_algorithm.as_deref(), Some("AES256"), "{key}");
        assert_eq!(info.sse_customer_key_md5.as_deref(), Some(raw.key_md5()), "{key}");
    }

    // Reading: download, cat and head with the key; without it, or with another, one clear line.
    std::fs::create_dir(h.path("dl")).unwrap();
    let target = h.path_str("dl/multi.bin");
    h.ok(&["cp", "--part-size", "5MiB", "--sse-c", "--sse-c-key", RAW_KEY, "s3://bkt/multi", &target]);
    assert!(std::fs::read(&target).unwrap() == body);
    let output = h.ok(&["cat", "--sse-c", "--sse-c-key", &encoded, "s3://bkt/one"]);
    assert!(output.stdout == body);
    let text = stdout(&h.ok(&["head", "--sse-c", "--sse-c-key", RAW_KEY, "s3://bkt/one"]));
    assert!(text.contains("SSE-C algorithm") && text.contains("AES256"), "{text}");
    assert!(text.contains("SSE-C key MD5") && text.contains(raw.key_md5()), "{text}");

    let output = h.run(&["cp", "s3://bkt/one", &h.path_str("dl/nokey.bin")]);
    assert_one_line_failure(&output, &["s3://bkt/one", "InvalidRequest", "Server Side Encryption"]);
    let other = "ffffffffffffffffffffffffffffffff";
    let output = h.run(&["cp", "--sse-c", "--sse-c-key", other, "s3://bkt/one", &h.path_str("dl/wrong.bin")]);
    assert_one_line_failure(&output, &["s3://bkt/one", "AccessDenied"]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains(other), "the key was printed");
    let output = h.run(&["head", "s3://bkt/multi"]);
    assert_one_line_failure(&output, &["s3://bkt/multi", "400", "SSE-C"]);
    assert_eq!(entries(&h.path("dl")), ["multi.bin"], "a failed download left a file");

    // A copy reads the source with --sse-c-copy-source-key and encrypts the copy with --sse-c-key.
    let new = SseCustomerKey::new(other.as_bytes()).unwrap();
    h.ok(&[
        "cp",
        "--sse-c-copy-source",
        "--sse-c-copy-source-key",
        RAW_KEY,
        "--sse-c",
        "--sse-c-key",
        other,
        "s3://bkt/one",
        "s3://bkt/copy",
    ]);
    assert_eq!(head_with(&h, "copy", &new).sse_customer_key_md5.as_deref(), Some(new.key_md5()));
    // Without the source's key, the copy's first request (the source's HEAD) is refused.
    let output = h.run(&["cp", "s3://bkt/one", "s3://bkt/copy2"]);
    assert_one_line_failure(&output, &["s3://bkt/one", "400", "SSE-C"]);
}

#[test]
fn a_bad_sse_c_key_is_a_usage_error() {
    let h = Harness::start();
    let source = h.file("src.bin", b"x");
    let output = h.run(&["cp", "--sse-c", "--sse-c-key", "too-short", &source, "s3://bkt/k"]);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--sse-c-key"));
    // The algorithm flag without a key, and the other way round, are refused by the parser.
    assert_eq!(h.run(&["cp", "--sse-c", &source, "s3://bkt/k"]).status.code(), Some(2));
    assert_eq!(h.run(&["cp", "--sse-c-key", RAW_KEY, &source, "s3://bkt/k"]).status.code(), Some(2));
}
