//! Unit tests of the [`Controller`]: synthetic throughput and latency curves fed through it,
//! checking where the limit goes.

use super::*;

const MB: f64 = 1_000_000.0;

/// The start these tests drive the state machine from (a client starts at [`START_LIMIT`]; the
/// curves below were written for 8, the smallest start the controller must handle well).
const START: usize = 8;

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
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let limits = drive(&mut controller, 40, |n| (n as f64 * 40.0 * MB).min(1000.0 * MB), flat_latency);
    // One interval to warm up, then 8 → 16, and as 16 moved twice what 8 did, 16 → 64:
    // within three intervals (300 ms).
    assert_eq!(&limits[..3], &[8, 16, 64], "{limits:?}");
    // 64 moves 1 GB/s, 56% more than 16: at the cap, it stays until its first probe (down,
    // since it cannot go up), ...
    assert!(limits[3..11].iter().all(|&l| l == 64), "{limits:?}");
    // ... which finds the same 1 GB/s with fewer requests, and so on down to where the link
    // stops being full: 64 → 48 → 36 → 27, 21 too few.
    assert_eq!(&limits[11..16], &[48, 36, 27, 21, 27], "{limits:?}");
    // There it stays, probing 21 and 33 now and then.
    assert!(limits[16..].iter().all(|&l| l == 21 || l == 27 || l == 33), "{limits:?}");
    assert_eq!(*limits.last().unwrap(), 27, "{limits:?}");
}

#[test]
fn rising_curve_without_a_link_cap_grows_to_the_connection_cap_and_stays() {
    let mut controller = Controller::new(START, 48);
    let limits = drive(&mut controller, 20, |n| n as f64 * 40.0 * MB, flat_latency);
    assert_eq!(&limits[..3], &[8, 16, 48], "{limits:?}");
    // Probes down (48 → 36) lose in proportion: each is undone after one interval.
    assert!(limits[2..].iter().all(|&l| l == 48 || l == 36), "{limits:?}");
    assert!(limits.windows(2).all(|w| w[0] != 36 || w[1] == 48), "{limits:?}");
    assert!(limits[2..].iter().filter(|&&l| l == 48).count() * 10 >= limits[2..].len() * 8, "{limits:?}");
}

#[test]
fn flat_curve_tries_fewer_once_and_settles_at_the_start() {
    // Loopback: 8 requests already move all the machine can. Fewer (6) move as much: no sign
    // that more would move more, and none below the start is kept.
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let limits = drive(&mut controller, 50, |_| 2000.0 * MB, |_| Duration::from_micros(500));
    assert_eq!(&limits[..3], &[8, 6, 8], "{limits:?}");
    assert_eq!(controller.max_reached(), 10, "the probes up only: {limits:?}");
    // Probes (8 → 10) are undone: never above 10 again, and back at 8.
    assert!(limits[3..].iter().all(|&l| l == 8 || l == 10), "{limits:?}");
    assert_eq!(*limits.last().unwrap(), 8);
}

#[test]
fn a_short_path_only_doubles_whatever_the_gain() {
    // Loopback with noisy intervals: 6 seemed 40% slower than 8, 12 80% faster than 8, 18 no
    // faster than 12. Steps of a half, never a quadrupling.
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let curve = |n: usize| match n {
        0..8 => 600.0 * MB,
        8..12 => 1000.0 * MB,
        _ => 1800.0 * MB,
    };
    let limits = drive(&mut controller, 6, curve, |_| Duration::from_micros(500));
    assert_eq!(&limits[..5], &[8, 6, 12, 18, 12], "{limits:?}");
    assert_eq!(controller.max_reached(), 18);
}

#[test]
fn small_gain_from_a_doubling_keeps_it_without_doubling_again() {
    // 16 requests move 15% more than 8, 32 no more than 16.
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let curve = |n: usize| if n >= 16 { 1150.0 * MB } else { 1000.0 * MB };
    let limits = drive(&mut controller, 30, curve, flat_latency);
    assert_eq!(&limits[..3], &[8, 16, 16], "{limits:?}");
    assert!(limits.iter().all(|&l| l <= 20), "{limits:?}");
    assert_eq!(*limits.last().unwrap(), 16);
}

#[test]
fn falling_curve_settles_at_its_peak() {
    // Throughput peaks at 16 requests and falls beyond (a store that thrashes).
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let curve = |n: usize| {
        let n = n as f64;
        if n <= 16.0 {
            n * 50.0 * MB
        } else {
            (800.0 - (n - 16.0) * 20.0).max(50.0) * MB
        }
    };
    let limits = drive(&mut controller, 40, curve, flat_latency);
    // 16 doubled 8's throughput, so 64 is tried, then 32 (worse than 16), then 16 again.
    assert_eq!(&limits[..5], &[8, 16, 64, 32, 16], "{limits:?}");
    assert!(limits[4..].iter().all(|&l| (12..=20).contains(&l)), "{limits:?}");
    // Probes (16 → 12, 16 → 20, alternating) take one interval in nine.
    assert!(limits[4..].iter().filter(|&&l| l == 16).count() * 10 >= limits[4..].len() * 8, "{limits:?}");
}

#[test]
fn climbing_latency_with_less_throughput_than_fewer_requests_backs_off() {
    // The store queues: first-byte latency grows with every request beyond 8, and so many
    // requests move less than 8 did.
    let latency = |n: usize| Duration::from_millis(5) * (n.max(8) as u32) / 8;
    let curve = |n: usize| (1000.0 - (n.max(8) - 8) as f64 * 15.0) * MB;
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    controller.phase = Phase::Steady { held: 0 };
    let held = drive(&mut controller, 3, curve, latency);
    assert_eq!(held, [8, 8, 8]);
    // Probes went up to 32 (as if the store had been faster then).
    controller.set(32);
    let limits = drive(&mut controller, 12, curve, latency);
    // 32 → 24 → 18 → 14: at 14, latency (8.75 ms) is below twice 5 ms and throughput within
    // a tenth of 8's; the probes that follow go down, since fewer requests move more.
    assert_eq!(&limits[..3], &[24, 18, 14], "{limits:?}");
    assert!(limits[3..].iter().all(|&l| (8..=14).contains(&l)), "{limits:?}");
    assert!(limits.windows(2).all(|w| w[1] <= w[0]), "{limits:?}");
}

#[test]
fn climbing_latency_alone_holds_without_backing_off() {
    // Latency doubles with 16 requests, throughput is the same: hold, no probe.
    let mut controller = Controller::new(16, DEFAULT_MAX_CONCURRENCY);
    controller.phase = Phase::Steady { held: 0 };
    controller.base_latency = Some(Duration::from_millis(5));
    let limits = drive(&mut controller, 30, |_| 1000.0 * MB, |_| Duration::from_millis(20));
    assert!(limits.iter().all(|&l| l == 16), "{limits:?}");
}

#[test]
fn an_idle_client_starts_slow_start_again() {
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    // Loopback-like: settles at 8.
    drive(&mut controller, 20, |_| 2000.0 * MB, flat_latency);
    assert!((8..=10).contains(&controller.limit()), "at {} (8, or probing 10)", controller.limit());
    let at = controller.last.unwrap().0 + Duration::from_secs(5);
    controller.resume_after_idle(Sample { at, bytes: 0, latency: None, saturated: false });
    // Then a thin link: the path is known long, so the warm-up ends with a doubling, then
    // doubling (not quadrupling: judged against the warm-up's rate), then quadrupling.
    let limits = drive(&mut controller, 3, |n| n as f64 * 40.0 * MB, flat_latency);
    assert_eq!(limits, [16, 32, 64]);
}

#[test]
fn throttling_halves_once_per_burst_and_recovers_additively() {
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let limits = drive(&mut controller, 3, |n| n as f64 * 40.0 * MB, flat_latency);
    assert_eq!(limits, [8, 16, 64]);
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
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let mut bytes = 0;
    for i in 1..=20u32 {
        // Four requests at a time never reach the limit of 8: nothing to learn.
        bytes += 4_000_000 * u64::from(i % 3);
        let sample = Sample { at: MIN_INTERVAL * i, bytes, latency: Some(flat_latency(4)), saturated: false };
        assert_eq!(controller.observe(sample), START);
    }
    assert_eq!(controller.max_reached(), START);
    // Then a transfer that uses the limit: slow start goes on from there, its warm-up ending
    // with a doubling (the unsaturated intervals showed the path long).
    let limits = drive(&mut controller, 3, |n| n as f64 * 40.0 * MB, flat_latency);
    assert_eq!(limits, [16, 32, 64]);
}

#[test]
fn interval_follows_the_lowest_first_byte_latency_within_bounds() {
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    assert_eq!(controller.interval(), MIN_INTERVAL);
    let sample = |at, latency, saturated| Sample { at, bytes: 0, latency: Some(latency), saturated };
    controller.observe(sample(Duration::ZERO, Duration::from_millis(80), false));
    controller.observe(sample(Duration::from_secs(1), Duration::from_millis(80), false));
    // Idle, on a path now known long: the next busy interval is a warm-up, half of 4 × 80 ms.
    assert_eq!(controller.interval(), Duration::from_millis(160));
    // It ends with a doubling; the next interval is measured, and whole.
    controller.observe(sample(Duration::from_millis(1160), Duration::from_millis(80), true));
    assert_eq!(controller.limit(), 2 * START);
    assert_eq!(controller.interval(), Duration::from_millis(320));
    // A slower interval does not lengthen it: the lowest latency counts.
    controller.observe(sample(Duration::from_millis(1480), Duration::from_secs(5), true));
    assert_eq!(controller.interval(), Duration::from_millis(320));
    let mut slow = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    slow.observe(sample(Duration::ZERO, Duration::from_secs(1), true));
    slow.observe(sample(Duration::from_secs(1), Duration::from_secs(1), true));
    assert_eq!(slow.interval(), MAX_INTERVAL);
    // An interval's mean counts connections opening and requests queued: a request seen alone
    // that was faster sets the interval (4 × 50 ms, not 4 × 120 ms).
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    controller.observe(sample(Duration::ZERO, Duration::from_millis(120), true));
    controller.observe(sample(Duration::from_millis(500), Duration::from_millis(120), true));
    controller.note_latency(Duration::from_millis(50));
    assert_eq!(controller.interval(), Duration::from_millis(200));
}

#[test]
fn limits_stay_within_one_and_the_cap() {
    let mut controller = Controller::new(100, 4);
    assert_eq!(controller.limit(), 4);
    let limits = drive(&mut controller, 10, |n| n as f64 * MB, flat_latency);
    assert!(limits.iter().all(|&l| (1..=4).contains(&l)), "{limits:?}");
    assert_eq!(Controller::new(0, 0).limit(), 1);
}

/// Loopback-like: a fraction of a millisecond to the first byte.
fn loopback_latency(_: usize) -> Duration {
    Duration::from_micros(500)
}

#[test]
fn flat_curve_on_a_short_path_holds_the_start_without_trying_more() {
    // Loopback: 16 requests (a client's start) move no more than 12.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    let limits = drive(&mut controller, 60, |_| 2000.0 * MB, loopback_latency);
    // Warm-up, then a probe down (12 move as much: no sign that more would move more), back to
    // the start, never above it but for the probes up (16 → 20), each undone.
    assert_eq!(&limits[..3], &[16, 12, 16], "{limits:?}");
    assert!(limits[3..].iter().all(|&l| l == 16 || l == 20), "{limits:?}");
    assert!(limits.windows(2).all(|w| w[0] != 20 || w[1] == 16), "{limits:?}");
    assert_eq!(*limits.last().unwrap(), 16);
}

#[test]
fn a_short_path_grows_only_after_fewer_requests_moved_less() {
    // 2 ms to the first byte, 40 MB/s per connection, a 1 GB/s link: full at 25 requests.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    let curve = |n: usize| (n as f64 * 40.0 * MB).min(1000.0 * MB);
    let limits = drive(&mut controller, 40, curve, |_| Duration::from_millis(2));
    // 12 moves a quarter less than 16: undone, and slow start grows by half (24, 54% more
    // throughput); 36 adds 4%: undone.
    assert_eq!(&limits[..5], &[16, 12, 24, 36, 24], "{limits:?}");
    // Probes down (18) and up (30) are undone.
    assert!(limits[5..].iter().all(|&l| l == 18 || l == 24 || l == 30), "{limits:?}");
    assert!(limits[5..].iter().filter(|&&l| l == 24).count() * 10 >= limits[5..].len() * 8, "{limits:?}");
}

#[test]
fn a_limit_carried_over_an_idle_time_is_checked_again() {
    // A previous transfer left the limit at 36; the next one moves as much with 8 (loopback).
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    controller.set(36);
    controller.phase = Phase::Steady { held: 3 };
    controller.resume_after_idle(Sample { at: Duration::from_secs(5), bytes: 0, latency: None, saturated: false });
    let limits = drive(&mut controller, 20, |_| 2000.0 * MB, loopback_latency);
    // Warm-up at 36, then down a quarter per interval to the start.
    assert_eq!(&limits[..4], &[36, 27, 21, 16], "{limits:?}");
    assert!(limits[4..].iter().all(|&l| l == 16 || l == 20), "{limits:?}");
}

#[test]
fn a_limit_that_stops_paying_comes_back_down() {
    // A long path whose link is full at 25 requests, then (another client took most of it)
    // at 10: the limit follows it down without an idle time.
    let mut controller = Controller::new(START, DEFAULT_MAX_CONCURRENCY);
    let before = drive(&mut controller, 40, |n| (n as f64 * 40.0 * MB).min(1000.0 * MB), flat_latency);
    assert_eq!(*before.last().unwrap(), 27, "{before:?}");
    let after = drive(&mut controller, 60, |n| (n as f64 * 40.0 * MB).min(400.0 * MB), flat_latency);
    let settled = *after.last().unwrap();
    assert!((10..=13).contains(&settled), "{after:?}");
    assert!(after[after.len() - 20..].iter().all(|&l| (8..=16).contains(&l)), "{after:?}");
}

#[test]
fn the_latency_of_a_request_made_alone_tells_a_long_path() {
    // An upload's CreateMultipartUpload is answered before its parts start: the client was idle
    // at that sample, yet its 20 ms say the path is long, so slow start doubles.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    let sample = Sample { at: Duration::from_millis(30), bytes: 0, latency: Some(flat_latency(1)), saturated: false };
    controller.resume_after_idle(sample);
    // The parts' PUTs tell no first-byte latency.
    let (mut at, mut bytes) = (sample.at, 0);
    let limits: Vec<usize> = (0..3)
        .map(|_| {
            at += MIN_INTERVAL;
            bytes += (controller.limit() as f64 * 40.0 * MB * MIN_INTERVAL.as_secs_f64()) as u64;
            controller.observe(Sample { at, bytes, latency: None, saturated: true })
        })
        .collect();
    // Known long before the parts started: the warm-up ends with a doubling (one interval
    // sooner than a path found long by the warm-up itself, as in the rising curve above).
    assert_eq!(limits, [32, 64, 64]);
}

#[test]
fn the_doubling_after_an_unmeasured_one_is_not_a_quadrupling() {
    // Known long when slow start begins; connections of 40 MB/s each, no link cap, room for 256. The warm-up at 16 is
    // held down by connections opening (half its rate here): 32 against it looks like four
    // times the rate, but may only double; 64 against 32 is measured, and quadruples.
    let mut controller = Controller::new(START_LIMIT, 256);
    let (mut at, mut bytes) = (Duration::ZERO, 0u64);
    controller.resume_after_idle(Sample { at, bytes, latency: Some(flat_latency(1)), saturated: false });
    let limits: Vec<usize> = (0..3)
        .map(|interval| {
            let per_connection = if interval == 0 { 20.0 } else { 40.0 };
            at += MIN_INTERVAL;
            bytes += (controller.limit() as f64 * per_connection * MB * MIN_INTERVAL.as_secs_f64()) as u64;
            controller.observe(Sample { at, bytes, latency: Some(flat_latency(1)), saturated: true })
        })
        .collect();
    assert_eq!(limits, [32, 64, 256]);
}

#[test]
fn a_path_is_long_by_its_fastest_requests_not_by_an_interval_s_mean() {
    // A loaded loopback: 16 requests queued at the store make an interval's mean first-byte
    // latency 15 ms, though a request answered alone took 1 ms. Short path: a probe down, no
    // doubling.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    controller.note_latency(Duration::from_millis(1));
    let limits = drive(&mut controller, 3, |_| 1500.0 * MB, |_| Duration::from_millis(15));
    assert_eq!(limits, [16, 12, 16]);
    // Where every request waits 20 ms, the path is long: seen during the warm-up, at once
    // four times the requests.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    assert!(controller.note_latency(Duration::from_millis(20)));
    let limits = drive(&mut controller, 2, |n| n as f64 * 40.0 * MB, flat_latency);
    assert_eq!(limits, [64, 64]);
}

#[test]
fn a_path_shown_long_during_the_warm_up_quadruples_the_limit_at_once() {
    // A batch: its listing (one request, alone) answers after 20 ms, before its downloads start.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    controller.resume_after_idle(Sample { at: Duration::ZERO, bytes: 0, latency: None, saturated: false });
    assert!(controller.note_latency(Duration::from_millis(20)));
    assert_eq!(controller.limit(), EARLY_GROWTH * START_LIMIT);
    // Once: a later request's latency changes nothing.
    assert!(!controller.note_latency(Duration::from_millis(25)));
    assert_eq!(controller.limit(), EARLY_GROWTH * START_LIMIT);
    // The warm-up's end measures, without growing again.
    let sample = Sample { at: MIN_INTERVAL, bytes: 100_000_000, latency: Some(flat_latency(1)), saturated: true };
    assert_eq!(controller.observe(sample), EARLY_GROWTH * START_LIMIT);
    // A short path (loopback) does not jump: it grows only on evidence.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    controller.resume_after_idle(Sample { at: Duration::ZERO, bytes: 0, latency: None, saturated: false });
    assert!(!controller.note_latency(Duration::from_micros(300)));
    assert_eq!(controller.limit(), START_LIMIT);
    // Nor does a path found long after slow start measured something.
    let mut controller = Controller::new(START_LIMIT, DEFAULT_MAX_CONCURRENCY);
    drive(&mut controller, 2, |_| 1000.0 * MB, |_| Duration::from_millis(1));
    let limit = controller.limit();
    assert!(!controller.note_latency(Duration::from_millis(20)));
    assert_eq!(controller.limit(), limit);
}
