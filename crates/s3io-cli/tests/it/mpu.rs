//! `s3io mpu ls` and `s3io mpu abort` against the upload a SIGKILLed `s3io cp` left behind.

use std::process::Output;
use std::time::Duration;

use crate::common::{data, stderr, stdout, wait_with_deadline};
use crate::signals::{poll_until, send, FaultyAfterSetup};

/// Runs `s3io ARGS` against `h`'s server to completion.
fn run(h: &FaultyAfterSetup, args: &[&str]) -> Output {
    let mut child = h.spawn(args);
    wait_with_deadline(&mut child, Duration::from_secs(30));
    child.wait_with_output().unwrap()
}

fn ok(h: &FaultyAfterSetup, args: &[&str]) -> Output {
    let output = run(h, args);
    assert!(output.status.success(), "s3io {args:?} failed: {}", stderr(&output));
    output
}

/// A bucket `b` holding the multipart upload of `big.bin` that a SIGKILLed `s3io cp` left, with
/// at least one part stored; returns its upload id.
fn killed_upload() -> (FaultyAfterSetup, String) {
    let h = FaultyAfterSetup::start("stall=1,stall-for=60s,methods=PUT", async |client| {
        client.create_bucket("bkt").await.unwrap()
    });
    let file = h.work.path().join("big.bin");
    std::fs::write(&file, data(12 << 20, 5)).unwrap();
    let mut child = h.spawn(&["--part-size", "5MiB", "cp", file.to_str().unwrap(), "s3://bkt/big.bin"]);
    poll_until("a part of the upload to be stored", Duration::from_secs(30), || {
        h.uploads("bkt").first().is_some_and(|upload| {
            h.runtime.block_on(h.client.list_parts("bkt", &upload.key, &upload.upload_id)).is_ok_and(|p| !p.is_empty())
        })
    });
    send(&child, "KILL");
    let status = wait_with_deadline(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), None, "killed by a signal");
    let uploads = h.uploads("bkt");
    assert_eq!(uploads.len(), 1, "SIGKILL leaves the upload behind");
    let upload_id = uploads[0].upload_id.clone();
    (h, upload_id)
}

#[test]
fn mpu_ls_lists_the_upload_a_sigkill_left_with_its_parts() {
    let (h, upload_id) = killed_upload();
    let text = stdout(&ok(&h, &["mpu", "ls", "s3://bkt/"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].ends_with(&format!(" {upload_id} s3://bkt/big.bin")), "{text}");
    let json = stdout(&ok(&h, &["mpu", "ls", "--json", "s3://bkt/big"]));
    let record: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(record["key"], "big.bin");
    assert_eq!(record["upload_id"], upload_id.as_str());
    let parts = record["parts"].as_u64().unwrap();
    assert!(parts >= 1, "{json}");
    let stored = h.runtime.block_on(h.client.list_parts("bkt", "big.bin", &upload_id)).unwrap();
    assert_eq!(parts, stored.len() as u64, "{json}");
    assert_eq!(record["bytes"].as_u64().unwrap(), stored.iter().map(|p| p.size).sum::<u64>(), "{json}");
    assert!(record["initiated"].as_str().unwrap().ends_with('Z'), "{json}");
    // Another prefix holds none.
    assert_eq!(stdout(&ok(&h, &["mpu", "ls", "s3://bkt/other/"])), "");
}

#[test]
fn mpu_abort_by_key_with_dry_run_first() {
    let (h, upload_id) = killed_upload();
    let dry = ok(&h, &["mpu", "abort", "--dry-run", "s3://bkt/big.bin"]);
    assert_eq!(stdout(&dry), format!("(dryrun) abort: s3://bkt/big.bin (upload id {upload_id})\n"));
    assert_eq!(h.uploads("bkt").len(), 1, "a dry run aborts nothing");
    let done = ok(&h, &["mpu", "abort", "s3://bkt/big.bin"]);
    assert_eq!(stdout(&done), format!("abort: s3://bkt/big.bin (upload id {upload_id})\n"));
    assert!(h.uploads("bkt").is_empty());
}

#[test]
fn mpu_abort_by_upload_id_and_by_age() {
    let (h, upload_id) = killed_upload();
    // A fresh upload is spared by --older-than.
    let spared = ok(&h, &["mpu", "abort", "--older-than", "1h", "s3://bkt/"]);
    assert_eq!(stdout(&spared), "");
    assert_eq!(h.uploads("bkt").len(), 1);
    // A wrong id fails, naming the upload.
    let wrong = run(&h, &["mpu", "abort", "--upload-id", "no-such-upload", "s3://bkt/big.bin"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("AbortMultipartUpload s3://bkt/big.bin"), "{}", stderr(&wrong));
    ok(&h, &["mpu", "abort", "--upload-id", &upload_id, "s3://bkt/big.bin"]);
    assert!(h.uploads("bkt").is_empty());
}

#[test]
fn mpu_abort_all_under_a_prefix() {
    let (h, upload_id) = killed_upload();
    let output = ok(&h, &["mpu", "abort", "--all", "s3://bkt"]);
    assert!(stdout(&output).contains(&upload_id), "{}", stdout(&output));
    assert!(h.uploads("bkt").is_empty());
    // Without --all, a bucket alone is refused.
    let refused = run(&h, &["mpu", "abort", "s3://bkt"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
}
