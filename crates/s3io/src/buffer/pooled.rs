//! [`PooledBuffer`]: a buffer of a [`BufferPool`]'s, holding its class-sized memory and the
//! capacity permit it counts against; written through its methods, lent out as a `BytesMut` or
//! frozen into `Bytes` without a copy, and given back to the pool when dropped (or when the last
//! clone of its `Bytes` is).

use bytes::{Bytes, BytesMut};
use tokio::sync::OwnedSemaphorePermit;

use super::pool::BufferPool;

/// A buffer from a [`BufferPool`]; goes back to the pool when dropped.
///
/// It takes at most the size it was asked for ([`PooledBuffer::capacity`]), though its memory may
/// be larger (its class). Its memory is initialised once, when the pool allocates it, and keeps
/// whatever bytes it last held: the content is the first `len` bytes, and filling it
/// ([`PooledBuffer::fill_slice`]) costs no zeroing pass per use.
pub struct PooledBuffer {
    /// The whole class-sized memory (`data.len() == class`), unless lent out by
    /// [`PooledBuffer::take_storage`].
    data: BytesMut,
    /// The size of the memory when whole.
    class: usize,
    /// The size asked for: the most content the buffer takes.
    size: usize,
    /// Bytes of content.
    len: usize,
    slot: Option<(OwnedSemaphorePermit, BufferPool)>,
}

impl std::fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBuffer")
            .field("len", &self.len)
            .field("capacity", &self.size)
            .field("class", &self.class)
            .finish()
    }
}

impl PooledBuffer {
    /// A buffer of `data`'s memory (`data.len()` is its class), empty, taking at most `size`
    /// bytes, holding `permit` until it goes back to `pool`.
    pub(super) fn new(data: BytesMut, size: usize, permit: OwnedSemaphorePermit, pool: BufferPool) -> Self {
        Self { class: data.len(), data, size, len: 0, slot: Some((permit, pool)) }
    }

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

    /// The most bytes the buffer takes: the size it was acquired for.
    pub fn capacity(&self) -> usize {
        self.size
    }

    /// Room left.
    pub fn remaining(&self) -> usize {
        self.size - self.len
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
        self.len = len.min(self.size);
        &mut self.data[..self.len]
    }

    /// Cuts the content to `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Lends out the buffer's first `capacity` bytes as a `BytesMut` of that length (its memory,
    /// not a copy; their content is whatever the buffer last held), for code that fills a
    /// `BytesMut` in place (the memory sink cuts it into per-part pieces). Hand it back with
    /// [`PooledBuffer::restore_storage`]; a buffer whose storage never comes back is freed, not
    /// reused, when dropped.
    pub(crate) fn take_storage(&mut self) -> BytesMut {
        let mut storage = std::mem::take(&mut self.data);
        // The class's tail beyond `size` stays here; `restore_storage` joins it up again (free
        // for adjacent pieces of one allocation).
        self.data = storage.split_off(self.size);
        storage
    }

    /// Takes back the storage [`PooledBuffer::take_storage`] lent, now holding `len` bytes of
    /// content at its start.
    pub(crate) fn restore_storage(&mut self, mut storage: BytesMut, len: usize) {
        let tail = std::mem::take(&mut self.data);
        storage.unsplit(tail);
        self.data = storage;
        self.len = len.min(self.size);
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
            pool.give_back(std::mem::take(&mut self.data), permit, self.class);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

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
    async fn lent_storage_comes_back_whole_and_frozen_bytes_return_it() {
        let pool = BufferPool::new(1024 * KIB as u64);
        let mut buffer = pool.acquire(100 * KIB).await.unwrap();
        let mut storage = buffer.take_storage();
        assert_eq!(storage.len(), 100 * KIB);
        storage[..5].copy_from_slice(b"hello");
        let tail = storage.split_off(50 * KIB);
        storage.unsplit(tail);
        buffer.restore_storage(storage, 5);
        assert_eq!(buffer.as_slice(), b"hello");
        let bytes = buffer.freeze();
        drop(bytes);
        let stats = pool.stats();
        assert_eq!((stats.in_use_bytes, stats.idle_bytes), (0, 104 * KIB as u64), "{stats:?}");
        let again = pool.acquire(100 * KIB).await.unwrap();
        assert_eq!(pool.stats().reused, 1);
        drop(again);
        // Storage that never comes back: the buffer is freed, not reused.
        let mut lost = pool.acquire(100 * KIB).await.unwrap();
        drop(lost.take_storage());
        drop(lost);
        let stats = pool.stats();
        assert_eq!((stats.in_use_bytes, stats.idle_bytes), (0, 0), "{stats:?}");
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
