//! Human durations on the command line: `500ms`, `1s`, `1.5s`, `2m`, `1h`, `7d`, or a bare number of
//! seconds (`30`, `0.25`).
//!
//! Units are case-insensitive and a space between number and unit is allowed. Zero parses (the
//! settings that cannot be zero reject it when the client configuration is validated).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration parsed from human text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HumanDuration(Duration);

impl HumanDuration {
    /// The duration.
    pub(crate) fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Seconds per unit, `None` for an unknown unit; no unit means seconds.
fn seconds_per(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" => 0.001,
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return None,
    })
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err(format!("invalid duration {text:?}: negative durations are invalid"));
        }
        let invalid = || format!("invalid duration {text:?}: expected e.g. 500ms, 1s, 2m or a number of seconds");
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let per_unit = seconds_per(unit.trim()).ok_or_else(invalid)?;
        let number: f64 = number.parse().map_err(|_| invalid())?;
        Duration::try_from_secs_f64(number * per_unit)
            .map(HumanDuration)
            .map_err(|_| format!("duration {text:?} is too long"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_bare_seconds() {
        for (text, expected) in [
            ("500ms", Duration::from_millis(500)),
            ("1s", Duration::from_secs(1)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("7d", Duration::from_secs(7 * 86_400)),
            ("30", Duration::from_secs(30)),
            ("0.25", Duration::from_millis(250)),
            (" 5 S ", Duration::from_secs(5)),
            ("0", Duration::ZERO),
        ] {
            assert_eq!(text.parse::<HumanDuration>().map(HumanDuration::get), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_garbage_and_overflow() {
        for text in ["", "s", "fast", "5 parsecs", "1.2.3s", "-1s", "1e400", "99999999999999999999999h"] {
            assert!(text.parse::<HumanDuration>().is_err(), "{text} accepted");
        }
    }

    #[test]
    fn negative_durations_say_so() {
        let err = "-1s".parse::<HumanDuration>().unwrap_err();
        assert!(err.contains("negative durations are invalid"), "{err}");
    }
}
