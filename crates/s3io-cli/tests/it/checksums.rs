//! `--checksum-algorithm CRC32|SHA256|SHA1` (beside CRC64NVME and CRC32C): what the stored object
//! carries afterwards, as HeadObject reports it — the full-object value of a single-part upload,
//! S3's composite value (`…-N`, the checksum of the part checksums) of a multipart one — and that
//! a download verifies what it can: a one-part object against the checksum it carries.

use s3io::checksum::{checksum, composite_checksum, ChecksumValue};
use s3io::config::ChecksumAlgorithm;

use crate::common::{data, stdout, Harness};

/// A server that keeps only the checksums the client sends (no default CRC64NVME), so what a
/// download verifies is the algorithm under test.
fn bucket() -> Harness {
    let h = Harness::start_with(|config| config.with_default_checksum(false));
    h.ok(&["mb", "s3://bkt"]);
    h
}

const ALGORITHMS: [(&str, ChecksumAlgorithm); 3] =
    [("CRC32", ChecksumAlgorithm::Crc32), ("SHA256", ChecksumAlgorithm::Sha256), ("SHA1", ChecksumAlgorithm::Sha1)];

fn json_checksum(output: &std::process::Output) -> String {
    let record: serde_json::Value = serde_json::from_str(stdout(output).trim()).unwrap();
    record["checksum"].as_str().unwrap_or_else(|| panic!("no checksum in {record}")).to_owned()
}

#[test]
fn a_single_part_upload_stores_the_full_object_checksum_and_the_download_verifies_it() {
    let h = bucket();
    let body = data(300_000, 11);
    let source = h.file("src.bin", &body);
    for (name, algorithm) in ALGORITHMS {
        let key = format!("one-{name}");
        h.ok(&["cp", "--checksum-algorithm", name, &source, &format!("s3://bkt/{key}")]);
        let expected = checksum(algorithm, &body);
        let info = h.head("bkt", &key);
        assert!(info.checksums.contains(&expected), "{name}: {:?}", info.checksums);

        let target = h.path_str(&format!("{key}.out"));
        let output = h.ok(&["cp", "--json", &format!("s3://bkt/{key}"), &target]);
        assert_eq!(json_checksum(&output), format!("{name}:{}", expected.value));
        assert!(std::fs::read(&target).unwrap() == body, "{name}: the downloaded bytes differ");
    }
}

#[test]
fn a_multipart_upload_stores_the_composite_checksum_of_its_parts() {
    let h = bucket();
    let part = 5 * 1024 * 1024;
    let body = data(2 * part + 1000, 12);
    let source = h.file("src.bin", &body);
    for (name, algorithm) in ALGORITHMS {
        let key = format!("multi-{name}");
        let url = format!("s3://bkt/{key}");
        h.ok(&["cp", "--part-size", "5MiB", "--checksum-algorithm", name, &source, &url]);
        // S3's composite checksum: the checksum of the three binary part checksums, then "-3".
        let parts: Vec<ChecksumValue> = body.chunks(part).map(|chunk| checksum(algorithm, chunk)).collect();
        let expected = composite_checksum(algorithm, &parts).unwrap();
        assert!(expected.value.ends_with("-3"), "{expected:?}");
        let info = h.head("bkt", &key);
        assert!(info.composite_checksums.contains(&expected), "{name}: {:?}", info.composite_checksums);
        assert!(info.checksums.iter().all(|c| c.algorithm != algorithm), "{name}: {:?}", info.checksums);

        let text = stdout(&h.ok(&["head", &url]));
        assert!(text.contains(&format!("{name} (composite)")) && text.contains(&expected.value), "{text}");

        // The composite value is not the bytes' checksum: the download does not claim to have
        // verified it, and still delivers the object.
        let target = h.path_str(&format!("{key}.out"));
        let output = h.ok(&["cp", "--json", "--part-size", "5MiB", &url, &target]);
        let record: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
        assert!(record["checksum"].is_null(), "{record}");
        assert!(std::fs::read(&target).unwrap() == body, "{name}: the downloaded bytes differ");
    }
}
