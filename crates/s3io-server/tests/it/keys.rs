//! The full S3 key space over real HTTP: every key shape S3 accepts goes
//! through put, head, get, list, copy and delete exactly, is listed in byte
//! order, and nothing appears outside the root.

use crate::common::{enc, enc_query, files_below, url_decode, xml_values, Client};
use bytes::Bytes;
use http::{Method, StatusCode};
use s3io_server::{start, ServerConfig};

/// One key of each shape that a filesystem path cannot hold as is.
fn shapes() -> Vec<String> {
    vec![
        "dir/".to_owned(), // a folder marker
        "a".to_owned(),    // a key ...
        "a/b".to_owned(),  // ... beside a key extending it
        "a/b/".to_owned(), // ... and a folder marker below it
        "x".repeat(1000),  // a component over 255 bytes
        format!("{}/{}", "y".repeat(300), "z".repeat(300)),
        "/leading".to_owned(), // a leading slash
        "//".to_owned(),
        "a//b".to_owned(), // an empty segment
        ".".to_owned(),
        "..".to_owned(),
        "./x".to_owned(),
        "a/./b".to_owned(),
        "../../escape".to_owned(), // dot-dot segments
        "a/../../../escape2".to_owned(),
        "ctl\u{1}\u{7}\u{1f}tab\tnl\ncr\r".to_owned(), // control characters
        "sp ace+plus%pct&amp<lt>\"'".to_owned(),
        "ünï/ключ/鍵".to_owned(),
        "q?x=1#frag".to_owned(),
        format!("{}/{}", "p".repeat(511), "q".repeat(512)), // 1,024 bytes
    ]
}

#[tokio::test]
async fn every_key_shape_round_trips() {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    let server = start(ServerConfig::new(&root)).await.unwrap();
    let c = Client::new(&server);
    assert_eq!(c.put("/bkt", &[], Bytes::new()).await.status, StatusCode::OK);

    let keys = shapes();
    for (i, key) in keys.iter().enumerate() {
        let body = Bytes::from(format!("body of {key:?}"));
        let path = format!("/bkt/{}", enc(key));
        let r = c.put(&path, &[("content-type", "text/x-key")], body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "PUT {key:?}: {}", r.text());
        let r = c.send(Method::HEAD, &path, &[], Bytes::new(), true).await;
        assert_eq!(r.status, StatusCode::OK, "HEAD {key:?}");
        assert_eq!(r.header("content-length"), body.len().to_string(), "HEAD {key:?}");
        assert_eq!(r.header("content-type"), "text/x-key");
        let r = c.get(&path, &[]).await;
        assert_eq!((r.status, &r.body), (StatusCode::OK, &body), "GET {key:?}");
        // Copied under a prefix of its own, then read back.
        let copy_path = format!("/bkt/copies/{i:02}");
        let source = format!("/bkt/{}", enc(key));
        let r = c.send(Method::PUT, &copy_path, &[("x-amz-copy-source", &source)], Bytes::new(), true).await;
        assert_eq!(r.status, StatusCode::OK, "COPY {key:?}: {}", r.text());
        assert_eq!(c.get(&copy_path, &[]).await.body, body, "GET copy of {key:?}");
    }
    // A 1,025-byte key is S3's KeyTooLongError.
    let r = c.put(&format!("/bkt/{}", "k".repeat(1025)), &[], Bytes::from_static(b"x")).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "KeyTooLongError"));

    // Listed in byte order, in pages, keys exact (url-encoded to carry control characters).
    let mut expected: Vec<String> =
        keys.iter().cloned().chain((0..keys.len()).map(|i| format!("copies/{i:02}"))).collect();
    expected.sort();
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let mut path = "/bkt?list-type=2&max-keys=7&encoding-type=url".to_owned();
        if let Some(t) = &token {
            path.push_str(&format!("&continuation-token={}", enc_query(t)));
        }
        let r = c.get(&path, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let text = r.text();
        listed.extend(xml_values(&text, "Key").iter().map(|k| url_decode(k)));
        token = xml_values(&text, "NextContinuationToken").into_iter().next();
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed, expected);

    // A delimiter groups them; a key equal to a prefix is listed beside it.
    let r = c.get("/bkt?list-type=2&delimiter=%2F&prefix=a%2F&encoding-type=url", &[]).await;
    let text = r.text();
    let objects: Vec<String> = xml_values(&text, "Key").iter().map(|k| url_decode(k)).collect();
    let prefixes: Vec<String> = xml_values(&text, "Prefix").iter().skip(1).map(|k| url_decode(k)).collect();
    assert_eq!(objects, ["a/b"]);
    assert_eq!(prefixes, ["a/../", "a/./", "a//", "a/b/"]);

    // Nothing outside the root; inside it, only the store's own files.
    let outside: Vec<_> = std::fs::read_dir(top.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(outside, [std::ffi::OsString::from("root")]);
    for file in files_below(&root) {
        assert!(file.starts_with(".s3io"), "{}", file.display());
    }

    // Deleted, each exactly.
    for key in &expected {
        let r = c.send(Method::DELETE, &format!("/bkt/{}", enc(key)), &[], Bytes::new(), true).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "DELETE {key:?}");
    }
    let r = c.get("/bkt?list-type=2", &[]).await;
    assert!(xml_values(&r.text(), "Key").is_empty(), "{}", r.text());
    assert_eq!(c.send(Method::DELETE, "/bkt", &[], Bytes::new(), true).await.status, StatusCode::NO_CONTENT);
    server.shutdown().await;
}

#[tokio::test]
async fn objects_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig::new(dir.path())).await.unwrap();
    let c = Client::new(&server);
    c.put("/bkt", &[], Bytes::new()).await;
    c.put("/bkt/dir/", &[], Bytes::from_static(b"marker")).await;
    c.put("/bkt/k", &[("x-amz-meta-m", "1")], Bytes::from_static(b"v1")).await;
    c.put("/bkt/k", &[("x-amz-meta-m", "2")], Bytes::from_static(b"v2")).await;
    server.shutdown().await;

    let server = start(ServerConfig::new(dir.path())).await.unwrap();
    let c = Client::new(&server);
    let r = c.get("/bkt/k", &[]).await;
    assert_eq!((r.body.as_ref(), r.header("x-amz-meta-m")), (&b"v2"[..], "2"));
    assert_eq!(c.get("/bkt/dir/", &[]).await.body.as_ref(), b"marker");
    // One data file per live object: the replaced version's file is gone.
    let data: Vec<_> = std::fs::read_dir(dir.path().join(".s3io/data")).unwrap().collect();
    assert_eq!(data.len(), 2);
    server.shutdown().await;
}
