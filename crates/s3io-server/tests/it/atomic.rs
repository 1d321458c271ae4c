//! Atomic objects: concurrent writers of one key leave exactly one writer's
//! complete version (bytes, Content-Type, user metadata, ETag, checksum), and
//! readers racing them never see a mix of two versions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::common::{data, md5_hex, Client, Reply};
use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use s3io_server::{start, ServerConfig};

const WRITERS: u32 = 8;
const ROUNDS: u32 = 40;
const READERS: usize = 2;

/// What writer `w` puts in round `round`.
struct Version {
    body: Bytes,
    content_type: String,
    meta: String,
    crc32c: String,
}

fn version(w: u32, round: u32) -> Version {
    // Sizes differ per writer, so a body can never pass for another's.
    let body = data(64 * 1024 + w as usize * 1031, round * 100 + w);
    let crc32c = base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(&body).to_be_bytes());
    Version { body, content_type: format!("application/x-writer-{w}"), meta: format!("w{w}-r{round}"), crc32c }
}

/// Which writer (and round) every field of a reply names; `Err` when they disagree.
fn owner(r: &Reply) -> Result<(u32, u32), String> {
    let meta = r.header("x-amz-meta-writer");
    let (w, round) = meta
        .strip_prefix('w')
        .and_then(|m| m.split_once("-r"))
        .and_then(|(w, r)| Some((w.parse().ok()?, r.parse().ok()?)))
        .ok_or_else(|| format!("no writer metadata: {meta:?}"))?;
    let v = version(w, round);
    let mut wrong = Vec::new();
    if r.header("content-type") != v.content_type {
        wrong.push(format!("content-type {}", r.header("content-type")));
    }
    if r.header("etag") != format!("\"{}\"", md5_hex(&v.body)) {
        wrong.push(format!("etag {}", r.header("etag")));
    }
    if r.header("x-amz-checksum-crc32c") != v.crc32c {
        wrong.push(format!("crc32c {:?}", r.header("x-amz-checksum-crc32c")));
    }
    if r.header("content-length") != v.body.len().to_string() {
        wrong.push(format!("content-length {}", r.header("content-length")));
    }
    if wrong.is_empty() {
        Ok((w, round))
    } else {
        Err(format!("metadata of w{w} round {round}, but {}", wrong.join(", ")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_leave_one_complete_version_and_readers_never_see_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig::new(dir.path())).await.unwrap();
    let c = Arc::new(Client::new(&server));
    assert_eq!(c.put("/bkt", &[], Bytes::new()).await.status, StatusCode::OK);

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let (c, stop, reads) = (c.clone(), stop.clone(), reads.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = c.get("/bkt/race", &[("x-amz-checksum-mode", "ENABLED")]).await;
                if r.status == StatusCode::NOT_FOUND {
                    continue;
                }
                assert_eq!(r.status, StatusCode::OK, "{}", r.text());
                let (w, round) = owner(&r).unwrap_or_else(|e| panic!("a reader saw a mixed object: {e}"));
                assert_eq!(
                    r.body,
                    version(w, round).body,
                    "a reader got w{w} round {round}'s headers with other bytes"
                );
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let mut consistent = 0;
    for round in 0..ROUNDS {
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let c = c.clone();
            writers.push(tokio::spawn(async move {
                let v = version(w, round);
                let headers = [
                    ("content-type", v.content_type.as_str()),
                    ("x-amz-meta-writer", v.meta.as_str()),
                    ("x-amz-checksum-crc32c", v.crc32c.as_str()),
                ];
                let r = c.put("/bkt/race", &headers, v.body.clone()).await;
                assert_eq!(r.status, StatusCode::OK, "writer {w} round {round}: {}", r.text());
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let head =
            c.send(http::Method::HEAD, "/bkt/race", &[("x-amz-checksum-mode", "ENABLED")], Bytes::new(), true).await;
        let get = c.get("/bkt/race", &[("x-amz-checksum-mode", "ENABLED")]).await;
        let (w, r) = owner(&head).unwrap_or_else(|e| panic!("round {round}: HEAD after the race: {e}"));
        assert_eq!(r, round, "round {round}: an older round's version survived");
        assert_eq!(owner(&get), Ok((w, r)), "round {round}: GET and HEAD disagree");
        assert_eq!(get.body, version(w, round).body, "round {round}: the bytes are not writer {w}'s");
        consistent += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(consistent, ROUNDS);
    assert!(reads.load(Ordering::Relaxed) > 0, "the readers never saw the object");
    server.shutdown().await;
}
