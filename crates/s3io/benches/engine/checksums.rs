//! Checksums over an 8 MiB part of seeded random bytes, and CRC64/NVME combination.

use std::hint::black_box;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use s3io::checksum::{checksum, crc64nvme_combine, Hasher};
use s3io::config::ChecksumAlgorithm;

const PART: usize = 8 * 1024 * 1024;
const SEED: u64 = 0x5310_0002;
/// Parts of a 10 GiB object at 8 MiB.
const PARTS: u64 = 1280;

fn checksums(c: &mut Criterion) {
    let mut data = vec![0u8; PART];
    StdRng::seed_from_u64(SEED).fill_bytes(&mut data);
    let mut group = c.benchmark_group("checksum/8MiB");
    group.throughput(Throughput::Bytes(PART as u64));
    for algorithm in [ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Crc32c, ChecksumAlgorithm::Md5] {
        group.bench_with_input(BenchmarkId::from_parameter(algorithm.name()), &algorithm, |b, &algorithm| {
            b.iter(|| checksum(algorithm, black_box(&data)));
        });
    }
    group.finish();
}

fn combine(c: &mut Criterion) {
    let mut data = vec![0u8; PART];
    StdRng::seed_from_u64(SEED).fill_bytes(&mut data);
    let (a, b) = data.split_at(PART / 2);
    let crc = |bytes: &[u8]| {
        let mut hasher = Hasher::new(ChecksumAlgorithm::Crc64Nvme);
        hasher.update(bytes);
        hasher.crc().expect("a CRC")
    };
    let (crc_a, crc_b, crc_all) = (crc(a), crc(b), crc(&data));
    assert_eq!(crc64nvme_combine(crc_a, crc_b, b.len() as u64), crc_all, "combine matches one pass");

    let mut group = c.benchmark_group("crc64nvme_combine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_8MiB_part", |bench| {
        bench.iter(|| crc64nvme_combine(black_box(crc_a), black_box(crc_b), black_box(PART as u64)));
    });
    group.throughput(Throughput::Elements(PARTS));
    group.bench_function("1280_parts_10GiB", |bench| {
        bench.iter(|| (0..PARTS).fold(crc_a, |whole, _| crc64nvme_combine(whole, black_box(crc_b), PART as u64)));
    });
    group.finish();
}

criterion_group!(benches, checksums, combine);
