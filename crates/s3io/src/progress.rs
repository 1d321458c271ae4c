//! Transfer progress, observable from another task.
//!
//! A [`Progress`] is shared (`Arc`) between a transfer and whoever watches it (a progress bar, a
//! service's metrics). The transfer adds bytes as they arrive or leave; the watcher reads the
//! counters at any time without locking.

use std::sync::atomic::{AtomicU64, Ordering};

/// Sentinel for "total not known yet".
const UNKNOWN: u64 = u64::MAX;

/// Bytes done and bytes in total of one or more transfers.
#[derive(Debug)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Self { done: AtomicU64::new(0), total: AtomicU64::new(UNKNOWN) }
    }
}

impl Progress {
    /// A fresh counter: nothing done, total unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes transferred so far.
    pub fn bytes_done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// The total, once known.
    pub fn bytes_total(&self) -> Option<u64> {
        match self.total.load(Ordering::Relaxed) {
            UNKNOWN => None,
            total => Some(total),
        }
    }

    /// Records `bytes` more done.
    pub fn add(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Sets the total.
    pub fn set_total(&self, bytes: u64) {
        self.total.store(bytes, Ordering::Relaxed);
    }

    /// Adds `bytes` to the total (several transfers sharing one counter); an unknown total
    /// becomes `bytes`.
    pub fn add_total(&self, bytes: u64) {
        let _ = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| Some(if t == UNKNOWN { bytes } else { t + bytes }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_totals() {
        let p = Progress::new();
        assert_eq!(p.bytes_total(), None);
        p.add(10);
        p.add(5);
        assert_eq!(p.bytes_done(), 15);
        p.add_total(100);
        p.add_total(50);
        assert_eq!(p.bytes_total(), Some(150));
        p.set_total(7);
        assert_eq!(p.bytes_total(), Some(7));
    }
}
