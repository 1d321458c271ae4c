//! Counting: [`FaultStats`], the snapshot users read, and [`FaultCounters`], the live atomic
//! counters the service bumps for every request and every fault actually injected.

use std::sync::atomic::{AtomicU64, Ordering};

use super::decision::Fault;

/// Counters of requests and injected faults, a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultStats {
    /// Requests received.
    pub requests: u64,
    /// 503 SlowDown answers injected.
    pub slow_downs: u64,
    /// 500 InternalError answers injected.
    pub internal_errors: u64,
    /// Connections reset (before headers or mid-body).
    pub resets: u64,
    /// Responses stalled.
    pub stalls: u64,
    /// Bodies truncated.
    pub truncations: u64,
    /// Response bodies with a byte changed.
    pub corruptions: u64,
    /// Request bodies the server stopped reading.
    pub stopped_reads: u64,
    /// Requests refused or held back by an outage (connections refused while the server
    /// does not listen never reach it, so are not counted).
    pub outage_requests: u64,
}

impl FaultStats {
    /// All injected faults.
    pub fn total_faults(&self) -> u64 {
        self.slow_downs
            + self.internal_errors
            + self.resets
            + self.stalls
            + self.truncations
            + self.corruptions
            + self.stopped_reads
            + self.outage_requests
    }
}

/// Live counters behind [`FaultStats`].
#[derive(Debug, Default)]
pub(crate) struct FaultCounters {
    requests: AtomicU64,
    slow_downs: AtomicU64,
    internal_errors: AtomicU64,
    resets: AtomicU64,
    stalls: AtomicU64,
    truncations: AtomicU64,
    corruptions: AtomicU64,
    stopped_reads: AtomicU64,
    outage_requests: AtomicU64,
}

impl FaultCounters {
    /// A snapshot.
    pub(crate) fn snapshot(&self) -> FaultStats {
        FaultStats {
            requests: self.requests.load(Ordering::Relaxed),
            slow_downs: self.slow_downs.load(Ordering::Relaxed),
            internal_errors: self.internal_errors.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            stalls: self.stalls.load(Ordering::Relaxed),
            truncations: self.truncations.load(Ordering::Relaxed),
            corruptions: self.corruptions.load(Ordering::Relaxed),
            stopped_reads: self.stopped_reads.load(Ordering::Relaxed),
            outage_requests: self.outage_requests.load(Ordering::Relaxed),
        }
    }

    /// Numbers a request in arrival order (0, 1, …) and counts it.
    pub(super) fn next_request(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a request refused or held back by an outage.
    pub(super) fn count_outage(&self) {
        self.outage_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an injected `fault` (nothing for [`Fault::Pass`]).
    pub(super) fn count(&self, fault: Fault) {
        let counter = match fault {
            Fault::Pass => return,
            Fault::SlowDown => &self.slow_downs,
            Fault::InternalError => &self.internal_errors,
            Fault::Reset => &self.resets,
            Fault::Stall => &self.stalls,
            Fault::Truncate => &self.truncations,
            Fault::Corrupt => &self.corruptions,
            Fault::StopReading => &self.stopped_reads,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
