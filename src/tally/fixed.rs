//! Fixed-point decimal numbers with exactly five decimal places, as the
//! Scottish Local Government Elections Order 2007 requires for STV
//! ("the calculation being made to five decimal places (any remainder being
//! ignored)", rule 48(3)).
//!
//! A [`Fixed`] is an `i64` holding the value multiplied by 100 000. Only
//! integer arithmetic is used; no floating point anywhere. The one operation
//! that can lose precision, [`Fixed::mul_div_trunc`], truncates towards zero
//! (all values in a count are non-negative, so this is "ignoring the
//! remainder").
//!
//! Values serialize as decimal strings with exactly five decimals
//! (`"1381.00000"`), the form used by the Droop reference reports, so that
//! no JSON consumer ever sees a float.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Number of decimal places.
pub const DECIMALS: u32 = 5;
/// The scale: 10^5.
pub const SCALE: i64 = 100_000;

/// A non-negative-in-practice fixed-point number with five decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed(i64);

impl Fixed {
    /// Zero.
    pub const ZERO: Fixed = Fixed(0);
    /// One (1.00000).
    pub const ONE: Fixed = Fixed(SCALE);

    /// Builds a value from its raw scaled representation (value × 100 000).
    pub const fn from_raw(raw: i64) -> Fixed {
        Fixed(raw)
    }

    /// The raw scaled representation (value × 100 000).
    pub const fn raw(self) -> i64 {
        self.0
    }

    /// An integer as a fixed-point value; `None` if it does not fit.
    pub fn from_int(n: u64) -> Option<Fixed> {
        i64::try_from(n).ok()?.checked_mul(SCALE).map(Fixed)
    }

    /// `self + other`, `None` on overflow.
    pub fn checked_add(self, other: Fixed) -> Option<Fixed> {
        self.0.checked_add(other.0).map(Fixed)
    }

    /// `self - other`, `None` on overflow.
    pub fn checked_sub(self, other: Fixed) -> Option<Fixed> {
        self.0.checked_sub(other.0).map(Fixed)
    }

    /// `self × n` for an integer `n` (a number of ballot papers); exact.
    pub fn checked_mul_int(self, n: u64) -> Option<Fixed> {
        let n = i64::try_from(n).ok()?;
        self.0.checked_mul(n).map(Fixed)
    }

    /// `self × num / den`, truncated to five decimal places (towards zero).
    ///
    /// This is the Order's transfer value computation: with
    /// `self` = value of the paper, `num` = surplus, `den` = total votes of
    /// the transferring candidate, the result is
    /// `trunc_5dp(value × surplus / total)`. The intermediate product is
    /// exact (128-bit). Returns `None` if `den` is zero or the result does
    /// not fit.
    pub fn mul_div_trunc(self, num: Fixed, den: Fixed) -> Option<Fixed> {
        if den.0 == 0 {
            return None;
        }
        // (a/S) * (b/S) / (c/S) * S = a*b/c
        let q = (i128::from(self.0) * i128::from(num.0)) / i128::from(den.0);
        i64::try_from(q).ok().map(Fixed)
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = SCALE.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = DECIMALS as usize
        )
    }
}

/// Error parsing a [`Fixed`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fixed-point number {0:?} (expected digits with at most 5 decimals)")]
pub struct ParseFixedError(pub String);

impl FromStr for Fixed {
    type Err = ParseFixedError;

    fn from_str(s: &str) -> Result<Fixed, ParseFixedError> {
        let err = || ParseFixedError(s.to_string());
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || frac_part.len() > DECIMALS as usize
        {
            return Err(err());
        }
        let int: i64 = int_part.parse().map_err(|_| err())?;
        let mut frac: i64 = 0;
        for (i, b) in frac_part.bytes().enumerate() {
            let digit = i64::from(b - b'0');
            frac += digit * 10_i64.pow(DECIMALS - 1 - i as u32);
        }
        let raw = int
            .checked_mul(SCALE)
            .and_then(|v| v.checked_add(frac))
            .ok_or_else(err)?;
        Ok(Fixed(if neg { -raw } else { raw }))
    }
}

impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fixed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fixed, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_five_decimals() {
        assert_eq!(Fixed::from_raw(138_100_000).to_string(), "1381.00000");
        assert_eq!(Fixed::from_raw(1).to_string(), "0.00001");
        assert_eq!(Fixed::from_raw(92_798_248).to_string(), "927.98248");
        assert_eq!(Fixed::from_raw(-5).to_string(), "-0.00005");
        assert_eq!(Fixed::ZERO.to_string(), "0.00000");
    }

    #[test]
    fn parse_round_trips() {
        for s in ["0.00000", "1381.00000", "927.98248", "0.00001", "-3.50000"] {
            let f: Fixed = s.parse().unwrap();
            assert_eq!(f.to_string(), s);
        }
        assert_eq!("12".parse::<Fixed>().unwrap(), Fixed::from_int(12).unwrap());
        assert_eq!("1.5".parse::<Fixed>().unwrap().raw(), 150_000);
        assert!("1.000001".parse::<Fixed>().is_err());
        assert!("abc".parse::<Fixed>().is_err());
        assert!(".5".parse::<Fixed>().is_err());
        assert!("1e5".parse::<Fixed>().is_err());
    }

    #[test]
    fn mul_div_truncates_never_rounds() {
        // 1 × 2 / 3 = 0.666666... -> 0.66666 (rounding would give 0.66667)
        let v = Fixed::ONE
            .mul_div_trunc(Fixed::from_int(2).unwrap(), Fixed::from_int(3).unwrap())
            .unwrap();
        assert_eq!(v.to_string(), "0.66666");
        // Anderston-City 2007: surplus 251 of 1632 votes: 251/1632 = 0.153799...
        let tv = Fixed::ONE
            .mul_div_trunc(
                Fixed::from_int(251).unwrap(),
                Fixed::from_int(1632).unwrap(),
            )
            .unwrap();
        assert_eq!(tv.to_string(), "0.15379");
        // a paper already worth 0.15379 passing on a surplus of 10 of 1400
        let tv2 = tv
            .mul_div_trunc(Fixed::from_int(10).unwrap(), Fixed::from_int(1400).unwrap())
            .unwrap();
        // 0.15379 × 10 / 1400 = 0.00109850 -> 0.00109
        assert_eq!(tv2.to_string(), "0.00109");
        assert!(Fixed::ONE.mul_div_trunc(Fixed::ONE, Fixed::ZERO).is_none());
    }

    #[test]
    fn overflow_is_detected() {
        assert!(Fixed::from_int(u64::MAX).is_none());
        assert!(Fixed::from_int(i64::MAX as u64 / 100_000 + 1).is_none());
        assert!(Fixed::from_int(i64::MAX as u64 / 100_000).is_some());
        assert!(Fixed::from_raw(i64::MAX).checked_add(Fixed::ONE).is_none());
        assert!(Fixed::ONE.checked_mul_int(u64::MAX).is_none());
    }

    #[test]
    fn serializes_as_string() {
        let f = Fixed::from_raw(12_345_678);
        assert_eq!(serde_json::to_string(&f).unwrap(), "\"123.45678\"");
        let back: Fixed = serde_json::from_str("\"123.45678\"").unwrap();
        assert_eq!(back, f);
    }
}
