//! `--copy-props` (what an S3-to-S3 copy takes from its source: the aws CLI's
//! `none|metadata-directive|default`) and `--request-payer requester` (sent with every request
//! of the command), checked on what the objects carry and what the server received.

use crate::common::{stdout, Harness};

#[test]
fn copy_props_choose_what_a_copy_takes_from_its_source() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let file = h.file("f.txt", b"hello");
    h.ok(&["cp", "--metadata", "a=1", "--cache-control", "max-age=1", "--tags", "t=1&u=2", &file, "s3://bkt/src.txt"]);

    // default: headers, metadata and tags.
    h.ok(&["cp", "--copy-props", "default", "s3://bkt/src.txt", "s3://bkt/default.txt"]);
    let copied = h.head("bkt", "default.txt");
    assert_eq!(copied.metadata, vec![("a".to_owned(), "1".to_owned())]);
    assert_eq!(copied.cache_control.as_deref(), Some("max-age=1"));
    assert_eq!(copied.tag_count, Some(2));

    // metadata-directive: headers and metadata, no tags.
    h.ok(&["cp", "--copy-props", "metadata-directive", "s3://bkt/src.txt", "s3://bkt/meta.txt"]);
    let copied = h.head("bkt", "meta.txt");
    assert_eq!(copied.metadata, vec![("a".to_owned(), "1".to_owned())]);
    assert_eq!(copied.cache_control.as_deref(), Some("max-age=1"));
    assert_eq!(copied.tag_count, None);

    // none: nothing of the source; what the flags give is set.
    h.ok(&["cp", "--copy-props", "none", "--content-language", "en", "s3://bkt/src.txt", "s3://bkt/none.txt"]);
    let copied = h.head("bkt", "none.txt");
    assert!(copied.metadata.is_empty() && copied.cache_control.is_none(), "{copied:?}");
    assert_eq!(copied.content_language.as_deref(), Some("en"));
    assert_eq!(copied.tag_count, None);

    let output =
        h.run(&["cp", "--copy-props", "none", "--metadata-directive", "COPY", "s3://bkt/src.txt", "s3://bkt/x"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn request_payer_goes_with_every_request() {
    let mut h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h.restart_with(|c| c.with_request_log());
    let big = h.file("big.bin", &crate::common::data(6 * 1024 * 1024, 3));
    let args = ["--request-payer", "requester", "--part-size", "5MiB"];
    h.ok(&[&args[..], &["cp", &big, "s3://bkt/big.bin"]].concat());
    h.ok(&[&args[..], &["cp", "s3://bkt/big.bin", &h.path_str("back.bin")]].concat());
    h.ok(&[&args[..], &["cp", "s3://bkt/big.bin", "s3://bkt/copy.bin"]].concat());
    assert!(stdout(&h.ok(&[&args[..], &["ls", "s3://bkt/"]].concat())).contains("copy.bin"));
    h.ok(&[&args[..], &["rm", "s3://bkt/copy.bin"]].concat());
    let log = h.request_log();
    // Create, 2 parts, Complete; 2 GETs and a HEAD; HEAD and CopyObject; a listing; a delete.
    assert!(log.len() >= 11, "{log:?}");
    for record in &log {
        assert_eq!(record.request_payer.as_deref(), Some("requester"), "{record:?}");
    }
    // Without the flag, no header.
    h.ok(&["ls", "s3://bkt/"]);
    assert_eq!(h.request_log().last().unwrap().request_payer, None);
}

/// The embedded server keeps one version per object, `null`, as S3 does in a bucket that never
/// had versioning (a versioned bucket is tested against moto in the library's suite).
#[test]
fn version_id_reads_and_deletes_one_version_and_ls_lists_versions() {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    let body = crate::common::data(3 * 1024 * 1024 + 3, 9);
    let file = h.file("f.bin", &body);
    h.ok(&["cp", &file, "s3://bkt/dir/k.bin"]);
    h.ok(&["cp", &file, "s3://bkt/dir/gone.bin"]);

    let text = stdout(&h.ok(&["ls", "--all-versions", "s3://bkt/dir/"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].ends_with(" null dir/gone.bin (latest)") && lines[1].ends_with(" null dir/k.bin (latest)"),
        "{text}"
    );
    let json = stdout(&h.ok(&["ls", "--all-versions", "--json", "s3://bkt/dir/k"]));
    let record: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!((record["version_id"].as_str(), record["is_latest"].as_bool()), (Some("null"), Some(true)));
    assert_eq!(record["size"].as_u64(), Some(body.len() as u64));

    // Every ranged GET names the version; cat, head and a copy too.
    let target = h.path_str("back.bin");
    h.ok(&["--part-size", "1MiB", "cp", "--version-id", "null", "s3://bkt/dir/k.bin", &target]);
    assert!(std::fs::read(&target).unwrap() == body);
    assert!(h.ok(&["cat", "--version-id", "null", "s3://bkt/dir/k.bin"]).stdout == body);
    assert!(stdout(&h.ok(&["head", "--version-id", "null", "s3://bkt/dir/k.bin"])).contains("3145731"));
    h.ok(&["cp", "--version-id", "null", "s3://bkt/dir/k.bin", "s3://bkt/copy.bin"]);
    assert_eq!(h.head("bkt", "copy.bin").content_length, body.len() as u64);
    // Another version id: the store has none such.
    let output = h.run(&["cp", "--version-id", "3HL4kqtJlcpXroDTDmJ", "s3://bkt/dir/k.bin", &h.path_str("no.bin")]);
    crate::common::assert_one_line_failure(&output, &["s3://bkt/dir/k.bin", "InvalidArgument", "version id"]);
    assert!(!h.path("no.bin").exists());

    h.ok(&["rm", "--version-id", "null", "s3://bkt/dir/gone.bin"]);
    let text = stdout(&h.ok(&["ls", "--all-versions", "s3://bkt/dir/"]));
    assert!(!text.contains("gone.bin") && text.contains("k.bin"), "{text}");
    // One object only: not with -r, not for uploads, not for mv.
    for args in [
        &["rm", "-r", "--version-id", "null", "s3://bkt/dir/"][..],
        &["cp", "--version-id", "null", &file, "s3://bkt/x"],
        &["mv", "--version-id", "null", "s3://bkt/dir/k.bin", "s3://bkt/y"],
    ] {
        assert_eq!(h.run(args).status.code(), Some(2), "{args:?}");
    }
}
