//! The seeded per-request decision: which fault, if any, request number `n` gets — a pure
//! function of the spec's seed and `n` (a SplitMix64 hash mapped to `[0, 1)` and compared
//! against the cumulative probabilities, in an order new faults only extend); see
//! "Determinism" in the [module documentation](super).

use http::Method;

use super::spec::FaultSpec;

/// The fault a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// None.
    Pass,
    /// 503 SlowDown.
    SlowDown,
    /// 500 InternalError.
    InternalError,
    /// Connection reset.
    Reset,
    /// Delayed body.
    Stall,
    /// Truncated body.
    Truncate,
    /// A response body byte changed.
    Corrupt,
    /// The request body left unread, no answer.
    StopReading,
}

impl FaultSpec {
    /// The fault of request number `n` with `method`.
    pub(crate) fn decide(&self, n: u64, method: &Method) -> Fault {
        if !self.methods.is_empty() && !self.methods.contains(method) {
            return Fault::Pass;
        }
        let u = unit_interval(splitmix64(self.seed ^ splitmix64(n)));
        let mut acc = 0.0;
        for (p, fault) in self.probabilities() {
            acc += p;
            if u < acc {
                return fault;
            }
        }
        Fault::Pass
    }

    /// Each fault's probability, in decision order (new faults go last, so old seeds keep
    /// drawing the same faults).
    pub(super) fn probabilities(&self) -> [(f64, Fault); 7] {
        [
            (self.slow_down, Fault::SlowDown),
            (self.internal_error, Fault::InternalError),
            (self.reset, Fault::Reset),
            (self.stall, Fault::Stall),
            (self.truncate, Fault::Truncate),
            (self.corrupt, Fault::Corrupt),
            (self.stop_reading, Fault::StopReading),
        ]
    }
}

pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 53 random bits to `[0, 1)`.
pub(crate) fn unit_interval(x: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly
    let v = (x >> 11) as f64;
    v / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[test]
    fn decisions_are_deterministic_and_follow_probabilities() {
        let spec: FaultSpec = "seed=7,503=0.2,reset=0.1".parse().unwrap();
        let run = |spec: &FaultSpec| (0..10_000).map(|n| spec.decide(n, &Method::GET)).collect::<Vec<_>>();
        let a = run(&spec);
        assert_eq!(a, run(&spec));
        let slow = a.iter().filter(|f| **f == Fault::SlowDown).count();
        let reset = a.iter().filter(|f| **f == Fault::Reset).count();
        assert!((1800..2200).contains(&slow), "{slow}");
        assert!((850..1150).contains(&reset), "{reset}");
        let other: FaultSpec = "seed=8,503=0.2,reset=0.1".parse().unwrap();
        assert_ne!(a, run(&other));
    }

    #[test]
    fn methods_filter_and_zero_probability() {
        let spec: FaultSpec = "503=1,methods=PUT".parse().unwrap();
        assert_eq!(spec.decide(0, &Method::PUT), Fault::SlowDown);
        assert_eq!(spec.decide(0, &Method::GET), Fault::Pass);
        let none: FaultSpec = "seed=1".parse().unwrap();
        assert!((0..1000).all(|n| none.decide(n, &Method::GET) == Fault::Pass));
    }
}
