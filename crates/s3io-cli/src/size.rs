//! Human byte sizes on the command line: `8MiB`, `256M`, `1.5GiB`, `4096`.
//!
//! Units follow the aws CLI's `multipart_chunksize` and s5cmd's `--part-size`: every unit is
//! binary, whether it is written `M`, `MB` or `MiB` (`8MB` is 8 × 2²⁰ bytes), because part sizes
//! and memory limits are always meant in powers of two. Letters are case-insensitive, a space
//! between number and unit is allowed, and a bare number is bytes.

use std::fmt;
use std::str::FromStr;

/// A byte count parsed from a human size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteSize(u64);

impl ByteSize {
    /// The size in bytes.
    pub(crate) fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", indicatif::HumanBytes(self.0))
    }
}

/// The binary multiplier of a unit, `None` for an unknown unit.
fn multiplier(unit: &str) -> Option<u64> {
    let power = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        "t" | "tb" | "tib" => 4,
        _ => return None,
    };
    Some(1u64 << (10 * power))
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let invalid = || format!("invalid size {text:?}: expected a number and a unit, e.g. 8MiB, 256M, 1.5GiB");
        let multiplier = multiplier(unit.trim()).ok_or_else(invalid)?;
        if number.is_empty() {
            return Err(invalid());
        }
        let bytes = if let Ok(whole) = number.parse::<u64>() {
            whole.checked_mul(multiplier).ok_or_else(|| format!("size {text:?} is too large"))?
        } else {
            let fraction: f64 = number.parse().map_err(|_| invalid())?;
            let bytes = (fraction * multiplier as f64).round();
            if !bytes.is_finite() || bytes >= u64::MAX as f64 {
                return Err(format!("size {text:?} is too large"));
            }
            bytes as u64
        };
        Ok(ByteSize(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_units_in_every_spelling() {
        for (text, bytes) in [
            ("4096", 4096),
            ("0", 0),
            ("10B", 10),
            ("8MiB", 8 << 20),
            ("8MB", 8 << 20),
            ("8m", 8 << 20),
            ("256M", 256 << 20),
            ("64 KiB", 64 << 10),
            ("1.5GiB", 3 << 29),
            ("2T", 2 << 40),
            (" 1g ", 1 << 30),
        ] {
            assert_eq!(text.parse::<ByteSize>().map(ByteSize::bytes), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn rejects_garbage_and_overflow() {
        for text in ["", "MiB", "lots", "8 parsecs", "1.2.3M", "-5M", "99999999999999999999T", "1e30G"] {
            assert!(text.parse::<ByteSize>().is_err(), "{text} accepted");
        }
    }
}
