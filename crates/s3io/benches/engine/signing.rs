//! SigV4 signing of a ranged GetObject request with static credentials (no network).

use std::hint::black_box;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use s3io::bench_support::GetObjectSigner;

const HOST: &str = "s3.us-east-1.amazonaws.com";
const BUCKET: &str = "bench-bucket";
const KEY: &str = "datasets/2024/06/part-00017-of-00064.parquet";
const RANGE: (u64, u64) = (8 * 1024 * 1024 * 17, 8 * 1024 * 1024 * 18);

fn signing(c: &mut Criterion) {
    let signer = GetObjectSigner::new();
    let mut group = c.benchmark_group("signing");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign_get_object", |b| {
        b.iter_batched_ref(
            || signer.request(HOST, BUCKET, KEY, RANGE.0, RANGE.1),
            |request| signer.sign(black_box(request)).expect("signs"),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("build_and_sign_get_object", |b| {
        b.iter(|| {
            let mut request = signer.request(HOST, BUCKET, KEY, black_box(RANGE.0), black_box(RANGE.1));
            signer.sign(&mut request).expect("signs");
            request
        });
    });
    group.finish();
}

criterion_group!(benches, signing);
