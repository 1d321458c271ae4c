//! [`BufferPool`]: the free lists by size class, the cap on the bytes held (a semaphore of
//! [`UNIT`]-byte permits that in-use and idle buffers hold alike), and the acquisition path —
//! reuse an idle buffer of the class or a larger one, else free idle buffers too small for the
//! request and allocate, else wait for a buffer to come back; see the
//! [module documentation](super).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::pooled::PooledBuffer;
use super::stats::{ClassStats, PoolStats};
use super::{CLASSES_PER_DOUBLING, MIN_CLASS_SIZE};
use crate::error::{Error, Result};

/// Capacity is counted in units of this many bytes, so a `u32` permit count covers 4 TiB.
const UNIT: u64 = 1024;

#[derive(Default)]
struct Counters {
    acquired: AtomicU64,
    reused: AtomicU64,
    allocated: AtomicU64,
    waited_nanos: AtomicU64,
    in_use: AtomicU64,
    high_water: AtomicU64,
    idle: AtomicU64,
}

/// An idle buffer on a free list (its whole class-sized memory) and the capacity it holds.
type IdleBuffer = (BytesMut, OwnedSemaphorePermit);

/// One size class: its free list and its counters.
#[derive(Default)]
struct Class {
    idle: Vec<IdleBuffer>,
    reused: u64,
    allocated: u64,
}

struct PoolInner {
    limit: u64,
    /// Permits of `UNIT` bytes: in-use buffers and idle buffers on the free lists hold them.
    capacity: Arc<Semaphore>,
    /// The size classes, by class size.
    classes: Mutex<BTreeMap<usize, Class>>,
    /// Woken when a buffer comes back or capacity is freed.
    returned: Notify,
    counters: Counters,
}

/// A pool of size-classed payload buffers with a hard cap on the bytes it holds.
///
/// Cheap to clone; clones share the buffers and the cap.
#[derive(Clone)]
pub struct BufferPool {
    inner: Arc<PoolInner>,
}

impl std::fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferPool").field("limit", &self.inner.limit).field("stats", &self.stats()).finish()
    }
}

fn units(bytes: u64) -> u64 {
    bytes.div_ceil(UNIT)
}

impl BufferPool {
    /// A pool that holds at most `limit` bytes of buffers.
    pub fn new(limit: u64) -> Self {
        let permits = units(limit).min(Semaphore::MAX_PERMITS as u64) as usize;
        Self {
            inner: Arc::new(PoolInner {
                limit,
                capacity: Arc::new(Semaphore::new(permits)),
                classes: Mutex::new(BTreeMap::new()),
                returned: Notify::new(),
                counters: Counters::default(),
            }),
        }
    }

    /// The cap, in bytes.
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    /// The size of the buffer that serves a request for `size` bytes: [`MIN_CLASS_SIZE`] up to
    /// that, above it `size` rounded up to the next of [`CLASSES_PER_DOUBLING`] evenly spaced
    /// sizes per power of two (so at most 12.5% more than `size`).
    pub fn class_size(size: usize) -> usize {
        if size <= MIN_CLASS_SIZE {
            return MIN_CLASS_SIZE;
        }
        // The power of two at or below `size`, and the spacing of classes above it.
        let floor = 1usize << (usize::BITS - 1 - size.leading_zeros());
        let step = floor / CLASSES_PER_DOUBLING;
        (size - floor).div_ceil(step) * step + floor
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<usize, Class>> {
        self.inner.classes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A buffer for `size` bytes (zero length, room for `size`), waiting while the cap is
    /// reached. Its memory is of `size`'s class ([`BufferPool::class_size`]) or, when reused, of a
    /// larger one.
    pub async fn acquire(&self, size: usize) -> Result<PooledBuffer> {
        // A class above a small pool's cap: the cap's size (still at least `size`, or refused).
        let class = Self::class_size(size).min(self.inner.limit.min(usize::MAX as u64) as usize).max(size);
        let needed = units(class as u64);
        if needed > units(self.inner.limit) || needed > u32::MAX as u64 {
            return Err(Error::InvalidConfig(format!(
                "a {size}-byte buffer does not fit in the {}-byte memory limit",
                self.inner.limit
            )));
        }
        let counters = &self.inner.counters;
        counters.acquired.fetch_add(1, Ordering::Relaxed);
        if let Some(buffer) = self.reuse(class, size) {
            return Ok(buffer);
        }
        let started = Instant::now();
        let mut waited = false;
        let permit = loop {
            // Register for "a buffer came back" before looking, so no return is missed.
            let returned = self.inner.returned.notified();
            tokio::pin!(returned);
            returned.as_mut().enable();
            if let Some(buffer) = self.reuse(class, size) {
                if waited {
                    counters.waited_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                return Ok(buffer);
            }
            if let Ok(permit) = self.inner.capacity.clone().try_acquire_many_owned(needed as u32) {
                break permit;
            }
            // Idle buffers too small for this request may be holding the capacity: free one.
            if self.evict_smallest_idle() {
                continue;
            }
            waited = true;
            returned.await;
        };
        if waited {
            counters.waited_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        counters.allocated.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(class).or_default().allocated += 1;
        // Zeroed once, by the allocator (calloc: fresh pages from the OS come zeroed and count in
        // RSS only once written); reuses never zero it again.
        Ok(self.hand_out(BytesMut::zeroed(class), permit, size))
    }

    /// An idle buffer of `class` or, failing that, the smallest idle one of a larger class.
    fn reuse(&self, class: usize, size: usize) -> Option<PooledBuffer> {
        let mut classes = self.lock();
        let (data, permit) = classes.range_mut(class..).find_map(|(_, c)| c.idle.pop())?;
        classes.entry(class).or_default().reused += 1;
        drop(classes);
        let counters = &self.inner.counters;
        counters.reused.fetch_add(1, Ordering::Relaxed);
        counters.idle.fetch_sub(data.len() as u64, Ordering::Relaxed);
        Some(self.hand_out(data, permit, size))
    }

    fn hand_out(&self, data: BytesMut, permit: OwnedSemaphorePermit, size: usize) -> PooledBuffer {
        let class = data.len();
        let counters = &self.inner.counters;
        let in_use = counters.in_use.fetch_add(class as u64, Ordering::Relaxed) + class as u64;
        counters.high_water.fetch_max(in_use, Ordering::Relaxed);
        PooledBuffer::new(data, size, permit, self.clone())
    }

    /// Frees the smallest idle buffer; `true` if there was one.
    fn evict_smallest_idle(&self) -> bool {
        let mut classes = self.lock();
        let Some(evicted) = classes.values_mut().find_map(|c| c.idle.pop()) else { return false };
        drop(classes);
        self.inner.counters.idle.fetch_sub(evicted.0.len() as u64, Ordering::Relaxed);
        drop(evicted);
        self.inner.returned.notify_waiters();
        true
    }

    /// Puts a buffer back on its class's free list, or frees it when its memory did not come back
    /// whole (`data.len() != class`).
    pub(super) fn give_back(&self, data: BytesMut, permit: OwnedSemaphorePermit, class: usize) {
        let counters = &self.inner.counters;
        counters.in_use.fetch_sub(class as u64, Ordering::Relaxed);
        if data.len() == class {
            counters.idle.fetch_add(class as u64, Ordering::Relaxed);
            self.lock().entry(class).or_default().idle.push((data, permit));
        } else {
            drop((data, permit));
        }
        self.inner.returned.notify_waiters();
    }

    /// Frees every idle buffer (in-use ones are freed when they come back).
    pub fn trim(&self) {
        let mut classes = self.lock();
        let idle: Vec<Vec<IdleBuffer>> = classes.values_mut().map(|c| std::mem::take(&mut c.idle)).collect();
        drop(classes);
        let freed: u64 = idle.iter().flatten().map(|(data, _)| data.len() as u64).sum();
        self.inner.counters.idle.fetch_sub(freed, Ordering::Relaxed);
        drop(idle);
        self.inner.returned.notify_waiters();
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        let c = &self.inner.counters;
        let classes = self
            .lock()
            .iter()
            .filter(|(_, class)| class.reused + class.allocated > 0)
            .map(|(&size, class)| ClassStats {
                size,
                acquired: class.reused + class.allocated,
                reused: class.reused,
                allocated: class.allocated,
                idle: class.idle.len(),
            })
            .collect();
        PoolStats {
            acquired: c.acquired.load(Ordering::Relaxed),
            reused: c.reused.load(Ordering::Relaxed),
            allocated: c.allocated.load(Ordering::Relaxed),
            waited: Duration::from_nanos(c.waited_nanos.load(Ordering::Relaxed)),
            high_water_bytes: c.high_water.load(Ordering::Relaxed),
            in_use_bytes: c.in_use.load(Ordering::Relaxed),
            idle_bytes: c.idle.load(Ordering::Relaxed),
            classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    #[tokio::test]
    async fn reuses_returned_buffers() {
        let pool = BufferPool::new(4 * 64 * KIB as u64);
        for _ in 0..100 {
            let mut a = pool.acquire(64 * KIB).await.unwrap();
            a.extend_from_slice(&[1; 100]);
            let b = pool.acquire(64 * KIB).await.unwrap();
            drop((a, b));
        }
        let stats = pool.stats();
        assert_eq!(stats.acquired, 200);
        assert_eq!(stats.allocated, 2);
        assert_eq!(stats.reused, 198);
        assert_eq!(stats.high_water_bytes, 128 * KIB as u64);
        assert_eq!(stats.in_use_bytes, 0);
    }

    #[tokio::test]
    async fn waits_at_the_cap_and_resumes_on_release() {
        let pool = BufferPool::new(2 * 64 * KIB as u64);
        let a = pool.acquire(64 * KIB).await.unwrap();
        let _b = pool.acquire(64 * KIB).await.unwrap();
        let blocked = tokio::time::timeout(Duration::from_millis(50), pool.acquire(64 * KIB)).await;
        assert!(blocked.is_err(), "a third buffer was handed out beyond the cap");
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire(64 * KIB).await.map(|b| b.capacity()) })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(a);
        let got = tokio::time::timeout(Duration::from_secs(1), waiter).await.unwrap().unwrap().unwrap();
        assert_eq!(got, 64 * KIB);
        assert!(pool.stats().high_water_bytes <= 2 * 64 * KIB as u64);
        assert!(pool.stats().waited > Duration::ZERO);
    }

    #[tokio::test]
    async fn frozen_bytes_return_when_last_clone_drops() {
        let pool = BufferPool::new(64 * KIB as u64);
        let mut buffer = pool.acquire(64 * KIB).await.unwrap();
        buffer.extend_from_slice(b"hello");
        let bytes = buffer.freeze();
        let clone = bytes.clone();
        assert_eq!(&clone[..], b"hello");
        drop(bytes);
        assert_eq!(pool.stats().in_use_bytes, 64 * KIB as u64);
        drop(clone);
        assert_eq!(pool.stats().in_use_bytes, 0);
        let again = pool.acquire(64 * KIB).await.unwrap();
        assert!(again.is_empty());
        assert_eq!(pool.stats().reused, 1);
    }

    #[tokio::test]
    async fn idle_buffers_of_another_size_are_evicted_for_capacity() {
        let pool = BufferPool::new(128 * KIB as u64);
        drop(pool.acquire(128 * KIB).await.unwrap());
        let small = tokio::time::timeout(Duration::from_secs(1), pool.acquire(64 * KIB)).await.unwrap().unwrap();
        assert_eq!(small.capacity(), 64 * KIB);
    }

    #[tokio::test]
    async fn rejects_buffers_larger_than_the_cap() {
        let pool = BufferPool::new(64 * KIB as u64);
        assert!(pool.acquire(65 * KIB).await.is_err());
        // A request whose class is above the cap, but not the request itself: a buffer of the cap.
        let small = BufferPool::new(100 * KIB as u64);
        let buffer = small.acquire(99 * KIB).await.unwrap();
        assert_eq!(buffer.capacity(), 99 * KIB);
        assert_eq!(small.stats().in_use_bytes, 100 * KIB as u64);
    }

    #[test]
    fn class_sizes_keep_the_waste_bound() {
        const MIB: usize = 1024 * KIB;
        let table = [
            (0, 4 * KIB),
            (1, 4 * KIB),
            (4 * KIB + 1, 4 * KIB + 512),
            (64 * KIB, 64 * KIB),
            (64 * KIB + 1, 72 * KIB),
            (100 * KIB, 104 * KIB),
            (MIB, MIB),
            (1_258_291, MIB + MIB / 4),
            (5 * MIB, 5 * MIB),
            (8 * MIB, 8 * MIB),
            (8 * MIB + 1, 9 * MIB),
            (16 * MIB, 16 * MIB),
        ];
        for (size, class) in table {
            assert_eq!(BufferPool::class_size(size), class, "class of {size}");
        }
        // Every size from the smallest class to 64 MiB (sampled): the class holds the size, is at
        // most 1/8 more, never shrinks as the size grows, and is a fixed point.
        let mut last = 0;
        let mut size = MIN_CLASS_SIZE;
        while size <= 64 * MIB {
            let class = BufferPool::class_size(size);
            assert!(class >= size && class as f64 <= size as f64 * 1.125, "{size} -> {class}");
            assert!(class >= last, "classes shrink at {size}");
            assert_eq!(BufferPool::class_size(class), class, "{class} is not a class");
            last = class;
            size += 4093;
        }
    }

    #[tokio::test]
    async fn mixed_sizes_reuse_larger_idle_buffers_and_count_per_class() {
        let pool = BufferPool::new(4 * 1024 * KIB as u64);
        // Warm-up: one buffer of each of two classes.
        drop((pool.acquire(1000 * KIB).await.unwrap(), pool.acquire(300 * KIB).await.unwrap()));
        let warm = pool.stats();
        assert_eq!(warm.allocated, 2);
        // Sizes that fall in many classes, each at most 1000 KiB, two at a time: the two idle
        // buffers serve all of them (a request takes the smallest idle buffer that fits).
        for i in 0..100usize {
            let a = pool.acquire(100 * KIB + i * 9 * KIB).await.unwrap();
            let b = pool.acquire(90 * KIB + i * 2 * KIB).await.unwrap();
            assert!(a.capacity() >= 100 * KIB && b.capacity() >= 90 * KIB);
            drop((a, b));
        }
        let stats = pool.stats();
        assert_eq!(stats.allocated, 2, "no allocation after warm-up: {stats:?}");
        assert_eq!(stats.reused, 200);
        assert_eq!(stats.in_use_bytes, 0);
        assert_eq!(stats.idle_bytes, (BufferPool::class_size(1000 * KIB) + BufferPool::class_size(300 * KIB)) as u64);
        let per_class: u64 = stats.classes.iter().map(|c| c.acquired).sum();
        assert_eq!(per_class, stats.acquired);
        assert!(stats.classes.len() > 10, "sizes spread over many classes: {:?}", stats.classes);
        assert!(stats.classes.iter().all(|c| c.acquired == c.reused + c.allocated));
    }

    #[tokio::test]
    async fn idle_buffers_too_small_are_freed_smallest_first_at_the_cap() {
        let pool = BufferPool::new(256 * KIB as u64);
        drop((pool.acquire(64 * KIB).await.unwrap(), pool.acquire(128 * KIB).await.unwrap()));
        assert_eq!(pool.stats().idle_bytes, 192 * KIB as u64);
        // 192 KiB: nothing idle is large enough, and 64 KiB of capacity is free; freeing the
        // 64 KiB buffer is not enough, freeing the 128 KiB one too is.
        let big = tokio::time::timeout(Duration::from_secs(1), pool.acquire(192 * KIB)).await.unwrap().unwrap();
        assert_eq!(big.capacity(), 192 * KIB);
        let stats = pool.stats();
        assert_eq!(stats.idle_bytes, 0);
        assert_eq!(stats.in_use_bytes, 192 * KIB as u64);
        drop(big);
        // 100 KiB comes from the idle 192 KiB buffer: memory held already, no allocation.
        let small = pool.acquire(100 * KIB).await.unwrap();
        assert_eq!(pool.stats().allocated, 3);
        assert_eq!(small.capacity(), 100 * KIB);
    }
}
