//! Object properties set by uploads (`cp`, `cp -r`, `sync`, stdin), each checked on the object
//! itself with HeadObject; single-object `cp --dry-run` and `--json`.

use std::io::Write as _;
use std::process::Stdio;

use s3io::config::ChecksumAlgorithm;

use crate::common::{data, stderr, stdout, Harness};

fn bucket() -> Harness {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h
}

#[test]
fn a_site_uploaded_with_cp_r_serves_html_js_and_css_with_their_types() {
    let h = bucket();
    let site = h.path("site");
    std::fs::create_dir_all(site.join("assets")).unwrap();
    std::fs::write(site.join("index.html"), b"<!doctype html><p>hi").unwrap();
    std::fs::write(site.join("assets/app.js"), b"console.log(1)").unwrap();
    std::fs::write(site.join("assets/style.css"), b"p{}").unwrap();
    std::fs::write(site.join("logo.svg"), b"<svg/>").unwrap();
    h.ok(&["cp", "-r", site.to_str().unwrap(), "s3://bkt/www/"]);
    let content_type = |key: &str| h.head("bkt", key).content_type;
    assert_eq!(content_type("www/index.html").as_deref(), Some("text/html"));
    assert_eq!(content_type("www/assets/app.js").as_deref(), Some("text/javascript"));
    assert_eq!(content_type("www/assets/style.css").as_deref(), Some("text/css"));
    assert_eq!(content_type("www/logo.svg").as_deref(), Some("image/svg+xml"));
}

#[test]
fn no_guess_mime_type_leaves_the_type_to_the_store_and_content_type_wins() {
    let h = bucket();
    let page = h.file("page.html", b"<p>");
    h.ok(&["cp", "--no-guess-mime-type", &page, "s3://bkt/plain.html"]);
    assert_ne!(h.head("bkt", "plain.html").content_type.as_deref(), Some("text/html"));
    h.ok(&["cp", "--content-type", "application/x-custom", &page, "s3://bkt/custom.html"]);
    assert_eq!(h.head("bkt", "custom.html").content_type.as_deref(), Some("application/x-custom"));
}

#[test]
fn header_and_metadata_flags_reach_the_object() {
    let h = bucket();
    let file = h.file("report.bin", &data(1000, 1));
    h.ok(&[
        "cp",
        "--cache-control",
        "max-age=60",
        "--content-disposition",
        "attachment; filename=report.bin",
        "--content-encoding",
        "identity",
        "--content-language",
        "en-GB",
        "--metadata",
        "team=data,run=42",
        &file,
        "s3://bkt/report.bin",
    ]);
    let info = h.head("bkt", "report.bin");
    assert_eq!(info.cache_control.as_deref(), Some("max-age=60"));
    assert_eq!(info.content_disposition.as_deref(), Some("attachment; filename=report.bin"));
    assert_eq!(info.content_encoding.as_deref(), Some("identity"));
    assert_eq!(info.content_language.as_deref(), Some("en-GB"));
    let mut metadata = info.metadata.clone();
    metadata.sort();
    assert_eq!(metadata, vec![("run".to_owned(), "42".to_owned()), ("team".to_owned(), "data".to_owned())]);
    // (`--expires` is converted to an HTTP date and sent (unit-tested in `object`); the embedded
    // server does not store Expires yet, so it cannot be read back here.)
}

#[test]
fn multipart_uploads_carry_the_properties_too() {
    let h = bucket();
    let file = h.file("big.csv", &data(12 << 20, 2));
    h.ok(&["--part-size", "5MiB", "cp", "--metadata", "k=v", "--cache-control", "no-cache", &file, "s3://bkt/big.csv"]);
    let info = h.head("bkt", "big.csv");
    assert_eq!(info.content_type.as_deref(), Some("text/csv"));
    assert_eq!(info.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(info.metadata, vec![("k".to_owned(), "v".to_owned())]);
}

#[test]
fn stdin_uploads_take_the_object_flags() {
    let h = bucket();
    let mut child =
        h.s3io(&["cp", "--metadata", "source=stdin", "-", "s3://bkt/doc.json"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"{}").unwrap();
    assert!(child.wait().unwrap().success());
    let info = h.head("bkt", "doc.json");
    assert_eq!(info.content_type.as_deref(), Some("application/json"));
    assert_eq!(info.metadata, vec![("source".to_owned(), "stdin".to_owned())]);
}

#[test]
fn sync_uploads_take_the_object_flags() {
    let h = bucket();
    let dir = h.path("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), b"a").unwrap();
    h.ok(&["sync", "--content-language", "fr", dir.to_str().unwrap(), "s3://bkt/d/"]);
    let info = h.head("bkt", "d/a.txt");
    assert_eq!(info.content_language.as_deref(), Some("fr"));
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
}

#[test]
fn checksum_algorithm_chooses_what_the_object_stores() {
    // A server that adds no CRC64NVME of its own, so what is stored is what the client sent.
    let h = crate::common::Harness::start_with(|config| config.with_default_checksum(false));
    h.ok(&["mb", "s3://bkt"]);
    let file = h.file("f.bin", &data(10_000, 3));
    h.ok(&["cp", "--checksum-algorithm", "CRC32C", &file, "s3://bkt/crc32c.bin"]);
    let checksums = h.head("bkt", "crc32c.bin").checksums;
    assert!(checksums.iter().any(|c| c.algorithm == ChecksumAlgorithm::Crc32c), "{checksums:?}");
    h.ok(&["cp", &file, "s3://bkt/default.bin"]);
    let checksums = h.head("bkt", "default.bin").checksums;
    assert!(checksums.iter().any(|c| c.algorithm == ChecksumAlgorithm::Crc64Nvme), "{checksums:?}");
    h.ok(&["cp", "--checksum-mode", "when-required", &file, "s3://bkt/none.bin"]);
    let checksums = h.head("bkt", "none.bin").checksums;
    assert!(checksums.iter().all(|c| c.algorithm != ChecksumAlgorithm::Crc64Nvme), "{checksums:?}");
}

#[test]
fn bad_object_flags_are_usage_errors() {
    let h = bucket();
    let file = h.file("f.bin", b"x");
    for args in [
        vec!["cp", "--metadata", "novalue", &file, "s3://bkt/f"],
        vec!["cp", "--expires", "tomorrow", &file, "s3://bkt/f"],
        vec!["cp", "--sse-kms-key-id", "k", &file, "s3://bkt/f"],
        vec!["cp", "--sse", "rot13", &file, "s3://bkt/f"],
        // COPY keeps the source's metadata: giving new metadata too is a contradiction.
        vec!["cp", "--metadata-directive", "COPY", "--content-type", "text/plain", "s3://bkt/x", "s3://bkt/y"],
    ] {
        let output = h.run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn single_object_cp_dry_run_changes_nothing() {
    let h = bucket();
    let file = h.file("f.bin", b"hello");
    let output = h.ok(&["cp", "--dry-run", &file, "s3://bkt/f.bin"]);
    assert_eq!(stdout(&output), format!("(dryrun) upload: {file} to s3://bkt/f.bin\n"));
    let listing = h.runtime.block_on(h.client().list_objects_v2("bkt", &Default::default())).unwrap();
    assert!(listing.objects.is_empty(), "the bucket is unchanged: {:?}", listing.objects);
    // Downloads too: no file appears.
    h.ok(&["cp", &file, "s3://bkt/real.bin"]);
    let target = h.path("got.bin");
    h.ok(&["cp", "--dry-run", "s3://bkt/real.bin", target.to_str().unwrap()]);
    assert!(!target.exists());
}

#[test]
fn single_object_cp_json_prints_one_record() {
    let h = bucket();
    let file = h.file("f.bin", b"hello");
    let output = h.ok(&["cp", "--json", &file, "s3://bkt/f.bin"]);
    let record: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(record["operation"], "upload");
    assert_eq!(record["destination"], "s3://bkt/f.bin");
    assert_eq!(record["size"], 5);
    assert_eq!(record["status"], "ok");
    assert!(record["checksum"].as_str().unwrap().starts_with("CRC64NVME:"), "{record}");
    let failed = h.run(&["cp", "--json", "s3://bkt/missing", h.path_str("m").as_str()]);
    assert_eq!(failed.status.code(), Some(1));
    let record: serde_json::Value = serde_json::from_str(stdout(&failed).trim()).unwrap();
    assert_eq!(record["status"], "failed");
    assert!(record["error"].as_str().unwrap().contains("NoSuchKey"), "{record}");
}

#[test]
fn storage_class_reaches_the_object_single_and_multipart() {
    let h = bucket();
    let small = h.file("small.bin", b"x");
    h.ok(&["cp", "--storage-class", "STANDARD_IA", &small, "s3://bkt/small.bin"]);
    assert_eq!(h.head("bkt", "small.bin").storage_class.as_deref(), Some("STANDARD_IA"));
    let big = h.file("big.bin", &data(11 << 20, 4));
    h.ok(&["--part-size", "5MiB", "cp", "--storage-class", "GLACIER_IR", &big, "s3://bkt/big.bin"]);
    assert_eq!(h.head("bkt", "big.bin").storage_class.as_deref(), Some("GLACIER_IR"));
}

#[test]
fn encryption_tags_and_acl_reach_the_object() {
    let h = bucket();
    let file = h.file("f.bin", &data(2000, 5));
    h.ok(&["cp", "--sse", "AES256", &file, "s3://bkt/aes.bin"]);
    assert_eq!(h.head("bkt", "aes.bin").server_side_encryption.as_deref(), Some("AES256"));
    h.ok(&["cp", "--sse", "aws:kms", "--sse-kms-key-id", "alias/reports", &file, "s3://bkt/kms.bin"]);
    let kms = h.head("bkt", "kms.bin");
    assert_eq!(kms.server_side_encryption.as_deref(), Some("aws:kms"));
    assert_eq!(kms.sse_kms_key_id.as_deref(), Some("alias/reports"));
    h.ok(&["cp", "--tags", "team=data&tier=hot", &file, "s3://bkt/tagged.bin"]);
    assert_eq!(h.head("bkt", "tagged.bin").tag_count, Some(2));
    let big = h.file("big.bin", &data(11 << 20, 6));
    h.ok(&["--part-size", "5MiB", "cp", "--tags", "a=1", "--sse", "AES256", &big, "s3://bkt/big.bin"]);
    let info = h.head("bkt", "big.bin");
    assert_eq!((info.tag_count, info.server_side_encryption.as_deref()), (Some(1), Some("AES256")));
    // A canned ACL is sent; the store keeps no ACLs to read back, so the object is what shows.
    h.ok(&["cp", "--acl", "bucket-owner-full-control", &file, "s3://bkt/acl.bin"]);
    assert_eq!(h.head("bkt", "acl.bin").content_length, 2000);
}

#[test]
fn copies_keep_the_source_metadata_unless_flags_replace_it() {
    let h = bucket();
    let file = h.file("f.txt", b"hello");
    h.ok(&["cp", "--metadata", "a=1", "--cache-control", "max-age=1", &file, "s3://bkt/src.txt"]);
    // COPY (the default): everything of the source is kept; the storage class is set anyway.
    h.ok(&["cp", "--storage-class", "STANDARD_IA", "s3://bkt/src.txt", "s3://bkt/kept.data"]);
    let kept = h.head("bkt", "kept.data");
    assert_eq!(kept.metadata, vec![("a".to_owned(), "1".to_owned())]);
    assert_eq!(kept.cache_control.as_deref(), Some("max-age=1"));
    assert_eq!(kept.content_type.as_deref(), Some("text/plain"));
    assert_eq!(kept.storage_class.as_deref(), Some("STANDARD_IA"));
    // A metadata flag means REPLACE: the flags' metadata, the type guessed from the new key.
    h.ok(&["cp", "--metadata", "b=2", "s3://bkt/src.txt", "s3://bkt/replaced.html"]);
    let replaced = h.head("bkt", "replaced.html");
    assert_eq!(replaced.metadata, vec![("b".to_owned(), "2".to_owned())]);
    assert_eq!(replaced.cache_control, None);
    assert_eq!(replaced.content_type.as_deref(), Some("text/html"));
    // REPLACE with no flags clears them; many-object copies do the same.
    h.ok(&["cp", "--metadata-directive", "REPLACE", "--no-guess-mime-type", "s3://bkt/src*", "s3://bkt/r/"]);
    let cleared = h.head("bkt", "r/src.txt");
    assert!(cleared.metadata.is_empty() && cleared.cache_control.is_none(), "{cleared:?}");
}
