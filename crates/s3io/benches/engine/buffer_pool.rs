//! `BufferPool` acquire/release: uncontended on one thread, and contended by 8 tasks on a
//! multi-thread runtime sharing a pool capped below what they want at once.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use s3io::BufferPool;

/// The default part size: the buffer size the engines acquire.
const PART: usize = 8 * 1024 * 1024;
/// Tasks sharing the pool in the contended cases.
const TASKS: u64 = 8;

fn uncontended(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let pool = BufferPool::new(4 * PART as u64);
    let mut group = c.benchmark_group("buffer_pool/uncontended");
    group.throughput(Throughput::Elements(1));
    group.bench_function("acquire_release_8MiB", |b| {
        b.to_async(&runtime).iter(|| async {
            let buffer = pool.acquire(black_box(PART)).await.expect("fits the limit");
            drop(black_box(buffer));
        });
    });
    group.bench_function("acquire_freeze_release_8MiB", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut buffer = pool.acquire(black_box(PART)).await.expect("fits the limit");
            buffer.extend_from_slice(b"payload");
            drop(black_box(buffer.freeze()));
        });
    });
    group.finish();
    // One buffer serves every iteration (in test mode each benchmark runs once, so the reuse
    // rate alone says little): the pool allocated it once and reused it ever after.
    let stats = pool.stats();
    assert_eq!(stats.allocated, 1, "steady state reuses buffers: {stats:?}");
    assert_eq!(stats.reused, stats.acquired - 1, "steady state reuses buffers: {stats:?}");
}

/// `TASKS` tasks each acquire a part buffer, hold it across a yield (so the others run while
/// it is held), and release it; `iters` acquisitions in all. Returns the wall time.
fn run_contended(runtime: &tokio::runtime::Runtime, pool: &BufferPool, iters: u64) -> Duration {
    let per_task = iters.div_ceil(TASKS);
    runtime.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        let buffer = pool.acquire(PART).await.expect("fits the limit");
                        tokio::task::yield_now().await;
                        drop(black_box(buffer));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        started.elapsed()
    })
}

fn contended(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let mut group = c.benchmark_group("buffer_pool/8_tasks");
    group.throughput(Throughput::Elements(1));
    // Room for half the tasks' buffers: every other acquisition waits for a release.
    let capped = BufferPool::new(TASKS / 2 * PART as u64);
    group.bench_function("cap_4_of_8_buffers", |b| b.iter_custom(|iters| run_contended(&runtime, &capped, iters)));
    // Room for all: contention on the free list only, never a wait.
    let roomy = BufferPool::new(TASKS * PART as u64);
    group.bench_function("cap_8_of_8_buffers", |b| b.iter_custom(|iters| run_contended(&runtime, &roomy, iters)));
    group.finish();
    let stats = capped.stats();
    assert!(stats.high_water_bytes <= capped.limit(), "the cap holds: {stats:?}");
}

criterion_group!(benches, uncontended, contended);
