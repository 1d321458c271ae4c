//! Every download is verified: a one-part object against the full-object checksum its answer
//! carries, else its single-part ETag (MD5), a multi-part one against its full-object CRC64NVME; corrupted bytes on the server fail the download with an
//! integrity error and leave nothing under the final name. `--json` and the status lines say which
//! checksum was verified.

use std::path::{Path, PathBuf};

use s3io::config::ChecksumAlgorithm;

use crate::common::{assert_one_line_failure, data, entries, stdout, Harness};

fn bucket() -> Harness {
    let h = Harness::start();
    h.ok(&["mb", "s3://bkt"]);
    h
}

/// The server's data files (`root/.s3io/data/…`) of exactly `len` bytes.
fn data_files_of_len(root: &Path, len: u64) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.join(".s3io").join("data")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() && entry.metadata().unwrap().len() == len {
                found.push(entry.path());
            }
        }
    }
    found
}

/// Inverts one byte in the middle of the only data file of `len` bytes under the server's root:
/// the object keeps its size, ETag and checksums, its bytes no longer match them.
fn corrupt_the_stored_bytes(h: &Harness, len: usize) {
    let files = data_files_of_len(h.root(), len as u64);
    assert_eq!(files.len(), 1, "data files of {len} bytes: {files:?}");
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[len / 2] ^= 0xff;
    std::fs::write(&files[0], bytes).unwrap();
}

fn checksum_of(output: &std::process::Output) -> String {
    let record: serde_json::Value = serde_json::from_str(stdout(output).trim()).unwrap();
    record["checksum"].as_str().unwrap_or_else(|| panic!("no checksum in {record}")).to_owned()
}

#[test]
fn a_one_part_download_verifies_the_checksum_it_carries_and_fails_on_corrupted_bytes() {
    let h = bucket();
    let body = data(200_000, 4);
    let source = h.file("src.bin", &body);
    // `cp` stores the CRC64NVME, which the first (ranged, whole-object) answer carries.
    h.ok(&["cp", &source, "s3://bkt/crc"]);
    std::fs::create_dir(h.path("dl")).unwrap();

    let output = h.ok(&["cp", "--json", "s3://bkt/crc", &h.path_str("dl/ok.bin")]);
    let crc = s3io::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, &body).value;
    assert_eq!(checksum_of(&output), format!("CRC64NVME:{crc}"));
    assert!(std::fs::read(h.path("dl/ok.bin")).unwrap() == body);

    corrupt_the_stored_bytes(&h, body.len());
    let output = h.run(&["cp", "s3://bkt/crc", &h.path_str("dl/bad.bin")]);
    assert_one_line_failure(&output, &["s3://bkt/crc", "CRC64NVME checksum mismatch", &crc]);
    assert_eq!(entries(&h.path("dl")), ["ok.bin"], "the failed download left a file");
}

/// A server that, like older stores, keeps no checksum for uploads that send none.
fn bucket_without_default_checksums() -> Harness {
    let h = Harness::start_with(|config| config.with_default_checksum(false));
    h.ok(&["mb", "s3://bkt"]);
    h
}

#[test]
fn a_one_part_download_without_a_stored_checksum_verifies_the_etag_md5_and_fails_on_corrupted_bytes() {
    let h = bucket_without_default_checksums();
    let body = data(300_000, 5);
    // A PutObject without a checksum: the store has only the ETag (the MD5 of the bytes).
    h.put_all("bkt", [("one".to_owned(), body.clone())]);
    std::fs::create_dir(h.path("dl")).unwrap();

    let output = h.ok(&["cp", "--json", "s3://bkt/one", &h.path_str("dl/ok.bin")]);
    let md5 = s3io::checksum::checksum(ChecksumAlgorithm::Md5, &body).value;
    assert_eq!(checksum_of(&output), format!("MD5:{md5}"));
    let output = h.ok(&["cp", "s3://bkt/one", &h.path_str("dl/ok.bin")]);
    assert!(stdout(&output).trim_end().ends_with("(MD5 verified)"), "{}", stdout(&output));
    assert!(std::fs::read(h.path("dl/ok.bin")).unwrap() == body);

    corrupt_the_stored_bytes(&h, body.len());
    let output = h.run(&["cp", "s3://bkt/one", &h.path_str("dl/bad.bin")]);
    assert_one_line_failure(&output, &["s3://bkt/one", "MD5 checksum mismatch", &md5]);
    assert_eq!(entries(&h.path("dl")), ["ok.bin"], "the failed download left a file");
    // A stream fails the same way (what reached stdout is all the reader gets).
    let output = h.run(&["cat", "s3://bkt/one"]);
    assert_one_line_failure(&output, &["s3://bkt/one", "MD5 checksum mismatch"]);
}

#[test]
fn a_multi_part_download_verifies_the_crc64nvme_and_fails_on_corrupted_bytes() {
    let h = bucket();
    let body = data(3 * 1024 * 1024 + 11, 6);
    let source = h.file("src.bin", &body);
    // One PutObject carrying the CRC64NVME; the downloads below fetch it in 1 MiB parts.
    h.ok(&["cp", &source, "s3://bkt/many"]);
    std::fs::create_dir(h.path("dl")).unwrap();
    let crc = s3io::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, &body).value;

    let output = h.ok(&["cp", "--json", "--part-size", "1MiB", "s3://bkt/many", &h.path_str("dl/ok.bin")]);
    assert_eq!(checksum_of(&output), format!("CRC64NVME:{crc}"));
    assert!(std::fs::read(h.path("dl/ok.bin")).unwrap() == body);
    // Four ranged GETs and the HEAD that runs beside them, nothing more.
    let before = h.requests();
    h.ok(&["cp", "--part-size", "1MiB", "s3://bkt/many", &h.path_str("dl/ok.bin")]);
    assert_eq!(h.requests() - before, 5);

    corrupt_the_stored_bytes(&h, body.len());
    for dest in ["dl/bad.bin", "dl/"] {
        let output = h.run(&["cp", "--part-size", "1MiB", "s3://bkt/many", &h.path_str(dest)]);
        assert_one_line_failure(&output, &["s3://bkt/many", "CRC64NVME checksum mismatch", &crc]);
    }
    assert_eq!(entries(&h.path("dl")), ["ok.bin"], "a failed download left a file");
    // The batch path too: its summary counts the failure, nothing is written.
    let output = h.run(&["cp", "-r", "--part-size", "1MiB", "s3://bkt/", &h.path_str("dl/tree")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        crate::common::stderr(&output).contains("CRC64NVME checksum mismatch"),
        "{}",
        crate::common::stderr(&output)
    );
    assert!(!h.path("dl/tree/many").exists());
}

#[test]
fn a_batch_download_summary_says_what_was_verified() {
    let h = bucket_without_default_checksums();
    h.put_all("bkt", (0..3).map(|i| (format!("p/{i}"), data(1000 + i, i as u64))));
    let output = h.ok(&["cp", "-r", "s3://bkt/p/", &h.path_str("out")]);
    let err = crate::common::stderr(&output);
    assert!(err.contains("3 objects") && err.contains("verified: 3 MD5"), "{err}");
    let lines = stdout(&output);
    assert_eq!(lines.lines().filter(|l| l.ends_with("(MD5 verified)")).count(), 3, "{lines}");
}

#[test]
fn a_one_part_download_verifies_a_stored_sha256_and_fails_on_corrupted_bytes() {
    let h = bucket_without_default_checksums();
    let body = data(250_000, 7);
    let source = h.file("src.bin", &body);
    // The object carries the SHA-256 only (the store adds no CRC64NVME here).
    h.ok(&["cp", "--checksum-algorithm", "SHA256", &source, "s3://bkt/sha"]);
    std::fs::create_dir(h.path("dl")).unwrap();
    let sha = s3io::checksum::checksum(ChecksumAlgorithm::Sha256, &body).value;

    let output = h.ok(&["cp", "--json", "s3://bkt/sha", &h.path_str("dl/ok.bin")]);
    assert_eq!(checksum_of(&output), format!("SHA256:{sha}"));

    corrupt_the_stored_bytes(&h, body.len());
    let output = h.run(&["cp", "s3://bkt/sha", &h.path_str("dl/bad.bin")]);
    assert_one_line_failure(&output, &["s3://bkt/sha", "SHA256 checksum mismatch", &sha]);
    assert_eq!(entries(&h.path("dl")), ["ok.bin"], "the failed download left a file");
}
