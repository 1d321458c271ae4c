//! Network emulation: every connection of the server shaped like one over a
//! long, thin link — bandwidth per connection in each direction, a round trip
//! before each answer and on each new connection, an optional link shared by
//! all connections, and jitter.
//!
//! A [`NetworkSpec`] is parsed from a comma-separated list of `name=value` items
//! (the style of [`FaultSpec`](crate::FaultSpec)):
//!
//! ```text
//! spec     = item *( "," item )
//! item     = "down=" rate        ; per connection, server → client (GET bodies, all answers)
//!          / "up=" rate          ; per connection, client → server (PUT bodies, all requests)
//!          / "bw=" rate          ; both of the above (either may still be given apart)
//!          / "rtt=" duration     ; round-trip time (default 0)
//!          / "jitter=" duration  ; each round trip drawn uniformly from rtt ± jitter (default 0)
//!          / "link=" rate        ; one link all connections share, in each direction (default none)
//!          / "seed=" u64         ; seed of the jitter (default 0)
//! rate     = decimal [ prefix ] ( "B" / "b" / "bit" ) ( "/s" / "ps" )
//! prefix   = "k" / "K" / "M" / "G" / "T"        ; 1000, 1000², …
//!          / "Ki" / "Mi" / "Gi" / "Ti"          ; 1024, 1024², …
//! duration = decimal ( "us" / "ms" / "s" )
//! ```
//!
//! `B` is a byte and `b` (or `bit`) a bit: `40MB/s` is 40,000,000 bytes a second,
//! `1Gb/s` 125,000,000, `100MiB/s` 104,857,600. Unset rates are unlimited.
//!
//! Example — a connection to S3 from a nearby region, 20 ms away, each connection
//! carrying 40 MB/s, the host's NIC 1 GB/s: `rtt=20ms,bw=40MB/s,link=1GB/s`; with
//! ±2 ms of jitter: `rtt=20ms,jitter=2ms,seed=7,bw=40MB/s,link=1GB/s`.
//!
//! **Semantics** (carried out by a `ShapedStream` around each accepted connection, so
//! it shapes headers and bodies, spliced or copied, alike):
//! - *Bandwidth*: each direction of each connection is paced by a token bucket
//!   of its rate (a burst of 5 ms of sending at most, 16 KiB to 4 MiB; a new
//!   connection starts with none; debt paid off before the next read or write);
//!   with `link=`, every read and write also
//!   draws from the link's bucket of that direction, shared by all connections.
//!   Writes wait for tokens and are cut to one burst; reads wait while the
//!   connection (or link) is in debt, and the debt they run up is paid before the
//!   next one — so the rate is exact over time, bursts are at most ~5 ms long.
//! - *Round trip*: the first byte of each answer waits until one round trip after
//!   the last request byte the server read before it crossed the emulated link
//!   (was read, and the receiving buckets' debt for it paid off; the request
//!   travelling half a round trip out, its answer half a round trip back).
//!   Without `rtt=`, an answer still waits for its request to cross the link. A new
//!   connection's first request is read one round trip after it was accepted
//!   (TCP's handshake), so the first answer on a new connection comes two round
//!   trips after the connect, each later one one round trip after its request —
//!   what a client sees on a real network, where reusing connections pays.
//!   With `jitter=J` each of these waits is `rtt` plus a uniform draw from
//!   `[-J, J]` (never below zero), a pure function of `(seed, connection number,
//!   wait number)`: connections are numbered in accept order, so the same seed
//!   and the same sequence of connections give the same delays.
//!
//! Not emulated: loss, reordering, TCP's slow start and windows (the kernel's
//! loopback socket buffers still accept a few MiB ahead of a paced reader),
//! and per-connection handshake cost beyond its round trip. Timers are tokio's,
//! with millisecond resolution: round trips below ~1 ms are not meaningful.
//!
//! **Cost.** Spliced GET bodies stay spliced: a splice out of the connection's
//! pipe is cut to the bytes the buckets allow, so a shaped body is neither
//! copied nor read ahead of its pace (the pipe fills only as it drains). What
//! shaping adds is one timer wake per burst: measured with curl fetching a
//! 200 MB object through `down=40MB/s` (39.7–40.0 MB/s), the server spent
//! ~0.5–0.9 CPU s per GiB against ~0.1–0.4 unshaped, on a loaded 2-core machine.

mod bucket;
mod stream;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use bucket::TokenBucket;
pub(crate) use stream::ShapedStream;

/// A parsed network shape; see the module documentation for the grammar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkSpec {
    /// Bytes per second each connection sends (server → client); `None`: unlimited.
    pub down: Option<u64>,
    /// Bytes per second each connection receives (client → server); `None`: unlimited.
    pub up: Option<u64>,
    /// The round-trip time.
    pub rtt: Duration,
    /// The most a round trip departs from `rtt`, either way.
    pub jitter: Duration,
    /// Bytes per second of the link all connections share, in each direction; `None`: unlimited.
    pub link: Option<u64>,
    /// Seed of the jitter.
    pub seed: u64,
}

impl NetworkSpec {
    /// A network of `rtt` and `bandwidth` bytes per second per connection each way.
    pub fn new(rtt: Duration, bandwidth: u64) -> Self {
        Self { down: Some(bandwidth), up: Some(bandwidth), rtt, ..Self::default() }
    }

    /// Sets the link all connections share (bytes per second, each direction).
    #[must_use]
    pub fn with_link(mut self, link: u64) -> Self {
        self.link = Some(link);
        self
    }

    /// Sets the jitter and its seed.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Duration, seed: u64) -> Self {
        self.jitter = jitter;
        self.seed = seed;
        self
    }

    /// Whether it shapes nothing (every item at its default).
    pub fn is_unshaped(&self) -> bool {
        self.down.is_none() && self.up.is_none() && self.link.is_none() && self.rtt.is_zero() && self.jitter.is_zero()
    }
}

/// Why a network specification did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkSpecError {
    /// An item is not `name=value`.
    #[error("network spec item {item:?} is not of the form name=value")]
    NotAnItem {
        /// The item.
        item: String,
    },
    /// An unknown name.
    #[error("unknown network spec name {name:?} (known: down, up, bw, rtt, jitter, link, seed)")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// A name given twice.
    #[error("network spec name {name:?} is given twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// A value that does not parse.
    #[error("invalid value {value:?} for network spec {name:?}: {reason}")]
    InvalidValue {
        /// The name.
        name: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

const RATE_HINT: &str = "expected a positive rate like 40MB/s, 100MiB/s or 1Gb/s";
const DURATION_HINT: &str = "expected a duration like 20ms, 500us or 1s";

impl FromStr for NetworkSpec {
    type Err = NetworkSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = NetworkSpec::default();
        let mut seen: Vec<&str> = Vec::new();
        let mut both = None;
        for item in s.split(',').map(str::trim) {
            let (name, value) = item
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| NetworkSpecError::NotAnItem { item: item.to_owned() })?;
            if seen.contains(&name) {
                return Err(NetworkSpecError::Duplicate { name: name.to_owned() });
            }
            let invalid =
                |reason| NetworkSpecError::InvalidValue { name: name.to_owned(), value: value.to_owned(), reason };
            let rate = || parse_rate(value).ok_or_else(|| invalid(RATE_HINT));
            let duration = || parse_duration(value).ok_or_else(|| invalid(DURATION_HINT));
            match name {
                "down" => spec.down = Some(rate()?),
                "up" => spec.up = Some(rate()?),
                "bw" => both = Some(rate()?),
                "link" => spec.link = Some(rate()?),
                "rtt" => spec.rtt = duration()?,
                "jitter" => spec.jitter = duration()?,
                "seed" => spec.seed = value.parse().map_err(|_| invalid("expected an unsigned integer"))?,
                _ => return Err(NetworkSpecError::UnknownName { name: name.to_owned() }),
            }
            seen.push(name);
        }
        if let Some(both) = both {
            spec.down = spec.down.or(Some(both));
            spec.up = spec.up.or(Some(both));
        }
        Ok(spec)
    }
}

impl fmt::Display for NetworkSpec {
    /// The spec in the grammar it is parsed from, only the items that shape
    /// something (`rtt=0ms` for a spec that shapes nothing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        match (self.down, self.up) {
            (Some(down), Some(up)) if down == up => items.push(format!("bw={}", Rate(down))),
            (down, up) => {
                items.extend(down.map(|r| format!("down={}", Rate(r))));
                items.extend(up.map(|r| format!("up={}", Rate(r))));
            }
        }
        if !self.rtt.is_zero() || self.is_unshaped() {
            items.push(format!("rtt={}", Micros(self.rtt)));
        }
        if !self.jitter.is_zero() {
            items.push(format!("jitter={}", Micros(self.jitter)));
        }
        if self.seed != 0 {
            items.push(format!("seed={}", self.seed));
        }
        items.extend(self.link.map(|r| format!("link={}", Rate(r))));
        f.write_str(&items.join(","))
    }
}

/// A rate in bytes per second, written in the largest unit that divides it exactly.
struct Rate(u64);

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 8] = [
            (1 << 40, "TiB"),
            (1_000_000_000_000, "TB"),
            (1 << 30, "GiB"),
            (1_000_000_000, "GB"),
            (1 << 20, "MiB"),
            (1_000_000, "MB"),
            (1 << 10, "KiB"),
            (1_000, "kB"),
        ];
        let (div, unit) = UNITS.iter().copied().find(|(div, _)| self.0.is_multiple_of(*div)).unwrap_or((1, "B"));
        write!(f, "{}{unit}/s", self.0 / div)
    }
}

/// A duration in `ms` when whole milliseconds, else in `us`.
struct Micros(Duration);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us.is_multiple_of(1000) {
            write!(f, "{}ms", us / 1000)
        } else {
            write!(f, "{us}us")
        }
    }
}

/// Parses a rate of the grammar into bytes per second; `None` if malformed, zero or too large.
fn parse_rate(s: &str) -> Option<u64> {
    let per = s.strip_suffix("/s").or_else(|| s.strip_suffix("ps"))?;
    let (number, unit) = per.split_at(per.find(|c: char| !(c.is_ascii_digit() || c == '.'))?);
    let (prefix, bits) = if let Some(p) = unit.strip_suffix("bit") {
        (p, true)
    } else if let Some(p) = unit.strip_suffix('B') {
        (p, false)
    } else {
        (unit.strip_suffix('b')?, true)
    };
    let scale: f64 = match prefix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let number: f64 = number.parse().ok()?;
    let bytes = (number * scale / if bits { 8.0 } else { 1.0 }).round();
    #[allow(clippy::cast_precision_loss)] // a bound check; rates are far below 2^53
    let in_range = bytes >= 1.0 && bytes < u64::MAX as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
    in_range.then_some(bytes as u64)
}

fn parse_duration(s: &str) -> Option<Duration> {
    let (n, unit) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else {
        (s.strip_suffix('s')?, 1.0)
    };
    let n: f64 = n.trim().parse().ok()?;
    Duration::try_from_secs_f64(n * unit).ok()
}

/// A running server's network: the shared link buckets and the connection count.
#[derive(Debug)]
pub(crate) struct Network {
    spec: NetworkSpec,
    /// The link's buckets, server → client and client → server.
    link: Option<[Mutex<TokenBucket>; 2]>,
    /// Connections accepted so far (numbers them for the jitter).
    connections: AtomicU64,
}

impl Network {
    /// The network of `spec`, starting now.
    pub(crate) fn new(spec: NetworkSpec) -> Arc<Self> {
        let now = Instant::now();
        let link =
            spec.link.map(|rate| [Mutex::new(TokenBucket::new(rate, now)), Mutex::new(TokenBucket::new(rate, now))]);
        Arc::new(Self { spec, link, connections: AtomicU64::new(0) })
    }

    /// The next connection's number.
    fn number(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::Relaxed)
    }

    /// The round trip numbered `wait` of connection `connection`.
    fn round_trip(&self, connection: u64, wait: u64) -> Duration {
        let jitter = self.spec.jitter;
        if jitter.is_zero() {
            return self.spec.rtt;
        }
        let draw = crate::fault::splitmix64(self.spec.seed ^ crate::fault::splitmix64(connection ^ (wait << 40)));
        let u = crate::fault::unit_interval(draw) * 2.0 - 1.0;
        let rtt = self.spec.rtt.as_secs_f64() + u * jitter.as_secs_f64();
        Duration::from_secs_f64(rtt.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[test]
    fn parses_the_issue_shapes() {
        let s: NetworkSpec = "rtt=20ms,bw=40MB/s,link=1GB/s".parse().unwrap();
        assert_eq!(s, NetworkSpec::new(Duration::from_millis(20), 40 * MB).with_link(1000 * MB));
        let s: NetworkSpec = "rtt=2ms, down=200MB/s".parse().unwrap();
        assert_eq!((s.down, s.up, s.rtt, s.link), (Some(200 * MB), None, Duration::from_millis(2), None));
    }

    #[test]
    fn rates_in_every_unit() {
        for (text, bytes) in [
            ("40MB/s", 40 * MB),
            ("40MBps", 40 * MB),
            ("100MiB/s", 100 << 20),
            ("1Gb/s", 125 * MB),
            ("1Gbit/s", 125 * MB),
            ("10Gbps", 1250 * MB),
            ("2.5GB/s", 2500 * MB),
            ("512KiB/s", 512 << 10),
            ("64kB/s", 64_000),
            ("64KB/s", 64_000),
            ("8b/s", 1),
            ("1000B/s", 1000),
        ] {
            assert_eq!(parse_rate(text), Some(bytes), "{text}");
        }
        for bad in ["40", "40MB", "MB/s", "0MB/s", "-1MB/s", "1XB/s", "1b/s", "1e30TB/s", "40 MB/s"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_what_cannot_work() {
        for (text, name) in [
            ("rtt=20", "rtt"),
            ("down=fast", "down"),
            ("link=0MB/s", "link"),
            ("seed=-1", "seed"),
            ("jitter=2m", "jitter"),
        ] {
            match text.parse::<NetworkSpec>() {
                Err(NetworkSpecError::InvalidValue { name: n, .. }) => assert_eq!(n, name, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!("rtt=1ms,rtt=2ms".parse::<NetworkSpec>(), Err(NetworkSpecError::Duplicate { .. })));
        assert!(matches!("latency=1ms".parse::<NetworkSpec>(), Err(NetworkSpecError::UnknownName { .. })));
        assert!(matches!("".parse::<NetworkSpec>(), Err(NetworkSpecError::NotAnItem { .. })));
        assert!(matches!("rtt".parse::<NetworkSpec>(), Err(NetworkSpecError::NotAnItem { .. })));
    }

    #[test]
    fn bw_sets_both_directions_unless_one_is_given() {
        let s: NetworkSpec = "bw=40MB/s,up=10MB/s".parse().unwrap();
        assert_eq!((s.down, s.up), (Some(40 * MB), Some(10 * MB)));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "bw=40MB/s,rtt=20ms,link=1GB/s",
            "down=200MB/s,rtt=2ms",
            "up=100MiB/s",
            "rtt=1500us,jitter=250us,seed=9",
            "down=125MB/s,up=3B/s,rtt=20ms,jitter=2ms,seed=7,link=1GiB/s",
            "rtt=0ms",
        ] {
            let spec: NetworkSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
            assert_eq!(spec.to_string().parse::<NetworkSpec>().unwrap(), spec);
        }
        assert_eq!("rtt=0ms".parse::<NetworkSpec>().unwrap(), NetworkSpec::default());
        assert!(NetworkSpec::default().is_unshaped());
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let spec: NetworkSpec = "rtt=20ms,jitter=2ms,seed=3".parse().unwrap();
        let (a, b) = (Network::new(spec.clone()), Network::new(spec));
        let draws: Vec<Duration> = (0..200).map(|i| a.round_trip(i % 7, i)).collect();
        assert_eq!(draws, (0..200).map(|i| b.round_trip(i % 7, i)).collect::<Vec<_>>());
        assert!(draws.iter().all(|d| *d >= Duration::from_millis(18) && *d <= Duration::from_millis(22)));
        assert!(
            draws.iter().any(|d| *d < Duration::from_millis(19))
                && draws.iter().any(|d| *d > Duration::from_millis(21))
        );
        let other = Network::new("rtt=20ms,jitter=2ms,seed=4".parse().unwrap());
        assert_ne!(draws, (0..200).map(|i| other.round_trip(i % 7, i)).collect::<Vec<_>>());
        // Never below zero.
        let wide = Network::new("rtt=1ms,jitter=5ms".parse().unwrap());
        assert!((0..100).all(|i| wide.round_trip(0, i) <= Duration::from_millis(6)));
    }
}
