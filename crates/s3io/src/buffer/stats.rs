//! What a [`BufferPool`] reports: [`PoolStats`], a snapshot of its counters, with one
//! [`ClassStats`] per size class asked for.

use std::time::Duration;

#[cfg(doc)]
use super::BufferPool;

/// Counters of a [`BufferPool`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Buffers handed out.
    pub acquired: u64,
    /// Of those, buffers that came from a free list (of their own class or a larger one).
    pub reused: u64,
    /// Of those, buffers freshly allocated.
    pub allocated: u64,
    /// Total time callers waited for capacity.
    pub waited: Duration,
    /// Most bytes ever held out (in use) at once, counted at class size.
    pub high_water_bytes: u64,
    /// Bytes held out now, counted at class size.
    pub in_use_bytes: u64,
    /// Bytes of idle buffers on the free lists now.
    pub idle_bytes: u64,
    /// The same counters per size class asked for, smallest class first; only classes that were
    /// ever asked for.
    pub classes: Vec<ClassStats>,
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

/// Counters of one size class of a [`BufferPool`]: the requests whose size falls in the class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassStats {
    /// The class's buffer size, in bytes.
    pub size: usize,
    /// Buffers handed out for requests of this class.
    pub acquired: u64,
    /// Of those, reused: an idle buffer of this class or of a larger one.
    pub reused: u64,
    /// Of those, freshly allocated.
    pub allocated: u64,
    /// Idle buffers of this class on its free list now.
    pub idle: usize,
}

impl ClassStats {
    /// The share of this class's acquisitions served by reuse, 0 to 1.
    pub fn reuse_rate(&self) -> f64 {
        if self.acquired == 0 {
            0.0
        } else {
            self.reused as f64 / self.acquired as f64
        }
    }
}
