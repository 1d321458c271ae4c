//! Download range planning: the plan of a 1 GiB and of a 5 TiB object at 8 MiB parts, and
//! every part's byte range.

use std::hint::black_box;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use s3io::bench_support::DownloadPlan;

const PART: u64 = 8 * 1024 * 1024;
const GIB: u64 = 1024 * 1024 * 1024;

/// Plans the download and walks every range; returns the bytes covered.
fn plan_and_walk(size: u64, part_size: u64) -> u64 {
    let plan = DownloadPlan::new(size, part_size);
    let mut covered = 0;
    for index in 0..plan.part_count() {
        let (start, end) = black_box(plan.part_range(index));
        covered += end - start;
    }
    covered
}

fn range_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("range_plan/8MiB_parts");
    for (name, size) in [("1GiB", GIB), ("5TiB", 5 * 1024 * GIB)] {
        assert_eq!(plan_and_walk(size, PART), size, "the ranges cover the object");
        group.throughput(Throughput::Elements(size.div_ceil(PART)));
        group.bench_with_input(BenchmarkId::from_parameter(name), &size, |b, &size| {
            b.iter(|| plan_and_walk(black_box(size), black_box(PART)));
        });
    }
    group.finish();
}

criterion_group!(benches, range_plan);
