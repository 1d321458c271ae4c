//! `--no-clobber` on uploads and copies: an object already at the destination is left as it was
//! (checked with GetObject) and reported skipped, single-part and multipart, one object or many;
//! a free key is written; no multipart upload is left behind.

use crate::common::{data, stderr, stdout, Harness};

fn get(h: &Harness, key: &str) -> Vec<u8> {
    let client = h.client();
    h.runtime.block_on(async {
        let object = client.get_object("bkt", key, &Default::default()).await.expect("get object");
        object.collect().await.expect("read object").to_vec()
    })
}

fn uploads_left(h: &Harness) -> usize {
    let client = h.client();
    h.runtime.block_on(client.list_multipart_uploads("bkt", None, None)).unwrap().uploads.len()
}

#[test]
fn uploads_and_copies_skip_existing_objects() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h.put_all("bkt", [("kept".to_owned(), b"old".to_vec()), ("src".to_owned(), b"source".to_vec())]);
    let file = h.file("new", b"new bytes");

    let output = h.ok(&["cp", "--no-clobber", &file, "s3://bkt/kept"]);
    assert!(
        stdout(&output).starts_with("skip: ") && stdout(&output).contains("(exists: s3://bkt/kept)"),
        "{}",
        stdout(&output)
    );
    assert_eq!(get(&h, "kept"), b"old");
    let output = h.ok(&["cp", "-n", "--json", "s3://bkt/src", "s3://bkt/kept"]);
    let record: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!((record["operation"].as_str(), record["status"].as_str()), (Some("copy"), Some("skipped")));
    assert_eq!(get(&h, "kept"), b"old");
    // A move that is skipped keeps its source.
    h.ok(&["mv", "-n", &file, "s3://bkt/kept"]);
    assert!(h.path("new").exists());
    assert_eq!(get(&h, "kept"), b"old");

    // Free keys are written.
    h.ok(&["cp", "-n", &file, "s3://bkt/fresh"]);
    assert_eq!(get(&h, "fresh"), b"new bytes");
    h.ok(&["cp", "-n", "s3://bkt/src", "s3://bkt/copied"]);
    assert_eq!(get(&h, "copied"), b"source");
}

#[test]
fn multipart_uploads_and_many_objects_skip_existing_ones_and_leave_no_upload() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h.put_all("bkt", [("big.bin".to_owned(), b"old".to_vec()), ("d/a".to_owned(), b"old a".to_vec())]);
    let big = h.file("big.bin", &data(11 << 20, 3));
    let output = h.ok(&["--part-size", "5MiB", "cp", "-n", &big, "s3://bkt/big.bin"]);
    assert!(stdout(&output).starts_with("skip: "), "{}", stdout(&output));
    assert_eq!(get(&h, "big.bin"), b"old");
    assert_eq!(uploads_left(&h), 0);

    let dir = h.path("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a"), b"new a").unwrap();
    std::fs::write(dir.join("b"), b"new b").unwrap();
    let output = h.ok(&["cp", "-r", "-n", dir.to_str().unwrap(), "s3://bkt/d/"]);
    assert!(stderr(&output).contains("1 objects") && stderr(&output).contains("1 skipped"), "{}", stderr(&output));
    assert_eq!(get(&h, "d/a"), b"old a");
    assert_eq!(get(&h, "d/b"), b"new b");
    // S3 to S3, many: the existing copy is kept too.
    let output = h.ok(&["cp", "-r", "-n", "--json", "s3://bkt/d/", "s3://bkt/e/"]);
    assert!(stdout(&output).lines().all(|l| l.contains(r#""status":"ok""#)), "{}", stdout(&output));
    h.ok(&["cp", &h.file("e-a", b"e a"), "s3://bkt/e/a"]);
    let output = h.ok(&["cp", "-r", "-n", "s3://bkt/d/", "s3://bkt/e/"]);
    assert!(stderr(&output).contains("2 skipped"), "{}", stderr(&output));
    assert_eq!(get(&h, "e/a"), b"e a");
}

#[test]
fn a_store_refusing_the_condition_gets_a_head_before_each_write() {
    // The server answers If-None-Match with 501 NotImplemented, as stores without conditional
    // writes do.
    let h = Harness::start_with(|config| config.with_conditional_writes(false));
    h.ok(&["mb", "s3://bkt"]);
    h.put_all("bkt", [("d/a".to_owned(), b"old a".to_vec()), ("src".to_owned(), b"source".to_vec())]);
    let dir = h.path("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a"), b"new a").unwrap();
    std::fs::write(dir.join("b"), b"new b").unwrap();
    let output = h.ok(&["-v", "cp", "-r", "-n", dir.to_str().unwrap(), "s3://bkt/d/"]);
    assert!(stderr(&output).contains("1 skipped") && stderr(&output).contains("a HEAD first"), "{}", stderr(&output));
    assert_eq!(get(&h, "d/a"), b"old a");
    assert_eq!(get(&h, "d/b"), b"new b");
    let output = h.ok(&["cp", "-n", "s3://bkt/src", "s3://bkt/d/a"]);
    assert!(stdout(&output).starts_with("skip: "), "{}", stdout(&output));
    assert_eq!(get(&h, "d/a"), b"old a");
    // A multipart upload refused at completion is aborted, then sent again without the condition.
    let big = data(11 << 20, 4);
    let file = h.file("big.bin", &big);
    h.ok(&["--part-size", "5MiB", "cp", "-n", &file, "s3://bkt/big.bin"]);
    assert!(get(&h, "big.bin") == big);
    assert_eq!(uploads_left(&h), 0);
}
