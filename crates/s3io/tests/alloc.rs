//! Heap allocations on the small-download hot path (not a timing test).
//!
//! A counting global allocator counts every allocation made on the client's threads (the embedded
//! server runs in the same process on a runtime of its own, whose threads are not counted). After
//! warm-up, 100 downloads of a 1.2 MiB object into a reused buffer must allocate no payload buffer
//! (the buffer pool's `allocated` counter stays put, and no allocation is 1 MiB or larger) and at
//! most [`MAX_ALLOCATIONS_PER_DOWNLOAD`] heap allocations per download. A change that adds
//! allocations to the hot path fails here.

#![allow(unsafe_code)] // The counting allocator below must implement the unsafe GlobalAlloc trait.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use s3io::config::AddressingStyle;
use s3io::{Client, CredentialsSource};

/// The ceiling on the client's heap allocations per small download (request building, signing,
/// hyper's per-request state): the measured figure (139, steady over runs) plus a 10% margin, so
/// that a change adding a dozen allocations to the hot path fails here. Lower it when the hot path
/// allocates less; the test prints the measured figure. (It was 124 before every download was
/// verified: the first GET's `x-amz-checksum-mode` header costs 6 more in signing and headers,
/// checking a one-part object's MD5 — the expected and computed values, the output — the rest.)
const MAX_ALLOCATIONS_PER_DOWNLOAD: u64 = 153;

/// Any single allocation at least this large counts as a payload-sized allocation.
const LARGE_ALLOCATION: usize = 1024 * 1024;

struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LARGE_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the embedded server's threads, whose allocations are not the client's.
    static SERVER_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count(size: usize) {
    if COUNTING.load(Ordering::Relaxed) && !SERVER_THREAD.with(|s| s.get()) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
        if size >= LARGE_ALLOCATION {
            LARGE_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded with the caller's layout, which the caller guarantees is valid.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` was allocated by this allocator (i.e. System) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by System with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn small_downloads_allocate_no_payload_buffers_after_warm_up() {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| SERVER_THREAD.with(|s| s.set(true)))
        .enable_all()
        .build()
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = server_runtime.block_on(s3io_server::start(s3io_server::ServerConfig::new(root.path()))).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let client = Client::builder()
            .endpoint(server.endpoint_url())
            .region("us-east-1")
            .addressing_style(AddressingStyle::Path)
            .credentials(CredentialsSource::static_keys(
                s3io_server::DEFAULT_ACCESS_KEY,
                s3io_server::DEFAULT_SECRET_KEY,
            ))
            .build()
            .await
            .unwrap();
        client.create_bucket("alloc").await.unwrap();
        let data: Vec<u8> = (0..1_258_291u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        client.put_object("alloc", "small", Bytes::from(data.clone()), &Default::default()).await.unwrap();

        let mut buffer = BytesMut::new();
        for _ in 0..20 {
            let (filled, _) = client.download("alloc", "small").into_buffer(buffer).await.unwrap();
            buffer = filled;
        }
        let pool_before = client.buffer_pool().stats();
        ALLOCATIONS.store(0, Ordering::Relaxed);
        LARGE_ALLOCATIONS.store(0, Ordering::Relaxed);
        BYTES.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        const DOWNLOADS: u64 = 100;
        for _ in 0..DOWNLOADS {
            let (filled, _) = client.download("alloc", "small").into_buffer(buffer).await.unwrap();
            buffer = filled;
        }
        COUNTING.store(false, Ordering::Relaxed);
        assert!(buffer[..] == data[..]);
        let allocations = ALLOCATIONS.load(Ordering::Relaxed);
        let large = LARGE_ALLOCATIONS.load(Ordering::Relaxed);
        let per_download = allocations / DOWNLOADS;
        println!(
            "{DOWNLOADS} downloads of {} bytes: {allocations} allocations ({per_download} per download, \
             {} bytes per download), {large} of them >= 1 MiB",
            data.len(),
            BYTES.load(Ordering::Relaxed) / DOWNLOADS
        );
        assert_eq!(client.buffer_pool().stats().allocated, pool_before.allocated, "pool allocated after warm-up");
        assert_eq!(large, 0, "payload-sized allocations after warm-up");
        assert!(
            per_download <= MAX_ALLOCATIONS_PER_DOWNLOAD,
            "{per_download} allocations per download, ceiling {MAX_ALLOCATIONS_PER_DOWNLOAD}"
        );
    });
}
