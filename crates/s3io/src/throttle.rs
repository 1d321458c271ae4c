//! The client-wide limit on requests in flight, and the glue that lets the concurrency
//! [`controller`](crate::controller) set it.
//!
//! Every request of one client takes a slot from the [`Throttle`] before it is sent and holds it
//! until its answer is read: a download part's slot covers its ranged GET and its body, an
//! upload part's its body and the answer; a request made through the typed API (`get_object`)
//! gives its slot back once the headers are in, since the caller may hold the body for as long
//! as it likes. A request that finds every slot taken waits (on a `Notify`, no polling) until one
//! is given back or the limit grows; waiting requests take freed slots in the order they began
//! to wait, ahead of newcomers, so callers sharing fewer slots than they are wait alike.
//! Nothing is allocated per request: the slot is a counter under a mutex, and the permit an
//! `Arc` of the throttle.
//!
//! The limit is decided in one of two ways:
//!
//! - **Adaptive** (the default: the client's [`TransferConfig::concurrency`] is `None`): the
//!   [`Controller`] sets it, from 16 up to the client's connection cap. There is no timer task:
//!   whenever a request takes or gives back a slot, the controller's interval has passed and
//!   half a round of requests (half the limit; a whole round after the limit changed, so that
//!   requests added by a change have shown their bytes) has completed since the last sample, the
//!   throttle takes a sample (the client's bytes moved, from [`ConnectionMetrics`]: response
//!   bodies as they are read, request bodies when the store acknowledges them; the mean
//!   first-byte latency of the body-less requests answered since the last sample; whether the
//!   limit was reached meanwhile) and applies the controller's answer. A request that finds
//!   nothing in flight and a sample due tells the controller the client was idle. A throttling answer (503
//!   SlowDown) goes to the controller at once.
//! - **Fixed** (the client's concurrency is pinned): the limit starts at a maximum that does not
//!   bind (each transfer runs as many requests as its pinned concurrency) and only throttling
//!   moves it: additive increase, multiplicative decrease. A throttling answer halves it (down to
//!   [`MIN_LIMIT`]), so every transfer of the client backs off together instead of each part
//!   retrying at full speed; each success then adds `1/limit`, as TCP's congestion avoidance
//!   does, so the limit grows back by about one slot per round of requests.
//!
//! [`TransferConfig::concurrency`]: crate::config::TransferConfig::concurrency

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::controller::{Controller, Sample};
use crate::http::ConnectionMetrics;

/// The lowest the limit goes: one request at a time still makes progress.
pub(crate) const MIN_LIMIT: f64 = 1.0;

/// Maximum of requests in flight per client when its concurrency is pinned: high enough never to
/// bind unthrottled.
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 1024;

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    /// Requests waiting for a slot.
    waiting: usize,
    peak_in_flight: usize,
    throttled: u64,
    /// Adaptive mode: the controller and what its next sample needs.
    adaptive: Option<Adaptive>,
}

#[derive(Debug)]
struct Adaptive {
    controller: Controller,
    /// When the next sample is due, after the throttle's origin.
    next_sample: Duration,
    /// Whether the limit was reached since the last sample.
    saturated: bool,
    /// First-byte latencies (count, total microseconds) at the last sample.
    latency_mark: (u64, u64),
    /// Requests that gave their slot back since the last sample.
    completed: usize,
    /// Whether the last sample changed the limit: the next waits for a whole round.
    changed: bool,
    /// First-byte latencies (count, total microseconds) when the throttle last looked.
    latency_seen: (u64, u64),
}

impl State {
    fn has_free_slot(&self) -> bool {
        (self.in_flight as f64) < self.limit.floor()
    }
}

/// A request waiting in [`Throttle::acquire`]: counted among the waiting ones from its first
/// wait until it takes a slot or is dropped (cancelled), when the next one is woken if a slot is
/// free (the ones behind it let it go first).
struct Waiter<'a> {
    throttle: &'a Throttle,
    waiting: bool,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if self.waiting {
            let next = {
                let mut state = self.throttle.lock();
                state.waiting -= 1;
                state.waiting > 0 && state.has_free_slot()
            };
            if next {
                self.throttle.released.notify_one();
            }
        }
    }
}

/// The limit on requests in flight shared by every transfer of one client; adaptive unless the
/// client's concurrency is pinned. Read it with [`Throttle::limit`] (cheap: one atomic load).
#[derive(Debug)]
pub struct Throttle {
    /// The fixed mode's maximum.
    max: f64,
    state: Mutex<State>,
    released: Notify,
    /// The current limit, readable without the lock.
    limit_now: AtomicUsize,
    /// The highest limit so far.
    max_reached: AtomicUsize,
    /// Where answers count their bytes, and the adaptive mode reads the bytes moved and the
    /// first-byte latencies.
    metrics: Option<Arc<ConnectionMetrics>>,
    origin: Instant,
}

/// A slot held while one request is in flight; dropping it (or [`ThrottlePermit::release`])
/// frees the slot. It also counts the bytes of the request's answer.
#[derive(Debug)]
pub(crate) struct ThrottlePermit {
    throttle: Arc<Throttle>,
    held: bool,
}

impl ThrottlePermit {
    /// Gives the slot back now; the permit still counts bytes.
    pub(crate) fn release(&mut self) {
        if std::mem::take(&mut self.held) {
            self.throttle.give_back();
        }
    }

    /// Whether the slot is still held.
    pub(crate) fn is_held(&self) -> bool {
        self.held
    }

    /// Counts `bytes` of the answer's body as received.
    pub(crate) fn count_received(&self, bytes: u64) {
        if let Some(metrics) = &self.throttle.metrics {
            metrics.count_received(bytes);
        }
    }
}

impl Drop for ThrottlePermit {
    fn drop(&mut self) {
        self.release();
    }
}

impl Throttle {
    /// A fixed limiter allowing at most `max` requests in flight (less while throttled).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self::with_state(max as f64, max, None, None)
    }

    /// [`Throttle::new`], counting the bytes its requests receive into `metrics`.
    pub(crate) fn fixed(max: usize, metrics: Arc<ConnectionMetrics>) -> Self {
        let max = max.max(1);
        Self::with_state(max as f64, max, None, Some(metrics))
    }

    /// An adaptive limiter: the controller starts it at `start` requests and keeps it at most
    /// `max`, from the bytes and first-byte latencies counted in `metrics`.
    pub(crate) fn adaptive(start: usize, max: usize, metrics: Arc<ConnectionMetrics>) -> Self {
        let controller = Controller::new(start, max);
        let limit = controller.limit();
        let adaptive = Adaptive {
            controller,
            next_sample: Duration::ZERO,
            saturated: false,
            latency_mark: (0, 0),
            completed: 0,
            changed: false,
            latency_seen: (0, 0),
        };
        Self::with_state(max as f64, limit, Some(adaptive), Some(metrics))
    }

    fn with_state(max: f64, limit: usize, adaptive: Option<Adaptive>, metrics: Option<Arc<ConnectionMetrics>>) -> Self {
        Self {
            max,
            state: Mutex::new(State {
                limit: limit as f64,
                in_flight: 0,
                waiting: 0,
                peak_in_flight: 0,
                throttled: 0,
                adaptive,
            }),
            released: Notify::new(),
            limit_now: AtomicUsize::new(limit),
            max_reached: AtomicUsize::new(limit),
            metrics,
            origin: Instant::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a free slot. Slots go to waiting requests in the order they began to wait: a
    /// request that has not waited yet takes none while another waits, and each slot given
    /// back wakes the longest waiting one (`Notify` wakes in FIFO order), so no request waits for
    /// longer than the ones before it (16 callers sharing 8 slots all see about the same wait).
    pub(crate) async fn acquire(self: &Arc<Self>) -> ThrottlePermit {
        let mut waiter = Waiter { throttle: self, waiting: false };
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            // Registered before the state is read: a slot given back after the read wakes it.
            notified.as_mut().enable();
            let grew = {
                let mut state = self.lock();
                let idle = state.in_flight == 0;
                let grew = self.tick(&mut state, idle);
                let turn = waiter.waiting || state.waiting == 0;
                if turn && state.has_free_slot() {
                    if std::mem::take(&mut waiter.waiting) {
                        state.waiting -= 1;
                    }
                    state.in_flight += 1;
                    state.peak_in_flight = state.peak_in_flight.max(state.in_flight);
                    if !state.has_free_slot() {
                        if let Some(adaptive) = state.adaptive.as_mut() {
                            adaptive.saturated = true;
                        }
                    }
                    // Another free slot (the limit grew) goes to the next waiting request.
                    let next = state.waiting > 0 && state.has_free_slot();
                    drop(state);
                    if grew {
                        self.released.notify_waiters();
                    } else if next {
                        self.released.notify_one();
                    }
                    return ThrottlePermit { throttle: self.clone(), held: true };
                }
                if !waiter.waiting {
                    waiter.waiting = true;
                    state.waiting += 1;
                }
                if let Some(adaptive) = state.adaptive.as_mut() {
                    adaptive.saturated = true;
                }
                grew
            };
            if grew {
                self.released.notify_waiters();
            }
            notified.await;
        }
    }

    /// Frees a slot (and takes a sample if one is due).
    fn give_back(&self) {
        let grew = {
            let mut state = self.lock();
            state.in_flight -= 1;
            if let Some(adaptive) = state.adaptive.as_mut() {
                adaptive.completed += 1;
            }
            self.tick(&mut state, false)
        };
        if grew {
            self.released.notify_waiters();
        } else {
            self.released.notify_one();
        }
    }

    /// Adaptive mode: takes a sample if one is due and applies the controller's answer. An
    /// `idle` client (nothing in flight) starts a new measurement instead of judging the time
    /// since the last sample. Returns whether the limit grew.
    fn tick(&self, state: &mut State, idle: bool) -> bool {
        let Some(adaptive) = state.adaptive.as_mut() else { return false };
        // The lowest first-byte latency (whether the path is long) from the few requests
        // answered since the throttle last looked, every time it looks: an interval's mean
        // counts requests queued behind others (a loaded loopback showed a mean above 10 ms,
        // and the controller took it for a long path and doubled to 32).
        if let Some(metrics) = self.metrics.as_deref() {
            let (count, micros) = metrics.first_byte_totals();
            let (seen, seen_micros) = std::mem::replace(&mut adaptive.latency_seen, (count, micros));
            let before = adaptive.controller.limit();
            if count > seen
                && adaptive.controller.note_latency(Duration::from_micros((micros - seen_micros) / (count - seen)))
            {
                // The path showed itself long during slow start's warm-up: the limit grew at once.
                let after = adaptive.controller.limit();
                adaptive.changed = true;
                tracing::debug!(from = before, to = after, "concurrency limit (a long path)");
                self.set_limit(state, after as f64);
                return after > before;
            }
        }
        let at = self.origin.elapsed();
        // Judged once the interval has passed and half a round of requests completed (an
        // upload's bytes count a part at a time, when the store acknowledges it); after a change
        // of the limit, a whole round, so that requests started at the new limit have ended
        // (an upload's added requests show no bytes before their first part is acknowledged:
        // judged sooner, a doubling on a 20 ms path looked like no gain and was undone).
        let limit = adaptive.controller.limit();
        let round = if adaptive.changed { limit } else { limit.div_ceil(2) };
        if at < adaptive.next_sample || (!idle && adaptive.completed < round) {
            return false;
        }
        adaptive.completed = 0;
        let metrics = self.metrics.as_deref();
        let bytes = metrics.map_or(0, |m| m.bytes_received() + m.bytes_sent());
        let (count, micros) = metrics.map_or((0, 0), ConnectionMetrics::first_byte_totals);
        let (count_then, micros_then) = std::mem::replace(&mut adaptive.latency_mark, (count, micros));
        let latency =
            (count > count_then).then(|| Duration::from_micros((micros - micros_then) / (count - count_then)));
        let sample = Sample { at, bytes, latency, saturated: std::mem::take(&mut adaptive.saturated) };
        let before = adaptive.controller.limit();
        let after = if idle {
            adaptive.controller.resume_after_idle(sample);
            adaptive.controller.limit()
        } else {
            adaptive.controller.observe(sample)
        };
        adaptive.next_sample = at + adaptive.controller.interval();
        adaptive.changed = after != before;
        tracing::trace!(
            at_ms = sample.at.as_millis() as u64,
            bytes = sample.bytes,
            latency_us = sample.latency.map_or(0, |l| l.as_micros() as u64),
            saturated = sample.saturated,
            idle,
            limit = after,
            "concurrency sample"
        );
        if after != before {
            tracing::debug!(from = before, to = after, "concurrency limit");
        }
        self.set_limit(state, after as f64);
        after > before
    }

    fn set_limit(&self, state: &mut State, limit: f64) {
        state.limit = limit;
        let whole = limit.floor() as usize;
        self.limit_now.store(whole, Ordering::Relaxed);
        self.max_reached.fetch_max(whole, Ordering::Relaxed);
    }

    /// A throttling answer: halve the limit (adaptive: at most once per controller interval).
    pub(crate) fn record_throttle(&self) {
        let mut state = self.lock();
        state.throttled += 1;
        let limit = match state.adaptive.as_mut() {
            Some(adaptive) => adaptive.controller.throttled(self.origin.elapsed()) as f64,
            None => (state.limit / 2.0).max(MIN_LIMIT),
        };
        self.set_limit(&mut state, limit);
    }

    /// A success: in fixed mode, grow the limit by `1/limit`, up to the maximum (the adaptive
    /// mode grows from its samples).
    pub(crate) fn record_success(&self) {
        let grew = {
            let mut state = self.lock();
            if state.adaptive.is_some() || state.limit >= self.max {
                false
            } else {
                let before = state.limit.floor();
                let limit = (state.limit + 1.0 / state.limit).min(self.max);
                self.set_limit(&mut state, limit);
                limit.floor() > before
            }
        };
        if grew {
            self.released.notify_one();
        }
    }

    /// The current limit on requests in flight: the controller's choice, or in fixed mode the
    /// (throttled) maximum. One atomic load, cheap enough to sample often (progress displays,
    /// charts).
    pub fn limit(&self) -> usize {
        self.limit_now.load(Ordering::Relaxed)
    }

    /// The highest [`limit`](Self::limit) so far.
    pub fn max_limit_reached(&self) -> usize {
        self.max_reached.load(Ordering::Relaxed)
    }

    /// The most the limit can reach: the connection cap in adaptive mode.
    pub fn max_limit(&self) -> usize {
        self.max as usize
    }

    /// Whether the controller sets the limit (the client's concurrency is not pinned).
    pub fn is_adaptive(&self) -> bool {
        self.lock().adaptive.is_some()
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// The most requests that were in flight at once so far.
    pub fn peak_in_flight(&self) -> usize {
        self.lock().peak_in_flight
    }

    /// Starts the peaks ([`max_limit_reached`](Self::max_limit_reached),
    /// [`peak_in_flight`](Self::peak_in_flight)) afresh from the current values, for figures per
    /// period (a benchmark's scenario, a dashboard's interval).
    pub fn reset_peaks(&self) {
        let mut state = self.lock();
        state.peak_in_flight = state.in_flight;
        self.max_reached.store(self.limit_now.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Throttling answers seen so far.
    pub fn throttled(&self) -> u64 {
        self.lock().throttled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_throttle_and_recovers_additively() {
        let throttle = Throttle::new(16);
        assert_eq!(throttle.limit(), 16);
        throttle.record_throttle();
        assert_eq!(throttle.limit(), 8);
        for _ in 0..10 {
            throttle.record_throttle();
        }
        assert_eq!(throttle.limit(), 1);
        // From 1, about limit successes add one slot.
        let mut successes = 0;
        while throttle.limit() < 16 {
            throttle.record_success();
            successes += 1;
            assert!(successes < 1000, "never recovered");
        }
        assert!(successes > 15, "recovered too fast: {successes}");
        assert_eq!(throttle.throttled(), 11);
    }

    #[tokio::test]
    async fn waits_when_full() {
        let throttle = Arc::new(Throttle::new(1));
        let first = throttle.acquire().await;
        let second = tokio::time::timeout(Duration::from_millis(50), throttle.acquire()).await;
        assert!(second.is_err(), "second slot given beyond the limit");
        drop(first);
        let _second = tokio::time::timeout(Duration::from_secs(1), throttle.acquire()).await.unwrap();
        assert_eq!(throttle.peak_in_flight(), 1);
    }

    #[tokio::test]
    async fn a_waiting_request_takes_a_freed_slot_before_a_newcomer() {
        let throttle = Arc::new(Throttle::new(1));
        let first = throttle.acquire().await;
        let mut waiting = Box::pin(throttle.acquire());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        drop(first);
        // The slot is free, but a request waits for it: a newcomer queues behind it.
        let mut newcomer = Box::pin(throttle.acquire());
        assert!(futures::poll!(newcomer.as_mut()).is_pending());
        let second = tokio::time::timeout(Duration::from_secs(1), waiting).await.expect("the waiting request");
        assert!(futures::poll!(newcomer.as_mut()).is_pending());
        drop(second);
        let _third = tokio::time::timeout(Duration::from_secs(1), newcomer).await.expect("the newcomer, next");
        assert_eq!(throttle.peak_in_flight(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_does_not_hold_up_the_ones_behind_it() {
        let throttle = Arc::new(Throttle::new(1));
        let first = throttle.acquire().await;
        let mut ahead = Box::pin(throttle.acquire());
        let mut behind = Box::pin(throttle.acquire());
        assert!(futures::poll!(ahead.as_mut()).is_pending());
        assert!(futures::poll!(behind.as_mut()).is_pending());
        drop(first);
        // Woken, then dropped before it ran: the slot goes to the next one.
        drop(ahead);
        let _second = tokio::time::timeout(Duration::from_secs(1), behind).await.expect("the request behind");
        assert_eq!(throttle.in_flight(), 1);
        assert_eq!(throttle.lock().waiting, 0);
    }

    #[tokio::test]
    async fn adaptive_starts_at_its_start_and_halves_once_per_burst() {
        let throttle = Arc::new(Throttle::adaptive(8, 64, Arc::default()));
        assert!(throttle.is_adaptive());
        assert_eq!((throttle.limit(), throttle.max_limit()), (8, 64));
        let permits: Vec<_> = futures::future::join_all((0..8).map(|_| throttle.acquire())).await;
        assert_eq!(throttle.in_flight(), 8);
        let ninth = tokio::time::timeout(Duration::from_millis(20), throttle.acquire()).await;
        assert!(ninth.is_err(), "a ninth slot given beyond the limit of 8");
        for _ in 0..5 {
            throttle.record_throttle();
        }
        assert_eq!(throttle.limit(), 4);
        assert_eq!(throttle.throttled(), 5);
        drop(permits);
        assert_eq!(throttle.in_flight(), 0);
        assert_eq!(throttle.max_limit_reached(), 8);
    }
}
