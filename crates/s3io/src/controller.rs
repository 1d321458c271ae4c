//! The concurrency controller: how many requests one client keeps in flight, from what the
//! requests achieve.
//!
//! This is a pure state machine, without I/O or clock: it is fed [`Sample`]s (a time, the
//! client's cumulative bytes moved in either direction, the mean first-byte latency of the
//! requests answered since the last sample, and whether the limit was reached meanwhile) and
//! throttling events, and answers with the new limit. The [`Throttle`](crate::throttle::Throttle)
//! feeds it from the client's counters as requests take and give back their slots, and applies
//! the limit; the unit tests here feed it synthetic throughput curves.
//!
//! # How it decides
//!
//! Throughput per interval (bytes moved over the time between two samples, every transfer of the
//! client together) is compared with the throughput measured at the previous limit:
//!
//! - **Slow start.** From [`START_LIMIT`], after one interval to warm up (connections opening),
//!   the limit doubles every interval while doubling it raised throughput by at least
//!   [`DOUBLING_GAIN`] (a quarter), so a link whose connections are each bandwidth-bound reaches
//!   32 requests within four intervals (a few hundred milliseconds), not seconds. When a doubling paid less than [`KEEP_GAIN`], the limit goes
//!   back to the one before it — on loopback, where a few connections already saturate the
//!   machine, it settles at 8 having tried 16 — and between the two it keeps the doubled one.
//! - **Steady state and probing.** The limit is held; every [`PROBE_EVERY`] intervals it is
//!   raised by a quarter (at least one request). A probe that raises throughput by at least half
//!   of the proportional gain (and [`MIN_PROBE_GAIN`]) is kept and the next one follows at once
//!   (additive increase); one that does not is undone.
//! - **First-byte latency.** A limit at which the mean first-byte latency climbs above
//!   [`LATENCY_CLIMB`] times the lowest seen (and [`LATENCY_FLOOR`] above it) while throughput
//!   does not grow means requests queue at the store without moving more bytes: the limit backs
//!   off by a quarter.
//! - **Throttling.** A throttling answer (503 SlowDown) halves the limit at once, at most once per
//!   interval (one burst of 503s is one signal), and slow start ends; the limit then grows back
//!   by one request per interval without throttling, up to where it was.
//!
//! Only intervals in which the limit was reached (some request waited for a slot, or every slot
//! was in use) are judged: a client whose transfers ask for fewer requests than the limit (the
//! tail of a download, a caller running four small downloads at a time, an idle client) shows
//! nothing about what more requests would bring, so its limit is held and the next judged
//! interval starts a new comparison. The limit stays within `[1, max]`, `max` being the client's
//! connection cap ([`DEFAULT_MAX_CONCURRENCY`] unless the pool sets one).
//!
//! The interval is [`MIN_INTERVAL`], or [`LATENCY_INTERVALS`] times the lowest first-byte
//! latency seen if that is longer (a request must have had time to show its effect), at most
//! [`MAX_INTERVAL`].

use std::time::Duration;

/// The limit a client starts with: 8 requests, which saturate loopback and a local network.
pub(crate) const START_LIMIT: usize = crate::config::DEFAULT_CONCURRENCY;

/// The most requests in flight a client's controller allows unless the connection pool caps
/// connections otherwise: 64 (at 40 MB/s per connection, 2.5 GB/s).
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;

/// Shortest time between two judgements: 100 ms.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Longest time between two judgements: 1 s.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(1);

/// The interval is at least this many times the lowest mean first-byte latency seen.
pub(crate) const LATENCY_INTERVALS: u32 = 4;

/// Slow start doubles again only if the last doubling raised throughput by at least this share.
pub(crate) const DOUBLING_GAIN: f64 = 0.25;

/// A doubling that raised throughput by less than this share is undone.
pub(crate) const KEEP_GAIN: f64 = 0.08;

/// Judged intervals the steady state holds its limit before probing a higher one.
pub(crate) const PROBE_EVERY: u32 = 8;

/// A probe is kept if throughput rose by at least this share (and by half the proportional gain).
pub(crate) const MIN_PROBE_GAIN: f64 = 0.05;

/// First-byte latency this many times the lowest seen counts as climbing.
pub(crate) const LATENCY_CLIMB: f64 = 2.0;

/// First-byte latency counts as climbing only if it is also this much above the lowest seen.
pub(crate) const LATENCY_FLOOR: Duration = Duration::from_millis(2);

/// What the client did since the previous sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// When the sample was taken, from any fixed origin.
    pub(crate) at: Duration,
    /// Bytes the client moved (received and sent) since its start.
    pub(crate) bytes: u64,
    /// Mean first-byte latency of the requests answered since the previous sample, if any were.
    pub(crate) latency: Option<Duration>,
    /// Whether the limit was reached since the previous sample.
    pub(crate) saturated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    SlowStart,
    /// Holding; `held` judged intervals so far.
    Steady {
        held: u32,
    },
    /// A probe from `from` (where throughput was `rate`) is being measured.
    Probing {
        from: usize,
        rate: f64,
    },
    /// Growing back by one per interval after a throttle, up to `target`.
    Recovering {
        target: usize,
    },
}

/// Throughput measured at one limit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reference {
    limit: usize,
    rate: f64,
}

/// The controller of one client: samples and throttling events in, the limit out.
#[derive(Debug, Clone)]
pub(crate) struct Controller {
    max: usize,
    limit: usize,
    max_reached: usize,
    phase: Phase,
    /// The previous sample's time and bytes.
    last: Option<(Duration, u64)>,
    /// The throughput of the last judged interval, and the limit it ran at.
    reference: Option<Reference>,
    /// The lowest mean first-byte latency of an interval.
    base_latency: Option<Duration>,
    /// When the limit was last halved for throttling.
    throttled_at: Option<Duration>,
}

impl Controller {
    /// A controller starting at `start` requests, never above `max`.
    pub(crate) fn new(start: usize, max: usize) -> Self {
        let max = max.max(1);
        let limit = start.clamp(1, max);
        Self {
            max,
            limit,
            max_reached: limit,
            phase: Phase::SlowStart,
            last: None,
            reference: None,
            base_latency: None,
            throttled_at: None,
        }
    }

    /// The current limit on requests in flight.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The highest limit so far.
    #[cfg(test)]
    pub(crate) fn max_reached(&self) -> usize {
        self.max_reached
    }

    /// How long after the previous sample the next one should be taken.
    pub(crate) fn interval(&self) -> Duration {
        self.base_latency
            .map_or(MIN_INTERVAL, |latency| (latency * LATENCY_INTERVALS).clamp(MIN_INTERVAL, MAX_INTERVAL))
    }

    /// Starts a new measurement at `sample` without judging the time since the previous one (the
    /// client was idle: that time says nothing about the limit).
    pub(crate) fn restart(&mut self, sample: Sample) {
        self.last = Some((sample.at, sample.bytes));
        self.reference = None;
        if let Phase::Probing { from, .. } = self.phase {
            self.set(from);
            self.phase = Phase::Steady { held: 0 };
        }
    }

    /// A throttling answer at `at`: halves the limit, unless it was halved less than an interval
    /// ago. Returns the new limit.
    pub(crate) fn throttled(&mut self, at: Duration) -> usize {
        if self.throttled_at.is_some_and(|then| at.saturating_sub(then) < self.interval()) {
            return self.limit;
        }
        self.throttled_at = Some(at);
        let target = match self.phase {
            Phase::Probing { from, .. } => from,
            Phase::Recovering { target } => target,
            _ => self.limit,
        };
        self.set((self.limit / 2).max(1));
        self.phase = Phase::Recovering { target: target.max(self.limit) };
        self.reference = None;
        self.limit
    }

    /// Judges the interval since the previous sample and returns the new limit.
    pub(crate) fn observe(&mut self, sample: Sample) -> usize {
        let climbing = self.climbing(sample.latency);
        if let Some(latency) = sample.latency {
            self.base_latency = Some(self.base_latency.map_or(latency, |base| base.min(latency)));
        }
        let Some((then, bytes_then)) = self.last.replace((sample.at, sample.bytes)) else { return self.limit };
        let elapsed = sample.at.saturating_sub(then);
        if elapsed.is_zero() {
            return self.limit;
        }
        let rate = sample.bytes.saturating_sub(bytes_then) as f64 / elapsed.as_secs_f64();
        if !sample.saturated {
            self.restart(sample);
            return self.limit;
        }
        let reference = self.reference.replace(Reference { limit: self.limit, rate });
        match self.phase {
            Phase::SlowStart => match reference {
                // The first judged interval (of the client, or after an idle one) includes the
                // requests' start, connections being opened: it is not the limit's rate. The
                // next one is, and slow start goes on from it.
                None => {}
                Some(before) if before.limit == self.limit => {
                    self.reference = Some(Reference { limit: self.limit, rate: rate.max(before.rate) });
                    self.grow_doubling();
                }
                Some(before) => {
                    let gain = gain(before.rate, rate);
                    if gain >= DOUBLING_GAIN && !(climbing && gain < 2.0 * DOUBLING_GAIN) {
                        self.grow_doubling();
                    } else {
                        if gain < KEEP_GAIN {
                            self.set(before.limit);
                            self.reference = Some(Reference { limit: before.limit, rate: before.rate.max(rate) });
                        }
                        self.phase = Phase::Steady { held: 0 };
                    }
                }
            },
            Phase::Steady { held } => {
                let grew = reference.is_some_and(|before| gain(before.rate, rate) > MIN_PROBE_GAIN);
                if climbing && !grew {
                    self.back_off();
                } else if held + 1 >= PROBE_EVERY && self.limit < self.max {
                    self.phase = Phase::Probing { from: self.limit, rate };
                    self.set(self.limit + probe_step(self.limit));
                } else {
                    self.phase = Phase::Steady { held: held + 1 };
                }
            }
            Phase::Probing { from, rate: before } => {
                let needed = MIN_PROBE_GAIN.max(0.5 * (self.limit - from) as f64 / from as f64);
                if gain(before, rate) >= needed && !climbing && self.limit < self.max {
                    self.phase = Phase::Probing { from: self.limit, rate };
                    self.set(self.limit + probe_step(self.limit));
                } else if gain(before, rate) >= needed && !climbing {
                    self.phase = Phase::Steady { held: 0 };
                } else {
                    self.set(from);
                    self.reference = Some(Reference { limit: from, rate: before.max(rate) });
                    self.phase = Phase::Steady { held: 0 };
                }
            }
            Phase::Recovering { target } => {
                if climbing {
                    self.back_off();
                } else if self.limit < target {
                    self.set(self.limit + 1);
                } else {
                    self.phase = Phase::Steady { held: 0 };
                }
            }
        }
        self.limit
    }

    /// Whether `latency` is well above the lowest seen.
    fn climbing(&self, latency: Option<Duration>) -> bool {
        match (latency, self.base_latency) {
            (Some(latency), Some(base)) => {
                latency.as_secs_f64() > base.as_secs_f64() * LATENCY_CLIMB && latency > base + LATENCY_FLOOR
            }
            _ => false,
        }
    }

    fn grow_doubling(&mut self) {
        if self.limit >= self.max {
            self.phase = Phase::Steady { held: 0 };
        } else {
            self.set(self.limit * 2);
        }
    }

    fn back_off(&mut self) {
        self.set(self.limit - self.limit / 4);
        self.reference = None;
        self.phase = Phase::Steady { held: 0 };
    }

    fn set(&mut self, limit: usize) {
        self.limit = limit.clamp(1, self.max);
        self.max_reached = self.max_reached.max(self.limit);
    }
}

/// How much a probe from `limit` adds: a quarter, at least one.
fn probe_step(limit: usize) -> usize {
    (limit / 4).max(1)
}

/// The relative change from `before` to `after` (0 when nothing moved before).
fn gain(before: f64, after: f64) -> f64 {
    if before <= 0.0 {
        if after > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        after / before - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: f64 = 1_000_000.0;

    /// Drives a controller for `intervals` intervals of `MIN_INTERVAL` each, every one saturated,
    /// the link moving `curve(limit)` bytes per second with first-byte latency `latency(limit)`.
    /// Returns the limit after each interval.
    fn drive(
        controller: &mut Controller,
        intervals: usize,
        curve: impl Fn(usize) -> f64,
        latency: impl Fn(usize) -> Duration,
    ) -> Vec<usize> {
        let mut at = controller.last.map_or(Duration::ZERO, |(at, _)| at);
        let mut bytes = controller.last.map_or(0, |(_, bytes)| bytes);
        if controller.last.is_none() {
            controller.observe(Sample { at, bytes, latency: None, saturated: true });
        }
        (0..intervals)
            .map(|_| {
                let limit = controller.limit();
                at += MIN_INTERVAL;
                bytes += (curve(limit) * MIN_INTERVAL.as_secs_f64()) as u64;
                controller.observe(Sample { at, bytes, latency: Some(latency(limit)), saturated: true })
            })
            .collect()
    }

    fn flat_latency(_: usize) -> Duration {
        Duration::from_millis(20)
    }

    #[test]
    fn rising_curve_ramps_multiplicatively_then_stops_where_the_link_is_full() {
        // 40 MB/s per connection, a 1 GB/s link: full at 25 requests.
        let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        let limits = drive(&mut controller, 40, |n| (n as f64 * 40.0 * MB).min(1000.0 * MB), flat_latency);
        // One interval to warm up, then 8 → 16 → 32 → 64 within four intervals (400 ms).
        assert_eq!(&limits[..4], &[8, 16, 32, 64], "{limits:?}");
        // 64 brought nothing over 32: back to 32, and probes above it are undone.
        assert_eq!(limits[4], 32, "{limits:?}");
        assert!(limits[5..].iter().all(|&l| (32..=40).contains(&l)), "{limits:?}");
        // Probes take one interval in nine.
        assert!(limits[4..].iter().filter(|&&l| l == 32).count() * 10 >= limits[4..].len() * 8, "{limits:?}");
        assert_eq!(controller.max_reached(), 64);
    }

    #[test]
    fn rising_curve_without_a_link_cap_grows_to_the_connection_cap_and_stays() {
        let mut controller = Controller::new(START_LIMIT, 48);
        let limits = drive(&mut controller, 20, |n| n as f64 * 40.0 * MB, flat_latency);
        assert_eq!(&limits[..4], &[8, 16, 32, 48], "{limits:?}");
        assert!(limits[3..].iter().all(|&l| l == 48), "{limits:?}");
    }

    #[test]
    fn flat_curve_tries_one_doubling_and_settles_at_the_start() {
        // Loopback: 8 requests already move all the machine can.
        let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        let limits = drive(&mut controller, 50, |_| 2000.0 * MB, |_| Duration::from_micros(500));
        assert_eq!(&limits[..3], &[8, 16, 8], "{limits:?}");
        assert_eq!(controller.max_reached(), 16, "{limits:?}");
        // Probes (8 → 10) are undone: never above 10 again, and back at 8.
        assert!(limits[3..].iter().all(|&l| l == 8 || l == 10), "{limits:?}");
        assert_eq!(*limits.last().unwrap(), 8);
    }

    #[test]
    fn small_gain_from_a_doubling_keeps_it_without_doubling_again() {
        // 16 requests move 15% more than 8, 32 no more than 16.
        let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        let curve = |n: usize| if n >= 16 { 1150.0 * MB } else { 1000.0 * MB };
        let limits = drive(&mut controller, 30, curve, flat_latency);
        assert_eq!(&limits[..3], &[8, 16, 16], "{limits:?}");
        assert!(limits.iter().all(|&l| l <= 20), "{limits:?}");
        assert_eq!(*limits.last().unwrap(), 16);
    }

    #[test]
    fn falling_curve_settles_at_its_peak() {
        // Throughput peaks at 16 requests and falls beyond (a store that thrashes).
        let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        let curve = |n: usize| {
            let n = n as f64;
            if n <= 16.0 {
                n * 50.0 * MB
            } else {
                (800.0 - (n - 16.0) * 20.0).max(50.0) * MB
            }
        };
        let limits = drive(&mut controller, 40, curve, flat_latency);
        assert_eq!(&limits[..3], &[8, 16, 32], "{limits:?}");
        assert_eq!(limits[3], 16, "{limits:?}");
        assert!(limits[3..].iter().all(|&l| (16..=20).contains(&l)), "{limits:?}");
        assert_eq!(*limits.last().unwrap(), 16);
    }

    #[test]
    fn climbing_latency_without_more_throughput_backs_off() {
        // Probing found 32 no better in throughput, and the store queues: first-byte latency
        // grows with every request beyond 8.
        let mut controller = Controller::new(32, DEFAULT_MAX_CONCURRENCY);
        controller.phase = Phase::Steady { held: 0 };
        let latency = |n: usize| Duration::from_millis(5) * (n.max(8) as u32) / 8;
        // Learn the base latency at 8 first.
        controller.observe(Sample { at: Duration::ZERO, bytes: 0, latency: Some(latency(8)), saturated: true });
        let limits = drive(&mut controller, 12, |_| 1000.0 * MB, latency);
        // 32 → 24 → 18: latency at 18 (11 ms) is still above twice 5 ms; at 13–14 it is not.
        assert_eq!(&limits[..3], &[24, 18, 14], "{limits:?}");
        assert!(limits[3..].iter().all(|&l| (10..=17).contains(&l)), "{limits:?}");
    }

    #[test]
    fn throttling_halves_once_per_burst_and_recovers_additively() {
        let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        let limits = drive(&mut controller, 4, |n| n as f64 * 40.0 * MB, flat_latency);
        assert_eq!(limits, [8, 16, 32, 64]);
        let now = controller.last.unwrap().0;
        // A burst of 503s: one halving.
        assert_eq!(controller.throttled(now), 32);
        for _ in 0..20 {
            assert_eq!(controller.throttled(now + Duration::from_millis(10)), 32);
        }
        // The next burst, an interval later, halves again.
        assert_eq!(controller.throttled(now + MIN_INTERVAL), 16);
        // No more slow start: one more request per interval, back up to where it was.
        let limits = drive(&mut controller, 60, |n| n as f64 * 40.0 * MB, flat_latency);
        assert_eq!(&limits[..3], &[17, 18, 19], "{limits:?}");
        assert!(limits.windows(2).all(|w| w[1] <= w[0] + 16), "{limits:?}");
        assert!(limits.contains(&64), "{limits:?}");
        // Halving stops at one request.
        let mut at = controller.last.unwrap().0;
        for _ in 0..10 {
            at += MAX_INTERVAL;
            controller.throttled(at);
        }
        assert_eq!(controller.limit(), 1);
    }

    #[test]
    fn unsaturated_intervals_hold_the_limit_and_restart_the_comparison() {
        let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        let mut bytes = 0;
        for i in 1..=20u32 {
            // Four requests at a time never reach the limit of 8: nothing to learn.
            bytes += 4_000_000 * u64::from(i % 3);
            let sample = Sample { at: MIN_INTERVAL * i, bytes, latency: Some(flat_latency(4)), saturated: false };
            assert_eq!(controller.observe(sample), START_LIMIT);
        }
        assert_eq!(controller.max_reached(), START_LIMIT);
        // Then a transfer that uses the limit: slow start goes on from there, after its warm-up.
        let limits = drive(&mut controller, 3, |n| n as f64 * 40.0 * MB, flat_latency);
        assert_eq!(limits, [8, 16, 32]);
    }

    #[test]
    fn interval_follows_the_lowest_first_byte_latency_within_bounds() {
        let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        assert_eq!(controller.interval(), MIN_INTERVAL);
        let sample = |at, latency| Sample { at, bytes: 0, latency: Some(latency), saturated: false };
        controller.observe(sample(Duration::ZERO, Duration::from_millis(80)));
        controller.observe(sample(Duration::from_secs(1), Duration::from_millis(80)));
        assert_eq!(controller.interval(), Duration::from_millis(320));
        controller.observe(sample(Duration::from_secs(2), Duration::from_secs(5)));
        assert_eq!(controller.interval(), Duration::from_millis(320));
        let mut slow = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
        slow.observe(sample(Duration::ZERO, Duration::from_secs(1)));
        slow.observe(sample(Duration::from_secs(1), Duration::from_secs(1)));
        assert_eq!(slow.interval(), MAX_INTERVAL);
    }

    #[test]
    fn limits_stay_within_one_and_the_cap() {
        let mut controller = Controller::new(100, 4);
        assert_eq!(controller.limit(), 4);
        let limits = drive(&mut controller, 10, |n| n as f64 * MB, flat_latency);
        assert!(limits.iter().all(|&l| (1..=4).contains(&l)), "{limits:?}");
        assert_eq!(Controller::new(0, 0).limit(), 1);
    }
}
