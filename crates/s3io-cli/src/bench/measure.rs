//! Process-level measurements: CPU time, peak RSS, heap allocations.
//!
//! CPU time and peak RSS come from `/proc/self` (Linux): `stat`'s utime + stime, and `status`'s
//! `VmHWM`, which `clear_refs` resets between scenarios (after `malloc_trim` has returned the heap's
//! free memory to the OS) so each reports its own peak. Heap allocations are counted by the
//! binary's global allocator ([`crate::alloc_counter`]) in builds with the `alloc-count` feature,
//! and are `None` otherwise.

use std::time::{Duration, Instant};

use crate::alloc_counter;

/// A snapshot of the process's counters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    at: Instant,
    cpu: Duration,
    allocations: Option<u64>,
}

impl Snapshot {
    /// Takes a snapshot now.
    pub(crate) fn take() -> Self {
        Self { at: Instant::now(), cpu: cpu_time().unwrap_or_default(), allocations: alloc_counter::allocations() }
    }

    /// Wall time, CPU time and allocations since `self`.
    pub(crate) fn since(&self) -> Delta {
        let now = Self::take();
        Delta {
            wall: now.at - self.at,
            cpu: now.cpu.saturating_sub(self.cpu),
            allocations: now.allocations.zip(self.allocations).map(|(now, then)| now - then),
        }
    }
}

/// What changed between two snapshots.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delta {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
    /// `None` when the binary does not count allocations.
    pub(crate) allocations: Option<u64>,
}

/// User + system CPU time of this process, from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line, 11 and 12 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Resets the peak-RSS counter (`VmHWM`) so the next reading covers only what follows. The heap's
/// free memory goes back to the OS first (glibc's `malloc_trim`): memory an earlier scenario
/// freed but the allocator kept resident would otherwise count in every later scenario's peak.
pub(crate) fn reset_peak_rss() {
    release_free_heap();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Returns the heap's free pages to the OS.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // A call into glibc, which Rust cannot check.
fn release_free_heap() {
    // SAFETY: malloc_trim takes no pointers and only releases free heap memory; glibc allows it
    // at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns the heap's free pages to the OS (nothing to do off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_heap() {}

/// Peak resident set size since the last reset, in bytes.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Percentile `p` (0–100) of sorted `values`.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_values() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_millis(51));
        assert_eq!(percentile(&values, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&values, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn reads_cpu_and_rss_of_this_process() {
        assert!(cpu_time().is_some());
        assert!(peak_rss().unwrap() > 0);
    }

    #[test]
    fn the_peak_is_reset_to_what_is_resident_now() {
        // 64 MiB written (so resident), then freed (above glibc's largest mmap threshold, so
        // unmapped): the peak reading covers it until the reset, and not after.
        let touched = std::hint::black_box(vec![1u8; 64 << 20]);
        let high = peak_rss().unwrap();
        drop(touched);
        reset_peak_rss();
        let after = peak_rss().unwrap();
        assert!(after + (32 << 20) < high, "peak {high} bytes before the reset, {after} after");
    }
}
