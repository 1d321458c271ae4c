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
//!   on a long path (first-byte latency of [`LONG_PATH_LATENCY`] or more) the limit doubles
//!   every interval while doubling it raised throughput by at least [`DOUBLING_GAIN`] (a
//!   quarter), so a link whose connections are each bandwidth-bound reaches 32 requests within
//!   four intervals (a few hundred milliseconds), not seconds. When an earlier request (a
//!   listing, a HEAD, a download's first part) already showed the path long, the warm-up
//!   interval ends with a doubling instead of only a measurement (slow start would double after
//!   the next interval whatever it moved); the doubling after it is judged against the
//!   warm-up's rate, which opening connections held down, so it may not be a quadrupling. A
//!   path that shows itself long during the warm-up (a batch's listing, answered before its
//!   downloads start; a download's first part, before the others) makes the limit jump at once
//!   to [`EARLY_GROWTH`] times what it was, and the warm-up measures that: on the 20 ms shape a
//!   batch of 1,000 small objects ran at 16 requests for its first 120 ms, where s5cmd starts
//!   256. Probes down bring the limit back where fewer requests move as much. A doubling that
//!   paid nearly in proportion ([`QUADRUPLING_GAIN`]) is followed by a quadrupling; if that pays
//!   less than a quarter, twice the lower limit is tried and kept only if it beats it. When a
//!   doubling paid less than [`KEEP_GAIN`], the limit goes back to the one before it, and between
//!   the two it keeps the doubled one.
//! - **Short paths grow only on evidence.** On a short path (loopback, a LAN: a few requests
//!   fill it, and every connection tried stays open and holds memory) the warm-up is followed
//!   by a probe *down* by a quarter. If fewer requests lost nearly in proportion
//!   ([`GROW_AFTER_LOSS`]), requests are what limits throughput, and slow start grows, by half a
//!   step at a time, each kept only if it raised throughput by half the proportional gain. If
//!   they moved nearly as much (they lost less than [`DOWN_PROBE_LOSS`] of the proportional
//!   loss), the lower limit is kept and the next probe down follows at once, but never below
//!   the start: a client's callers are sized to it (16 callers sharing 8 slots moved 1.2 MiB
//!   objects a third slower on loopback). In between, the limit is held. On loopback a client so
//!   stays at its 16, and a limit carried over from an earlier transfer comes back down to it.
//! - **Steady state and probing.** The limit is held; every [`PROBE_EVERY`] intervals it is
//!   probed by a quarter (at least one request), up and down (not below the start) in turn. A probe up that raises
//!   throughput by at least half of the proportional gain (and [`MIN_PROBE_GAIN`]) is kept and
//!   the next one follows at once (additive increase); one that does not is undone. A probe down
//!   that loses less than a quarter of the proportional loss is kept, and the next one follows at once;
//!   one that loses more is undone. So a limit that was once worth its requests is checked again
//!   and comes back down when it stops paying (another client took the link, a noisy interval
//!   kept a probe).
//! - **First-byte latency.** A limit at which the mean first-byte latency climbs above
//!   [`LATENCY_CLIMB`] times the lowest seen (and [`LATENCY_FLOOR`] above it) is held (no probe
//!   above it); if throughput is also [`LATENCY_BACK_OFF_LOSS`] below what a lower limit
//!   reached, requests queue at the store for nothing, and the limit backs off by a quarter.
//!   Latency is that of body-less requests (GETs, HEADs): a PUT's answer waits for bytes the
//!   kernel's buffers still hold, whatever the store does.
//! - **Throttling.** A throttling answer (503 SlowDown) halves the limit at once, at most once per
//!   interval (one burst of 503s is one signal), and slow start ends; the limit then grows back
//!   by one request per interval without throttling, up to where it was.
//!
//! Only intervals in which the limit was reached (some request waited for a slot, or every slot
//! was in use) are judged: a client whose transfers ask for fewer requests than the limit (the
//! tail of a download, a caller running four small downloads at a time, an idle client) shows
//! nothing about what more requests would bring, so its limit is held and the next judged
//! interval starts a new comparison, in slow start again from the current limit (the next
//! transfer may be of another kind: a download after an upload), which on a short path begins
//! with a probe down: a limit carried over from an earlier transfer is checked, not grown. The
//! limit stays within `[1, max]`, `max` being the client's connection cap
//! ([`DEFAULT_MAX_CONCURRENCY`] unless the pool sets one).
//!
//! The interval is [`MIN_INTERVAL`], or [`LATENCY_INTERVALS`] times the lowest first-byte
//! latency seen if that is longer (a request must have had time to show its effect), at most
//! [`MAX_INTERVAL`] (the lowest of a request seen alone and of an interval's mean: a first
//! interval's mean counts connections being opened); the warm-up of a slow start on a path
//! already known long lasts half of it, since it is not measured. The throttle also waits for
//! half a round of requests (half the limit) to complete, since an upload's bytes count when
//! the store acknowledges them, a part at a time.
//! A client that was idle starts slow start again from its current limit.
//!
//! This file is past 600 lines because every rule above, and each branch of [`Controller::observe`]
//! that carries it out, says what was measured to choose it; the unit tests live in `tests.rs`.

use std::time::Duration;

/// The limit a client starts with: 16 requests. A fresh client's first burst (a service's or a
/// script's dozen-odd downloads at once, a batch) runs at once instead of queueing behind slow
/// start, which takes intervals of 100 ms or more to grow (16 in flight from a fresh client moved
/// 1.2 MiB objects ~25% faster than 8 did, with half the tail latency, from Python on loopback);
/// one download's parts fill a short path with fewer, and slow start grows it on a long one. In
/// line with the usual defaults (the aws CLI's 10, boto3's 10, rclone's 4 × 4).
pub(crate) const START_LIMIT: usize = 16;

/// The most requests in flight a client's controller allows unless the connection pool caps
/// connections otherwise: 64 (at 40 MB/s per connection, 2.5 GB/s).
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;

/// How much the limit grows at once when the path shows itself long during slow start's warm-up
/// (see [`Controller::note_latency`]).
pub(crate) const EARLY_GROWTH: usize = 4;

/// Shortest time between two judgements: 100 ms.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Longest time between two judgements: 1 s.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(1);

/// The interval is at least this many times the lowest mean first-byte latency seen.
pub(crate) const LATENCY_INTERVALS: u32 = 4;

/// Slow start doubles again only if the last doubling raised throughput by at least this share.
pub(crate) const DOUBLING_GAIN: f64 = 0.25;

/// A doubling that raised throughput by at least this share (nearly in proportion: the link is
/// far from full) is followed by a quadrupling.
pub(crate) const QUADRUPLING_GAIN: f64 = 0.75;

/// A path whose lowest first-byte latency is at least this long is a long one, where every
/// connection waits long for its answers: slow start doubles (and may quadruple) there. On a
/// short one (loopback, a LAN) a few requests fill it, every connection tried stays open, and a
/// noisy interval must not open dozens: slow start grows the limit by half.
pub(crate) const LONG_PATH_LATENCY: Duration = Duration::from_millis(10);

/// A doubling that raised throughput by less than this share is undone.
pub(crate) const KEEP_GAIN: f64 = 0.08;

/// Judged intervals the steady state holds its limit before probing a higher one.
pub(crate) const PROBE_EVERY: u32 = 8;

/// A probe is kept if throughput rose by at least this share (and by half the proportional gain).
pub(crate) const MIN_PROBE_GAIN: f64 = 0.05;

/// A probe down is kept if throughput fell by less than this share of the proportional loss.
pub(crate) const DOWN_PROBE_LOSS: f64 = 0.25;

/// Slow start on a short path grows after its probe down only if that lost at least this share
/// of the proportional loss: requests, not the machine or the link, limit throughput.
pub(crate) const GROW_AFTER_LOSS: f64 = 0.75;

/// The lowest limit slow start's probe down is tried from: below it, a quarter less is a
/// request or two, which a noisy interval cannot tell apart.
pub(crate) const MIN_DOWN_PROBE_FROM: usize = 8;

/// First-byte latency this many times the lowest seen counts as climbing.
pub(crate) const LATENCY_CLIMB: f64 = 2.0;

/// With first-byte latency climbing, the limit backs off when throughput is this share below
/// what fewer requests reached.
pub(crate) const LATENCY_BACK_OFF_LOSS: f64 = 0.1;

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
    /// A probe down from `from` (where throughput was `rate`) is being measured; if it loses in
    /// proportion and `then_grow`, slow start goes on from `from`.
    ProbingDown {
        from: usize,
        rate: f64,
        then_grow: bool,
    },
    /// After four times the requests paid too little: twice `low` is being measured against
    /// `low`'s `rate`.
    Bisecting {
        low: usize,
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
    /// The limit it started with: a probe down keeps no lower one (a client's callers are sized
    /// to it: 16 callers at a time on 8 slots moved 1.2 MiB objects a third slower).
    start: usize,
    max: usize,
    limit: usize,
    max_reached: usize,
    phase: Phase,
    /// The previous sample's time and bytes.
    last: Option<(Duration, u64)>,
    /// The throughput of the last judged interval, and the limit it ran at.
    reference: Option<Reference>,
    /// The highest throughput of a judged interval since the last restart, and its limit.
    best: Option<Reference>,
    /// The lowest mean first-byte latency of an interval.
    base_latency: Option<Duration>,
    /// The lowest first-byte latency of the few requests answered between two looks of the
    /// throttle (an interval's mean counts requests queued behind others).
    path_latency: Option<Duration>,
    /// When the limit was last halved for throttling.
    throttled_at: Option<Duration>,
    /// Whether the steady state's next probe goes down (they alternate after a rejected one).
    probe_down_next: bool,
    /// Whether the limit grew unmeasured since the last judgement: at once, when the path showed
    /// itself long during slow start's warm-up (the warm-up's end then only measures), or at the
    /// warm-up's end, the path being known long before it (the next judgement compares with the
    /// warm-up's rate, which connections being opened held down, so it may double, not
    /// quadruple).
    unmeasured_doubling: bool,
}

impl Controller {
    /// A controller starting at `start` requests, never above `max`.
    pub(crate) fn new(start: usize, max: usize) -> Self {
        let max = max.max(1);
        let limit = start.clamp(1, max);
        Self {
            start: limit,
            max,
            limit,
            max_reached: limit,
            phase: Phase::SlowStart,
            last: None,
            reference: None,
            best: None,
            base_latency: None,
            path_latency: None,
            throttled_at: None,
            probe_down_next: true,
            unmeasured_doubling: false,
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

    /// How long after the previous sample the next one should be taken: half as long for the
    /// warm-up of a slow start on a path known long, which is not measured (it ends with a
    /// doubling, see [`Controller::observe`]) and only lets the connections open.
    pub(crate) fn interval(&self) -> Duration {
        let interval = self
            .lowest_latency()
            .map_or(MIN_INTERVAL, |latency| (latency * LATENCY_INTERVALS).clamp(MIN_INTERVAL, MAX_INTERVAL));
        if self.warming_up() && self.long_path() {
            interval / 2
        } else {
            interval
        }
    }

    /// A first-byte latency seen outside of a sample (one request's, or a few's): whether the
    /// path is long follows the lowest of them. Returns whether the limit changed: a path that
    /// shows itself long during the warm-up of a slow start multiplies the limit by
    /// [`EARLY_GROWTH`] at once, without waiting for the warm-up's end (which then only
    /// measures, see [`Controller::observe`]): a batch's listing tells the path before its
    /// downloads start.
    pub(crate) fn note_latency(&mut self, latency: Duration) -> bool {
        let was_long = self.long_path();
        self.path_latency = Some(self.path_latency.map_or(latency, |path| path.min(latency)));
        if was_long || !self.long_path() || !self.warming_up() || self.unmeasured_doubling {
            return false;
        }
        self.set(self.limit * EARLY_GROWTH);
        self.unmeasured_doubling = true;
        true
    }

    /// Whether slow start has measured nothing yet (and may still grow).
    fn warming_up(&self) -> bool {
        self.phase == Phase::SlowStart && self.reference.is_none() && self.limit < self.max
    }

    /// Starts a new measurement at `sample` without judging the time since the previous one (the
    /// client was idle: that time says nothing about the limit).
    pub(crate) fn restart(&mut self, sample: Sample) {
        // The first requests (a HEAD, a CreateMultipartUpload) often end before the next one
        // starts: their latency says whether the path is long as well as any.
        if let Some(latency) = sample.latency {
            self.base_latency = Some(self.base_latency.map_or(latency, |base| base.min(latency)));
        }
        self.last = Some((sample.at, sample.bytes));
        self.reference = None;
        self.best = None;
        if let Phase::Probing { from, .. } | Phase::ProbingDown { from, .. } = self.phase {
            self.set(from);
            self.phase = Phase::Steady { held: 0 };
        }
    }

    /// The client was idle (nothing in flight) until `sample`: what comes next may be another
    /// kind of work (a download after an upload, another store's answers), so the limit carried
    /// over is checked again: slow start begins again from it after its warm-up interval (and on a
    /// short path, with a probe down first) — unless the limit is recovering from throttling.
    pub(crate) fn resume_after_idle(&mut self, sample: Sample) {
        self.restart(sample);
        if !matches!(self.phase, Phase::Recovering { .. }) {
            self.phase = Phase::SlowStart;
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
        // Known before this interval's requests answered: an earlier request's latency (a
        // listing, a HEAD, a CreateMultipartUpload, an earlier transfer).
        let known_long = self.long_path();
        let unmeasured_doubling = std::mem::take(&mut self.unmeasured_doubling);
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
            // Less demand than the limit (a transfer's tail, an idle client): what comes next
            // may be other work, which slow start sizes again from here.
            self.resume_after_idle(sample);
            return self.limit;
        }
        let reference = self.reference.replace(Reference { limit: self.limit, rate });
        let best = self.best.filter(|best| best.rate >= rate);
        self.best = Some(best.unwrap_or(Reference { limit: self.limit, rate }));
        // Fewer requests moved more: with latency climbing, requests queue for nothing.
        let below_best =
            best.is_some_and(|best| best.limit < self.limit && rate < best.rate * (1.0 - LATENCY_BACK_OFF_LOSS));
        match self.phase {
            Phase::SlowStart => match reference {
                // The first judged interval (of the client, or after an idle one) includes the
                // requests' start, connections being opened: it is not the limit's rate. The
                // next one is, and slow start goes on from it.
                // An early jump (the path showed itself long during the warm-up) was growth
                // enough: the warm-up is measured.
                None if unmeasured_doubling => {}
                None if known_long && !climbing && self.limit < self.max => {
                    // With the path known long before it, slow start doubles now: on a long
                    // path it doubles after the next interval whatever that interval moves, so
                    // waiting for it only keeps a batch of small objects at the start's pace
                    // one interval (100 ms or more) longer.
                    self.set(self.limit * 2);
                    self.unmeasured_doubling = true;
                }
                None => {}
                Some(before) if before.limit == self.limit => {
                    let rate = rate.max(before.rate);
                    self.reference = Some(Reference { limit: self.limit, rate });
                    if self.long_path() || !self.probe_down(rate, true) {
                        self.grow_doubling();
                    }
                }
                // A short path grows by half, kept only if throughput rose by half the
                // proportional gain (a quarter): more requests there mostly cost memory, and
                // a noisy interval must not keep them.
                Some(before) if !self.long_path() => {
                    if gain(before.rate, rate) >= probe_gain_needed(before.limit, self.limit) && !climbing {
                        self.grow_doubling();
                    } else {
                        self.set(before.limit);
                        self.reference = Some(Reference { limit: before.limit, rate: before.rate.max(rate) });
                        self.phase = Phase::Steady { held: 0 };
                    }
                }
                Some(before) => {
                    let gain = gain(before.rate, rate);
                    let jumped = self.limit >= before.limit * 4;
                    if gain >= QUADRUPLING_GAIN && self.long_path() && !climbing && !jumped && !unmeasured_doubling {
                        self.grow(4);
                    } else if gain >= DOUBLING_GAIN && !(climbing && gain < 2.0 * DOUBLING_GAIN) {
                        self.grow_doubling();
                    } else if jumped {
                        // Four times the requests were too many: try twice, and keep it only if
                        // it beats the lower limit.
                        self.set(before.limit * 2);
                        self.reference = Some(before);
                        self.phase = Phase::Bisecting { low: before.limit, rate: before.rate };
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
                if climbing && below_best {
                    self.back_off();
                } else if climbing {
                    // Queueing, but not (yet) for less: hold, no probe.
                } else if held + 1 >= PROBE_EVERY {
                    // Probes alternate up and down (after a rejected one), so a limit kept once
                    // is checked again: one that no longer pays comes back down.
                    let down = self.probe_down_next;
                    self.probe_down_next = !down;
                    if !(down && self.probe_down(rate, false)) && self.limit < self.max {
                        self.phase = Phase::Probing { from: self.limit, rate };
                        self.set(self.limit + probe_step(self.limit));
                    } else if !matches!(self.phase, Phase::ProbingDown { .. }) {
                        self.phase = Phase::Steady { held: 0 };
                    }
                } else {
                    self.phase = Phase::Steady { held: held + 1 };
                }
            }
            Phase::Probing { from, rate: before } => {
                let paid = gain(before, rate) >= probe_gain_needed(from, self.limit) && !climbing;
                if paid && self.limit < self.max {
                    self.phase = Phase::Probing { from: self.limit, rate };
                    self.set(self.limit + probe_step(self.limit));
                } else if paid {
                    self.phase = Phase::Steady { held: 0 };
                } else {
                    self.set(from);
                    self.reference = Some(Reference { limit: from, rate: before.max(rate) });
                    self.phase = Phase::Steady { held: 0 };
                    self.probe_down_next = true;
                }
            }
            Phase::ProbingDown { from, rate: before, then_grow } => {
                // Kept if fewer requests lost less than a quarter of the proportional loss: what
                // the requests taken away carried, others carry too. (A stricter test than a
                // probe up's: the requests taken away still run for a while after the limit
                // drops, so a thin link's loss shows only in part, and a wrongly kept probe down
                // slows a transfer more than a wrongly kept probe up.)
                // Below the start a probe down is only a test (whether requests are what
                // limits throughput), never kept. Slow start grows after it only if it lost
                // nearly in proportion ([`GROW_AFTER_LOSS`]): in between, the limit is held.
                let loss = 1.0 - rate / before.max(f64::MIN_POSITIVE);
                let proportional = (from - self.limit) as f64 / from as f64;
                if loss < DOWN_PROBE_LOSS * proportional && self.limit >= self.start {
                    self.reference = Some(Reference { limit: self.limit, rate });
                    if !self.probe_down(rate, false) {
                        self.phase = Phase::Steady { held: 0 };
                    }
                } else {
                    self.set(from);
                    self.reference = Some(Reference { limit: from, rate: before.max(rate) });
                    self.probe_down_next = false;
                    if then_grow && loss >= GROW_AFTER_LOSS * proportional {
                        self.phase = Phase::SlowStart;
                        self.grow_doubling();
                    } else {
                        self.phase = Phase::Steady { held: 0 };
                    }
                }
            }
            Phase::Bisecting { low, rate: low_rate } => {
                if gain(low_rate, rate) < KEEP_GAIN {
                    self.set(low);
                    self.reference = Some(Reference { limit: low, rate: low_rate.max(rate) });
                }
                self.phase = Phase::Steady { held: 0 };
            }
            Phase::Recovering { target } => {
                if climbing && below_best {
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

    /// Doubles the limit on a long path; on a short one (loopback, a LAN: a few requests fill it,
    /// and every connection tried stays open) grows it by half.
    fn grow_doubling(&mut self) {
        if self.long_path() {
            self.grow(2);
        } else if self.limit >= self.max {
            self.phase = Phase::Steady { held: 0 };
        } else {
            self.set(self.limit + self.limit.div_ceil(2));
        }
    }

    /// Whether the lowest first-byte latency seen is at least [`LONG_PATH_LATENCY`]: that of
    /// the requests seen one or a few at a time if any, else of an interval's mean.
    fn long_path(&self) -> bool {
        self.lowest_latency().is_some_and(|l| l >= LONG_PATH_LATENCY)
    }

    /// The lowest first-byte latency seen: of the requests seen one or a few at a time, or of
    /// an interval's mean (which counts connections being opened and requests queued behind
    /// others: the first interval of a 20 ms path measured 41 ms).
    fn lowest_latency(&self) -> Option<Duration> {
        match (self.base_latency, self.path_latency) {
            (Some(base), Some(path)) => Some(base.min(path)),
            (base, path) => base.or(path),
        }
    }

    fn grow(&mut self, factor: usize) {
        if self.limit >= self.max {
            self.phase = Phase::Steady { held: 0 };
        } else {
            self.set(self.limit * factor);
        }
    }

    /// Starts a probe down by a quarter from the current limit (where throughput was `rate`), unless
    /// the limit is at the start (a probe of slow start, `then_grow`, tests from
    /// [`MIN_DOWN_PROBE_FROM`] up, and grows if it lost nearly in proportion); returns whether it
    /// started.
    fn probe_down(&mut self, rate: f64, then_grow: bool) -> bool {
        let floor = if then_grow { MIN_DOWN_PROBE_FROM } else { self.start + 1 };
        if self.limit < floor {
            return false;
        }
        let from = self.limit;
        let to = from - probe_step(from);
        self.phase = Phase::ProbingDown { from, rate, then_grow };
        self.set(if then_grow { to } else { to.max(self.start) });
        true
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

/// What a step from `from` to `to` requests must raise throughput by to be kept: half the
/// proportional gain, at least [`MIN_PROBE_GAIN`].
fn probe_gain_needed(from: usize, to: usize) -> f64 {
    MIN_PROBE_GAIN.max(0.5 * to.saturating_sub(from) as f64 / from.max(1) as f64)
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
mod tests;
