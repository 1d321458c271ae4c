//! The library's criterion benchmarks, one binary (one build and link in CI, where
//! `cargo test --bench '*'` runs each once to check its set-up and assertions):
//!
//! - `buffer_pool`: acquire/release, uncontended and contended;
//! - `checksums`: the checksums over an 8 MiB part, and CRC64/NVME combination;
//! - `list_xml`: parsing a 1,000-key ListObjectsV2 response;
//! - `range_plan`: planning the ranges of a 1 GiB and a 5 TiB download;
//! - `signing`: SigV4 signing of a ranged GetObject.
//!
//! `cargo bench -p s3io` runs them all; `cargo bench -p s3io -- buffer_pool` only the benchmarks
//! whose id matches `buffer_pool` (criterion filters by id: `checksum`, `crc64nvme_combine`,
//! `list_objects_v2_xml`, `range_plan`, `signing`).

mod buffer_pool;
mod checksums;
mod list_xml;
mod range_plan;
mod signing;

criterion::criterion_main!(
    buffer_pool::benches,
    checksums::benches,
    list_xml::benches,
    range_plan::benches,
    signing::benches
);
