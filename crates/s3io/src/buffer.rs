//! The capped buffer pool.
//!
//! Every payload byte s3io holds in memory (a part waiting to be written in order, an upload part
//! read from a stream) lives in a buffer from the client's [`BufferPool`]. Buffers are of fixed
//! sizes (normally the part size); a buffer handed back is kept on a free list and handed out
//! again, so in steady state no payload buffer is allocated at all.
//!
//! The pool caps the bytes held out at once (the memory limit). [`BufferPool::acquire`] waits
//! when the cap is reached — back-pressure instead of an unbounded queue — and a
//! [`PooledBuffer`] gives its bytes back when dropped, or after [`PooledBuffer::freeze`] when the
//! last clone of the resulting `Bytes` is dropped (`Bytes::from_owner`, no copy). Idle buffers on
//! the free lists count against the cap too, so the pool never holds more than the limit; when a
//! request for one size finds the cap taken by idle buffers of another size, those are freed.
//!
//! Counters ([`PoolStats`]) report acquisitions, reuses, fresh allocations, time spent waiting and
//! the high-water mark of bytes held out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Capacity is counted in units of this many bytes, so a `u32` permit count covers 4 TiB.
const UNIT: u64 = 1024;

/// Counters of a [`BufferPool`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Buffers handed out.
    pub acquired: u64,
    /// Of those, buffers that came from the free list.
    pub reused: u64,
    /// Of those, buffers freshly allocated.
    pub allocated: u64,
    /// Total time callers waited for capacity.
    pub waited: Duration,
    /// Most bytes ever held out (in use) at once.
    pub high_water_bytes: u64,
    /// Bytes held out now.
    pub in_use_bytes: u64,
}

impl PoolStats {
    /// The share of acquisitions served by reuse, 0 to 1.
    pub fn reuse_rate(&self) -> f64 {
        if self.acquired == 0 {
            0.0
        } else {
            self.reused as f64 / self.acquired as f64
        }
    }
}

#[derive(Default)]
struct Counters {
    acquired: AtomicU64,
    reused: AtomicU64,
    allocated: AtomicU64,
    waited_nanos: AtomicU64,
    in_use: AtomicU64,
    high_water: AtomicU64,
}

/// An idle buffer on a free list and the capacity it holds.
type IdleBuffer = (Vec<u8>, OwnedSemaphorePermit);

struct PoolInner {
    limit: u64,
    /// Permits of `UNIT` bytes: in-use buffers and idle buffers on the free lists hold them.
    capacity: Arc<Semaphore>,
    /// Idle buffers by size, each with the permit it holds.
    free: Mutex<HashMap<usize, Vec<IdleBuffer>>>,
    /// Woken when a buffer comes back or capacity is freed.
    returned: Notify,
    counters: Counters,
}

/// A pool of fixed-size payload buffers with a hard cap on the bytes it hands out.
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
                free: Mutex::new(HashMap::new()),
                returned: Notify::new(),
                counters: Counters::default(),
            }),
        }
    }

    /// The cap, in bytes.
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    /// A buffer of `size` bytes (zero length, `size` capacity), waiting while the cap is reached.
    pub async fn acquire(&self, size: usize) -> Result<PooledBuffer> {
        let needed = units(size as u64);
        if needed > units(self.inner.limit) || needed > u32::MAX as u64 {
            return Err(Error::InvalidConfig(format!(
                "a {size}-byte buffer does not fit in the {}-byte memory limit",
                self.inner.limit
            )));
        }
        let counters = &self.inner.counters;
        counters.acquired.fetch_add(1, Ordering::Relaxed);
        if let Some((data, permit)) = self.take_free(size) {
            counters.reused.fetch_add(1, Ordering::Relaxed);
            return Ok(self.hand_out(data, permit, size));
        }
        let started = Instant::now();
        let mut waited = false;
        let permit = loop {
            // Register for "a buffer came back" before looking, so no return is missed.
            let returned = self.inner.returned.notified();
            tokio::pin!(returned);
            returned.as_mut().enable();
            if let Some((data, permit)) = self.take_free(size) {
                counters.reused.fetch_add(1, Ordering::Relaxed);
                if waited {
                    counters.waited_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                return Ok(self.hand_out(data, permit, size));
            }
            if let Ok(permit) = self.inner.capacity.clone().try_acquire_many_owned(needed as u32) {
                break permit;
            }
            // Idle buffers of other sizes may be holding the capacity: free them first.
            if self.evict_idle(size) {
                continue;
            }
            waited = true;
            returned.await;
        };
        if waited {
            counters.waited_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        counters.allocated.fetch_add(1, Ordering::Relaxed);
        // Zeroed once, by the allocator (calloc: fresh pages from the OS come zeroed and count in
        // RSS only once written); reuses never zero it again.
        Ok(self.hand_out(vec![0; size], permit, size))
    }

    fn hand_out(&self, data: Vec<u8>, permit: OwnedSemaphorePermit, size: usize) -> PooledBuffer {
        let counters = &self.inner.counters;
        let in_use = counters.in_use.fetch_add(size as u64, Ordering::Relaxed) + size as u64;
        counters.high_water.fetch_max(in_use, Ordering::Relaxed);
        PooledBuffer { data, len: 0, slot: Some((permit, self.clone())) }
    }

    fn take_free(&self, size: usize) -> Option<(Vec<u8>, OwnedSemaphorePermit)> {
        self.inner.free.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&size)?.pop()
    }

    /// Frees idle buffers of sizes other than `keep`; `true` if any were freed.
    fn evict_idle(&self, keep: usize) -> bool {
        let mut free = self.inner.free.lock().unwrap_or_else(|p| p.into_inner());
        let mut freed = false;
        for (size, list) in free.iter_mut() {
            if *size != keep && !list.is_empty() {
                list.clear();
                freed = true;
            }
        }
        drop(free);
        if freed {
            self.inner.returned.notify_waiters();
        }
        freed
    }

    fn give_back(&self, data: Vec<u8>, permit: OwnedSemaphorePermit, size: usize) {
        self.inner.counters.in_use.fetch_sub(size as u64, Ordering::Relaxed);
        self.inner.free.lock().unwrap_or_else(|p| p.into_inner()).entry(size).or_default().push((data, permit));
        self.inner.returned.notify_waiters();
    }

    /// Frees every idle buffer (in-use ones are freed when they come back).
    pub fn trim(&self) {
        self.inner.free.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.inner.returned.notify_waiters();
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        let c = &self.inner.counters;
        PoolStats {
            acquired: c.acquired.load(Ordering::Relaxed),
            reused: c.reused.load(Ordering::Relaxed),
            allocated: c.allocated.load(Ordering::Relaxed),
            waited: Duration::from_nanos(c.waited_nanos.load(Ordering::Relaxed)),
            high_water_bytes: c.high_water.load(Ordering::Relaxed),
            in_use_bytes: c.in_use.load(Ordering::Relaxed),
        }
    }
}

/// A buffer from a [`BufferPool`]; goes back to the pool when dropped.
///
/// Its memory is initialised once, when the pool allocates it, and keeps whatever bytes it last
/// held: the content is the first `len` bytes, and filling it ([`PooledBuffer::fill_slice`])
/// costs no zeroing pass per use.
pub struct PooledBuffer {
    /// The whole allocation: `data.len()` is the buffer's fixed size.
    data: Vec<u8>,
    /// Bytes of content.
    len: usize,
    slot: Option<(OwnedSemaphorePermit, BufferPool)>,
}

impl std::fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBuffer").field("len", &self.len).field("capacity", &self.data.len()).finish()
    }
}

impl PooledBuffer {
    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer's fixed capacity.
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Room left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.len
    }

    /// Appends as much of `bytes` as fits; returns how much was taken.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> usize {
        let take = bytes.len().min(self.remaining());
        self.data[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        take
    }

    /// Empties the buffer, keeping its memory.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Makes the content `len` bytes (at most the capacity) and returns it mutably, for
    /// `read`-style fills. The content already there is kept; bytes beyond it hold whatever the
    /// buffer held before (not zeroes), so the caller overwrites every byte it keeps.
    pub fn fill_slice(&mut self, len: usize) -> &mut [u8] {
        self.len = len.min(self.data.len());
        &mut self.data[..self.len]
    }

    /// Cuts the content to `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Turns the buffer into `Bytes` without a copy; the memory returns to the pool when the last
    /// clone is dropped.
    pub fn freeze(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for PooledBuffer {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some((permit, pool)) = self.slot.take() {
            let size = self.data.len();
            pool.give_back(std::mem::take(&mut self.data), permit, size);
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
    }

    #[test]
    fn extend_stops_at_capacity() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let pool = BufferPool::new(4 * KIB as u64);
        let mut buffer = rt.block_on(pool.acquire(4)).unwrap();
        assert_eq!(buffer.extend_from_slice(b"abcdef"), 4);
        assert_eq!(buffer.as_slice(), b"abcd");
        assert_eq!(buffer.remaining(), 0);
    }

    #[tokio::test]
    async fn reused_buffers_come_back_empty_and_fill_keeps_the_content() {
        let pool = BufferPool::new(64 * KIB as u64);
        let mut buffer = pool.acquire(64 * KIB).await.unwrap();
        buffer.extend_from_slice(b"abc");
        let slice = buffer.fill_slice(5);
        assert_eq!(&slice[..3], b"abc");
        slice[3..].copy_from_slice(b"de");
        assert_eq!(buffer.as_slice(), b"abcde");
        buffer.truncate(2);
        assert_eq!(buffer.as_slice(), b"ab");
        assert_eq!(buffer.fill_slice(100 * KIB).len(), 64 * KIB, "fill stops at the capacity");
        drop(buffer);
        let again = pool.acquire(64 * KIB).await.unwrap();
        assert!(again.is_empty() && again.as_slice().is_empty());
        assert_eq!(again.remaining(), 64 * KIB);
    }
}
