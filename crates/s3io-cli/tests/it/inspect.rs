//! `s3io head` (`stat`), `du` and `ls --json`: what they print is what HeadObject and the listing
//! say about the objects the test made.

use std::io::Write as _;
use std::process::Stdio;

use crate::common::{data, stdout, Harness};

fn bucket() -> Harness {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h
}

#[test]
fn head_prints_size_etag_checksums_metadata_class_and_encryption() {
    let h = bucket();
    let body = data(5000, 3);
    let file = h.file("page.html", &body);
    h.ok(&[
        "cp",
        "--metadata",
        "owner=me",
        "--storage-class",
        "STANDARD_IA",
        "--sse",
        "AES256",
        "--cache-control",
        "max-age=60",
        &file,
        "s3://bkt/p.html",
    ]);
    let info = h.head("bkt", "p.html");
    let crc = s3io::checksum::checksum(s3io::config::ChecksumAlgorithm::Crc64Nvme, &body).value;

    let output = h.ok(&["head", "--json", "s3://bkt/p.html"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(json["url"], "s3://bkt/p.html");
    assert_eq!(json["size"], 5000);
    assert_eq!(json["etag"], info.etag.as_deref().unwrap().trim_matches('"'));
    assert_eq!(json["content_type"], "text/html");
    assert_eq!(json["cache_control"], "max-age=60");
    assert_eq!(json["storage_class"], "STANDARD_IA");
    assert_eq!(json["server_side_encryption"], "AES256");
    assert_eq!(json["checksums"]["CRC64NVME"], crc.as_str());
    assert_eq!(json["metadata"]["owner"], "me");
    assert!(json["last_modified"].as_str().unwrap().ends_with('Z'), "{json}");

    let output = h.ok(&["stat", "s3://bkt/p.html"]);
    let text = stdout(&output);
    for line in ["Size                : 5000", "Storage class       : STANDARD_IA", "Metadata owner      : me"] {
        assert!(text.lines().any(|l| l == line), "{line:?} missing from:\n{text}");
    }
    assert!(text.contains(&format!("Checksum CRC64NVME  : {crc}")), "{text}");
    assert!(text.contains("Encryption          : AES256"), "{text}");

    let output = h.run(&["head", "s3://bkt/missing"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(crate::common::stderr(&output).contains("s3://bkt/missing"), "{}", crate::common::stderr(&output));
}

#[test]
fn du_counts_objects_and_bytes_by_storage_class() {
    let h = bucket();
    h.put_all("bkt", (0..5).map(|i| (format!("d/{i}"), vec![0u8; 100 * (i + 1)])));
    h.put_all("bkt", [("other".to_owned(), vec![0u8; 7])]);
    let file = h.file("cold", &[1u8; 1000]);
    h.ok(&["cp", "--storage-class", "GLACIER", &file, "s3://bkt/d/cold"]);
    assert_eq!(h.head("bkt", "d/cold").storage_class.as_deref(), Some("GLACIER"));

    let output = h.ok(&["du", "s3://bkt/d/"]);
    let text = stdout(&output);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("2500 bytes in 6 objects: s3://bkt/d/"));
    let rest: Vec<&str> = lines.map(str::trim).collect();
    assert_eq!(rest.len(), 2, "{text}");
    assert!(rest[0].starts_with("GLACIER") && rest[0].ends_with("1000 bytes in 1 objects"), "{text}");
    assert!(rest[1].starts_with("STANDARD") && rest[1].ends_with("1500 bytes in 5 objects"), "{text}");

    let output = h.ok(&["du", "--json", "s3://bkt"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(json["objects"], 7);
    assert_eq!(json["bytes"], 2507);
    assert_eq!(json["by_storage_class"]["STANDARD"]["objects"], 6);
}

#[test]
fn ls_json_prints_one_object_per_line() {
    let h = bucket();
    h.put_all("bkt", [("a/x".to_owned(), b"12345".to_vec()), ("top".to_owned(), b"1".to_vec())]);
    let output = h.ok(&["ls", "--json", "s3://bkt/"]);
    let lines: Vec<serde_json::Value> = stdout(&output).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["prefix"], "a/");
    assert_eq!(lines[1]["key"], "top");
    assert_eq!(lines[1]["size"], 1);
    assert_eq!(lines[1]["storage_class"], "STANDARD");
    assert_eq!(lines[1]["etag"], h.head("bkt", "top").etag.unwrap().trim_matches('"'));

    let output = h.ok(&["ls", "--json", "--recursive", "--summarize", "s3://bkt"]);
    let lines: Vec<serde_json::Value> = stdout(&output).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["key"], "a/x");
    assert_eq!(lines[0]["size"], 5);
    assert_eq!(lines[2]["total_objects"], 2);
    assert_eq!(lines[2]["total_size"], 6);

    let output = h.ok(&["ls", "--json"]);
    let bucket: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(bucket["name"], "bkt");
    // Keys with control characters stay exact: JSON escapes them.
    let mut child = h.s3io(&["cp", "-", "s3://bkt/tab\there"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"t").unwrap();
    assert!(child.wait().unwrap().success());
    let output = h.ok(&["ls", "--json", "s3://bkt/tab"]);
    let line: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(line["key"], "tab\there");
}
