//! The capped, size-classed buffer pool.
//!
//! Every payload byte s3io holds in memory (a part waiting to be written in order, an upload part
//! read from a stream, an object downloaded with [`Download::to_bytes`]) lives in a buffer from the
//! client's [`BufferPool`]. A buffer handed back is kept on a free list and handed out again, so in
//! steady state no payload buffer is allocated at all, whatever the sizes asked for.
//!
//! **Size classes.** A request for `size` bytes is served by a buffer of its *class*
//! ([`BufferPool::class_size`]): [`MIN_CLASS_SIZE`] (4 KiB) for anything up to that, above it
//! the next of [`CLASSES_PER_DOUBLING`] (eight) evenly spaced sizes per power of two (1 MiB,
//! 1.125 MiB, 1.25 MiB, …, 2 MiB, 2.25 MiB, …). Powers of two and the common part sizes (5 MiB,
//! 8 MiB, 16 MiB) are classes themselves. **Waste bound:** a class is at most 1/8 above the one
//! below it, so from 4 KiB up a buffer holds at most 12.5% more bytes than were asked for (a pool
//! whose cap is below a request's class gives it a buffer of the cap's size instead). A
//! request takes an idle buffer of its own class, or else the smallest idle buffer of a larger
//! class (memory the pool holds already: no allocation), and only when neither is idle allocates
//! a buffer of its class. So objects of every size, and every object's short last part, reuse the
//! buffers of earlier ones.
//!
//! **One cap, back-pressure.** The pool caps the bytes it holds, counted at class size (the memory
//! really held): buffers in use and idle buffers on the free lists alike, so it never holds more
//! than the limit. [`BufferPool::acquire`] waits when the cap is reached — back-pressure instead
//! of an unbounded queue — and a [`PooledBuffer`] gives its bytes back when dropped, or after
//! [`PooledBuffer::freeze`] when the last clone of the resulting `Bytes` is dropped
//! (`Bytes::from_owner`, no copy). When a request finds the cap taken partly by idle buffers too
//! small for it, those are freed, smallest first, until its buffer fits.
//!
//! Counters ([`PoolStats`]) report acquisitions, reuses, fresh allocations, time spent waiting, the
//! bytes held and their high-water mark, and the same per size class ([`ClassStats`]).
//!
//! The module is split by concept: the pool and its size classes (`pool`), the buffer it hands
//! out (`pooled`) and the counters it reports (`stats`).
//!
//! [`Download::to_bytes`]: crate::Download::to_bytes

mod pool;
mod pooled;
mod stats;

pub use pool::BufferPool;
pub use pooled::PooledBuffer;
pub use stats::{ClassStats, PoolStats};

/// The smallest size class, in bytes: 4 KiB (a page). A request for fewer bytes gets a buffer of
/// this size (the waste bound holds from here up).
pub const MIN_CLASS_SIZE: usize = 4 * 1024;

/// Size classes per power of two: eight, evenly spaced, so a buffer holds at most 12.5% more
/// bytes than were asked for (from [`MIN_CLASS_SIZE`] up).
pub const CLASSES_PER_DOUBLING: usize = 8;
