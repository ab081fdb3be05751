//! Sorted-set scores as text, the way Redis 7.0 reads and writes them.
//!
//! Replies format a score like C's `printf("%.17g")` (Redis 7.0's
//! `addReplyDouble`), with `inf`/`-inf` spelled out: `1`, `1.5`,
//! `0.10000000000000001`, `1e+20`, `-0`. Parsing accepts what Redis's
//! `strtod`-based check accepts for decimal input (`+inf`, `-inf`, `inf`,
//! exponents) and refuses NaN, empty text, spaces and overflow.

use crate::error::{Error, ErrorKind, Result};

/// The reply text of a score, exactly as Redis 7.0 formats it (`%.17g`).
pub fn format_score(score: f64) -> String {
    if score.is_nan() {
        return "nan".to_owned();
    }
    if score.is_infinite() {
        return if score > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if score == 0.0 {
        return if score.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Integral scores under 10^17 have at most 17 digits: `%.17g` prints
    // them exactly, as integer text (the common case, and 10x faster than
    // the general path below).
    if score.fract() == 0.0 && score.abs() < 1e17 {
        let mut buf = [0u8; 20];
        let text = crate::decimal::format_i64(score as i64, &mut buf);
        return String::from_utf8_lossy(text).into_owned();
    }
    // 17 significant digits in scientific form tells the exponent after
    // rounding, which is what `%g` uses to pick its style.
    let sci = format!("{score:.16e}");
    let (mantissa, exp) = sci.split_once('e').expect("`e` formatting has an exponent");
    let exp: i32 = exp.parse().expect("`e` formatting has a decimal exponent");
    if !(-4..17).contains(&exp) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    let decimals = (16 - exp) as usize;
    trim_fraction(&format!("{score:.decimals$}")).to_owned()
}

/// `%g` drops trailing zeros of the fraction, and the point if none remain.
fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

fn not_a_float() -> Error {
    Error::new(ErrorKind::NotANumber, "value is not a valid float")
}

/// Parses score text as Redis does for `ZADD`/`ZINCRBY` arguments. Errors
/// with `NotANumber` ("value is not a valid float") for NaN, empty text,
/// leading or trailing garbage and out-of-range values.
pub fn parse_score(text: &[u8]) -> Result<f64> {
    let s = std::str::from_utf8(text).map_err(|_| not_a_float())?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(not_a_float());
    }
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if unsigned.len() + 1 < lower.len() {
        return Err(not_a_float());
    }
    if unsigned == "inf" || unsigned == "infinity" {
        return Ok(if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Only decimal digits, a point and an exponent from here on (Rust's
    // parser would also take "nan" and "infinity" spellings).
    if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
    {
        return Err(not_a_float());
    }
    let value: f64 = s.parse().map_err(|_| not_a_float())?;
    // strtod reports overflow (and underflow to zero) as ERANGE, which
    // Redis refuses.
    let mantissa = unsigned.split('e').next().unwrap_or("");
    if value.is_infinite() || (value == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)))
    {
        return Err(not_a_float());
    }
    Ok(value)
}

/// One end of a score range (`ZRANGEBYSCORE`, `ZCOUNT`): a value and
/// whether the value itself is excluded (Redis's `(` prefix).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    /// The score; `-inf`/`inf` for open ends.
    pub value: f64,
    /// True if `value` itself is outside the range.
    pub exclusive: bool,
}

impl ScoreBound {
    /// An inclusive bound.
    pub fn inclusive(value: f64) -> ScoreBound {
        ScoreBound {
            value,
            exclusive: false,
        }
    }

    /// An exclusive bound.
    pub fn exclusive(value: f64) -> ScoreBound {
        ScoreBound {
            value,
            exclusive: true,
        }
    }

    /// Parses Redis's range syntax: `1.5`, `(1.5`, `-inf`, `+inf`. Errors
    /// with `NotANumber` ("min or max is not a float") otherwise.
    pub fn parse(text: &[u8]) -> Result<ScoreBound> {
        let (exclusive, rest) = match text.split_first() {
            Some((b'(', rest)) => (true, rest),
            _ => (false, text),
        };
        let value = parse_score(rest)
            .map_err(|_| Error::new(ErrorKind::NotANumber, "min or max is not a float"))?;
        Ok(ScoreBound { value, exclusive })
    }

    /// True if `score` is at or above this bound taken as a minimum.
    pub(crate) fn below_ok(&self, score: f64) -> bool {
        if self.exclusive {
            score > self.value
        } else {
            score >= self.value
        }
    }

    /// True if `score` is at or below this bound taken as a maximum.
    pub(crate) fn above_ok(&self, score: f64) -> bool {
        if self.exclusive {
            score < self.value
        } else {
            score <= self.value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_printf_17g() {
        let cases: [(f64, &str); 17] = [
            (1.0, "1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0"),
            (123456789.125, "123456789.125"),
            (1.0 / 3.0, "0.33333333333333331"),
            (-42.0, "-42"),
            (99999999999999984.0, "99999999999999984"),
            (9007199254740993.0, "9007199254740992"),
        ];
        for (v, want) in cases {
            assert_eq!(format_score(v), want, "{v:?}");
        }
    }

    #[test]
    fn parses_like_redis() {
        assert_eq!(parse_score(b"1.5").unwrap(), 1.5);
        assert_eq!(parse_score(b"+inf").unwrap(), f64::INFINITY);
        assert_eq!(parse_score(b"-inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_score(b"1e3").unwrap(), 1000.0);
        assert!(parse_score(b"-0").unwrap().is_sign_negative());
        for bad in [
            &b""[..],
            b"nan",
            b" 1",
            b"1 ",
            b"abc",
            b"1e400",
            b"--1",
            b"1e-400",
        ] {
            assert_eq!(
                parse_score(bad).unwrap_err().kind(),
                ErrorKind::NotANumber,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bounds_parse_and_compare() {
        let b = ScoreBound::parse(b"(2").unwrap();
        assert!(b.exclusive && b.value == 2.0);
        assert!(!b.below_ok(2.0) && b.below_ok(2.5) && !b.above_ok(2.0) && b.above_ok(1.0));
        assert!(
            ScoreBound::parse(b"-inf")
                .unwrap()
                .below_ok(f64::NEG_INFINITY)
        );
        assert!(ScoreBound::parse(b"(x").is_err());
    }
}
