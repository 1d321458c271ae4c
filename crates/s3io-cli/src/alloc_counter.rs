//! A global allocator that counts heap allocations, for `s3io bench`'s allocations-per-operation
//! figures. It forwards to the system allocator; the cost is one relaxed atomic add per call
//! (a release micro-benchmark of `Box::new` + drop, 2x9 runs on the shared 2-core machine at load
//! ~13, could not tell it from the system allocator: 18-23 ns per pair counted, 27-34 ns not, on one
//! thread; the contended counter is a cache line every allocating thread writes). The binary
//! installs it only when built with the `alloc-count` feature; without it [`allocations`] is
//! `None`.

#![allow(unsafe_code)] // GlobalAlloc is an unsafe trait; every method only forwards to System.

#[cfg(feature = "alloc-count")]
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The counting allocator.
#[cfg(feature = "alloc-count")]
pub(crate) struct CountingAllocator;

#[cfg(feature = "alloc-count")]
// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller guarantees `layout` is valid, as System requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, i.e. from System, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Heap allocations (including reallocations) so far; `None` when the binary does not count them
/// (built without the `alloc-count` feature).
pub(crate) fn allocations() -> Option<u64> {
    cfg!(feature = "alloc-count").then(|| ALLOCATIONS.load(Ordering::Relaxed))
}
