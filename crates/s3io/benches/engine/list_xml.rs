//! Parsing a 1,000-key ListObjectsV2 response, generated from a fixed seed.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use s3io::bench_support::parse_list_objects_v2;

const KEYS: usize = 1000;
const SEED: u64 = 0x5310_0001;

/// A full ListObjectsV2 page of `keys` keys, as AWS S3 writes it.
fn listing(keys: usize, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut xml = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
        "<Name>bench-bucket</Name><Prefix>datasets/</Prefix>",
    ));
    write!(xml, "<KeyCount>{keys}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>").unwrap();
    xml.push_str("<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>");
    for i in 0..keys {
        let day = rng.random_range(1..=28);
        let size: u64 = rng.random_range(0..64 * 1024 * 1024);
        let etag: u128 = rng.random();
        write!(
            xml,
            "<Contents><Key>datasets/2024/06/{day:02}/part-{i:05}-{:08x}.parquet</Key>\
             <LastModified>2024-06-{day:02}T{:02}:{:02}:{:02}.000Z</LastModified>\
             <ETag>&quot;{etag:032x}&quot;</ETag><Size>{size}</Size>\
             <StorageClass>STANDARD</StorageClass></Contents>",
            rng.random::<u32>(),
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60),
        )
        .unwrap();
    }
    xml.push_str("</ListBucketResult>");
    xml.into_bytes()
}

fn list_xml(c: &mut Criterion) {
    let body = listing(KEYS, SEED);
    assert_eq!(parse_list_objects_v2(&body).expect("parses"), KEYS);
    let mut group = c.benchmark_group("list_objects_v2_xml");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("parse_1000_keys", |b| {
        b.iter(|| parse_list_objects_v2(black_box(&body)).expect("parses"));
    });
    group.finish();
}

criterion_group!(benches, list_xml);
