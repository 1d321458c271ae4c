//! [`FaultSpec`]: the parsed fault specification, its parser (the grammar in the
//! [module documentation](super)), its `Display` (which parses back to the same spec) and
//! [`FaultSpecError`], what a spec that does not parse is rejected with.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use http::Method;

use super::outage::{Outage, OutageMode, OutageStart};

/// Default `stall-for`.
const DEFAULT_STALL: Duration = Duration::from_secs(2);

/// A parsed fault specification; see the module documentation for the grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Seed of the per-request decisions.
    pub seed: u64,
    /// Probability of a 503 SlowDown.
    pub slow_down: f64,
    /// Probability of a 500 InternalError.
    pub internal_error: f64,
    /// Probability of a connection reset.
    pub reset: f64,
    /// Body bytes sent before a GET's reset.
    pub reset_after: u64,
    /// Probability of a stall.
    pub stall: f64,
    /// Length of a stall.
    pub stall_for: Duration,
    /// Probability of a truncated body.
    pub truncate: f64,
    /// Probability of a response body with one byte changed.
    pub corrupt: f64,
    /// Probability of a request body the server stops reading.
    pub stop_reading: f64,
    /// Request body bytes read before the server stops reading.
    pub stop_reading_after: u64,
    /// `Retry-After` seconds sent with injected 503 and 500 answers; none by default.
    pub retry_after: Option<u64>,
    /// Methods faults apply to; empty means all.
    pub methods: Vec<Method>,
    /// One outage of the whole server; none by default.
    pub outage: Option<Outage>,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            seed: 0,
            slow_down: 0.0,
            internal_error: 0.0,
            reset: 0.0,
            reset_after: 0,
            stall: 0.0,
            stall_for: DEFAULT_STALL,
            truncate: 0.0,
            corrupt: 0.0,
            stop_reading: 0.0,
            stop_reading_after: 0,
            retry_after: None,
            methods: Vec::new(),
            outage: None,
        }
    }
}

/// Why a fault specification did not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultSpecError {
    /// An item is not `name=value`.
    #[error("fault spec item {item:?} is not of the form name=value")]
    NotAnItem {
        /// The item.
        item: String,
    },
    /// An unknown name.
    #[error(
        "unknown fault spec name {name:?} (known: seed, 503, 500, retry-after, reset, reset-after, stall, stall-for, truncate, corrupt, stop-reading, stop-reading-after, methods, outage, outage-at, outage-after, outage-mode)"
    )]
    UnknownName {
        /// The name.
        name: String,
    },
    /// A name given twice.
    #[error("fault spec name {name:?} is given twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// A value that does not parse.
    #[error("invalid value {value:?} for fault spec {name:?}: {reason}")]
    InvalidValue {
        /// The name.
        name: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The probabilities add up to more than 1.
    #[error("fault probabilities add up to {sum}, more than 1")]
    ProbabilitiesAboveOne {
        /// Their sum.
        sum: f64,
    },
    /// Items that do not go together, or one that needs another.
    #[error("invalid fault spec: {reason}")]
    Inconsistent {
        /// What is wrong.
        reason: &'static str,
    },
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        let mut seen: Vec<&str> = Vec::new();
        let (mut outage_for, mut outage_at, mut outage_after, mut outage_mode) = (None, None, None, None);
        for item in s.split(',').map(str::trim) {
            let (name, value) = item
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| FaultSpecError::NotAnItem { item: item.to_owned() })?;
            if seen.contains(&name) {
                return Err(FaultSpecError::Duplicate { name: name.to_owned() });
            }
            let invalid =
                |reason| FaultSpecError::InvalidValue { name: name.to_owned(), value: value.to_owned(), reason };
            match name {
                "seed" => spec.seed = value.parse().map_err(|_| invalid("expected an unsigned integer"))?,
                "503" => {
                    spec.slow_down =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "500" => {
                    spec.internal_error =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?;
                }
                "reset" => {
                    spec.reset = parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "reset-after" => {
                    spec.reset_after =
                        parse_bytes(value).ok_or_else(|| invalid("expected a byte count like 65536 or 64KiB"))?
                }
                "stall" => {
                    spec.stall = parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "stall-for" => {
                    spec.stall_for =
                        parse_duration(value).ok_or_else(|| invalid("expected a duration like 5s or 250ms"))?
                }
                "truncate" => {
                    spec.truncate =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "corrupt" => {
                    spec.corrupt =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "stop-reading" => {
                    spec.stop_reading =
                        parse_probability(value).ok_or_else(|| invalid("expected a probability in [0, 1]"))?
                }
                "stop-reading-after" => {
                    spec.stop_reading_after =
                        parse_bytes(value).ok_or_else(|| invalid("expected a byte count like 65536 or 64KiB"))?
                }
                "retry-after" => {
                    spec.retry_after = Some(value.parse().map_err(|_| invalid("expected a whole number of seconds"))?)
                }
                "outage" => {
                    outage_for =
                        Some(parse_duration(value).ok_or_else(|| invalid("expected a duration like 10s or 500ms"))?)
                }
                "outage-at" => {
                    outage_at =
                        Some(parse_duration(value).ok_or_else(|| invalid("expected a duration like 10s or 500ms"))?)
                }
                "outage-after" => outage_after = Some(value.parse().map_err(|_| invalid("expected a request count"))?),
                "outage-mode" => {
                    outage_mode = Some(match value.to_ascii_lowercase().as_str() {
                        "refuse" => OutageMode::Refuse,
                        "drop" => OutageMode::Drop,
                        _ => return Err(invalid("expected refuse or drop")),
                    })
                }
                "methods" => {
                    spec.methods = value
                        .split('+')
                        .map(|m| match m.trim().to_ascii_uppercase().as_str() {
                            "GET" => Ok(Method::GET),
                            "PUT" => Ok(Method::PUT),
                            "POST" => Ok(Method::POST),
                            "DELETE" => Ok(Method::DELETE),
                            "HEAD" => Ok(Method::HEAD),
                            _ => Err(invalid("expected methods among GET, PUT, POST, DELETE, HEAD joined by '+'")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                _ => return Err(FaultSpecError::UnknownName { name: name.to_owned() }),
            }
            seen.push(name);
        }
        let sum = spec.probabilities().iter().map(|(p, _)| p).sum::<f64>();
        if sum > 1.0 + 1e-9 {
            return Err(FaultSpecError::ProbabilitiesAboveOne { sum });
        }
        spec.outage = match (outage_for, outage_at, outage_after) {
            (None, None, None) if outage_mode.is_none() => None,
            (None, ..) => {
                return Err(FaultSpecError::Inconsistent {
                    reason: "outage-at, outage-after and outage-mode need outage=DURATION",
                })
            }
            (Some(_), Some(_), Some(_)) => {
                return Err(FaultSpecError::Inconsistent { reason: "outage-at and outage-after exclude each other" })
            }
            (Some(duration), at, after) => Some(Outage {
                duration,
                start: after.map_or(OutageStart::At(at.unwrap_or_default()), OutageStart::AfterRequests),
                mode: outage_mode.unwrap_or_default(),
            }),
        };
        Ok(spec)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed={},503={},500={},reset={},reset-after={},stall={},stall-for={}ms,truncate={}",
            self.seed,
            self.slow_down,
            self.internal_error,
            self.reset,
            self.reset_after,
            self.stall,
            self.stall_for.as_millis(),
            self.truncate
        )?;
        if self.corrupt > 0.0 {
            write!(f, ",corrupt={}", self.corrupt)?;
        }
        if self.stop_reading > 0.0 || self.stop_reading_after > 0 {
            write!(f, ",stop-reading={},stop-reading-after={}", self.stop_reading, self.stop_reading_after)?;
        }
        if let Some(seconds) = self.retry_after {
            write!(f, ",retry-after={seconds}")?;
        }
        if !self.methods.is_empty() {
            let methods: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
            write!(f, ",methods={}", methods.join("+"))?;
        }
        if let Some(outage) = &self.outage {
            write!(f, ",outage={}ms", outage.duration.as_millis())?;
            match outage.start {
                OutageStart::At(at) => write!(f, ",outage-at={}ms", at.as_millis())?,
                OutageStart::AfterRequests(n) => write!(f, ",outage-after={n}")?,
            }
            let mode = match outage.mode {
                OutageMode::Refuse => "refuse",
                OutageMode::Drop => "drop",
            };
            write!(f, ",outage-mode={mode}")?;
        }
        Ok(())
    }
}

fn parse_probability(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|p| (0.0..=1.0).contains(p))
}

fn parse_bytes(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse_duration(s: &str) -> Option<Duration> {
    let (n, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let n: f64 = n.trim().parse().ok()?;
    Duration::try_from_secs_f64(n * unit).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::Method;

    use super::*;
    use crate::fault::decision::Fault;

    #[test]
    fn parses_the_documented_example() {
        let spec: FaultSpec = "seed=42,503=0.10,500=0.02,reset=0.05,reset-after=65536,stall=0.02,stall-for=5s,truncate=0.01,methods=GET+PUT"
            .parse()
            .unwrap();
        assert_eq!(spec.seed, 42);
        assert!((spec.slow_down - 0.10).abs() < 1e-12);
        assert!((spec.internal_error - 0.02).abs() < 1e-12);
        assert!((spec.reset - 0.05).abs() < 1e-12);
        assert_eq!(spec.reset_after, 65536);
        assert!((spec.stall - 0.02).abs() < 1e-12);
        assert_eq!(spec.stall_for, Duration::from_secs(5));
        assert!((spec.truncate - 0.01).abs() < 1e-12);
        assert_eq!(spec.methods, vec![Method::GET, Method::PUT]);
        let again: FaultSpec = spec.to_string().parse().unwrap();
        assert_eq!(again, spec);
    }

    #[test]
    fn units() {
        let spec: FaultSpec = "reset-after=64KiB,stall-for=250ms".parse().unwrap();
        assert_eq!(spec.reset_after, 65536);
        assert_eq!(spec.stall_for, Duration::from_millis(250));
        assert_eq!("reset-after=2m".parse::<FaultSpec>().unwrap().reset_after, 2 << 20);
        assert_eq!("stall-for=1.5s".parse::<FaultSpec>().unwrap().stall_for, Duration::from_millis(1500));
    }

    #[test]
    fn rejections_are_clear() {
        let err = |s: &str| s.parse::<FaultSpec>().unwrap_err();
        assert!(matches!(err(""), FaultSpecError::NotAnItem { .. }));
        assert!(matches!(err("503"), FaultSpecError::NotAnItem { .. }));
        assert!(matches!(err("404=0.1"), FaultSpecError::UnknownName { .. }));
        assert!(matches!(err("503=0.1,503=0.2"), FaultSpecError::Duplicate { .. }));
        assert!(matches!(err("503=1.5"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("503=abc"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("seed=-1"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("stall-for=5"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("reset-after=1x"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("methods=GET+PATCH"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("503=0.6,500=0.6"), FaultSpecError::ProbabilitiesAboveOne { .. }));
        assert!(err("404=0.1").to_string().contains("known:"));
    }

    #[test]
    fn new_faults_parse_and_round_trip() {
        let spec: FaultSpec =
            "seed=3,503=0.1,retry-after=2,corrupt=0.2,stop-reading=0.3,stop-reading-after=1MiB,methods=GET"
                .parse()
                .unwrap();
        assert_eq!(spec.retry_after, Some(2));
        assert!((spec.corrupt - 0.2).abs() < 1e-12 && (spec.stop_reading - 0.3).abs() < 1e-12);
        assert_eq!(spec.stop_reading_after, 1 << 20);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        assert_eq!("corrupt=1".parse::<FaultSpec>().unwrap().decide(0, &Method::GET), Fault::Corrupt);
        assert_eq!("stop-reading=1".parse::<FaultSpec>().unwrap().decide(5, &Method::PUT), Fault::StopReading);
        // The new faults come last: an older spec draws the same faults with them at zero.
        let old: FaultSpec = "seed=9,503=0.3,reset=0.2".parse().unwrap();
        let new: FaultSpec = "seed=9,503=0.3,reset=0.2,corrupt=0,stop-reading=0".parse().unwrap();
        assert!((0..1000).all(|n| old.decide(n, &Method::GET) == new.decide(n, &Method::GET)));
        let err = |s: &str| s.parse::<FaultSpec>().unwrap_err();
        assert!(matches!(err("retry-after=1.5"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("corrupt=0.6,503=0.6"), FaultSpecError::ProbabilitiesAboveOne { .. }));
    }

    #[test]
    fn outages_parse_and_round_trip() {
        let spec: FaultSpec = "outage=10s,outage-after=100".parse().unwrap();
        let outage = spec.outage.unwrap();
        assert_eq!(outage.duration, Duration::from_secs(10));
        assert_eq!(outage.start, OutageStart::AfterRequests(100));
        assert_eq!(outage.mode, OutageMode::Refuse);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        let spec: FaultSpec = "outage=1.5s,outage-at=250ms,outage-mode=drop".parse().unwrap();
        let outage = spec.outage.unwrap();
        assert_eq!(outage.start, OutageStart::At(Duration::from_millis(250)));
        assert_eq!(outage.mode, OutageMode::Drop);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        assert_eq!("outage=2s".parse::<FaultSpec>().unwrap().outage.unwrap().start, OutageStart::At(Duration::ZERO));
        let err = |s: &str| s.parse::<FaultSpec>().unwrap_err();
        assert!(matches!(err("outage-at=1s"), FaultSpecError::Inconsistent { .. }));
        assert!(matches!(err("outage-mode=drop"), FaultSpecError::Inconsistent { .. }));
        assert!(matches!(err("outage=1s,outage-at=1s,outage-after=3"), FaultSpecError::Inconsistent { .. }));
        assert!(matches!(err("outage=1s,outage-mode=sometimes"), FaultSpecError::InvalidValue { .. }));
        assert!(matches!(err("outage=soon"), FaultSpecError::InvalidValue { .. }));
        assert!(err("outage-after=3").to_string().contains("need outage="), "{}", err("outage-after=3"));
    }
}
