//! Redis integer-text semantics for `INCR`/`DECR`/`INCRBY`/`DECRBY`.
//!
//! A value counts as an integer only if it is the exact canonical decimal
//! text Redis's `string2ll` accepts, so that a value stored as text and
//! re-rendered after an increment reads back byte-identical, and so that
//! clients see the same "value is not an integer" errors as with Redis.

/// Longest accepted text: `-9223372036854775808` is 20 bytes. Redis rejects
/// anything of 21 bytes or more (`LONG_STR_SIZE`) before looking at it.
const MAX_LEN: usize = 20;

/// Parses `text` as a signed 64-bit integer with Redis `string2ll`
/// strictness, returning `None` if it is not one.
///
/// Accepted: an optional `-`, then either the single digit `0` or a digit
/// `1`-`9` followed by digits, at most 20 bytes in all, within
/// `i64::MIN..=i64::MAX`. Rejected: the empty string, a lone `-`, `+`,
/// spaces anywhere, leading zeros (`01`, `00`), `-0`, exponents, hex, and
/// anything out of range.
#[must_use]
pub fn parse_i64(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > MAX_LEN {
        return None;
    }
    // `0` is the only text allowed to start with a zero.
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    // Accumulate the magnitude in u64: |i64::MIN| does not fit in i64, and
    // 20 digits can overflow even u64, hence the checked arithmetic.
    let mut magnitude = u64::from(first - b'0');
    for &byte in rest {
        if !byte.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(byte - b'0'))?;
    }
    if negative {
        // 0 - 2^63 is exactly i64::MIN; anything larger fails.
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Writes the canonical decimal text of `value` into `buf` and returns the
/// written part (a suffix of `buf`). No allocation; `i64::MIN` works.
///
/// The output is exactly what [`parse_i64`] accepts, so the two round-trip.
pub fn format_i64(value: i64, buf: &mut [u8; 20]) -> &[u8] {
    // Work on the magnitude as u64 so that i64::MIN needs no special case.
    let mut rest = value.unsigned_abs();
    // Digits are produced least significant first, so fill from the end.
    let mut start = buf.len();
    loop {
        start -= 1;
        // `rest % 10` is below 10, so the narrowing cannot lose anything.
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    &buf[start..]
}

/// Returns `current + delta`, or `None` if the sum overflows `i64` (Redis
/// answers "increment or decrement would overflow" and leaves the value).
///
/// `DECRBY n` is `checked_incr(current, -n)`; callers must reject
/// `n == i64::MIN` themselves, since `-n` itself overflows (as Redis does).
#[must_use]
pub fn checked_incr(current: i64, delta: i64) -> Option<i64> {
    current.checked_add(delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid() {
        let cases: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"9", 9),
            (b"10", 10),
            (b"-10", -10),
            (b"123456789", 123_456_789),
            (b"1000000000000", 1_000_000_000_000),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775807", -i64::MAX),
            (b"-9223372036854775808", i64::MIN),
            (b"9223372036854775806", i64::MAX - 1),
        ];
        for &(text, expected) in cases {
            assert_eq!(
                parse_i64(text),
                Some(expected),
                "{:?}",
                text.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn invalid() {
        let cases: &[&[u8]] = &[
            b"",
            b"-",
            b"--1",
            b"+1",
            b"+0",
            b" 1",
            b"1 ",
            b"1 2",
            b"\t1",
            b"1\n",
            b"01",
            b"-01",
            b"-0",
            b"00",
            b"000",
            b"1e3",
            b"1.0",
            b"1.",
            b".5",
            b"0x10",
            b"0b1",
            b"a",
            b"1a",
            b"-a",
            b"1-",
            b"\x001",
            b"1\x00",
            "\u{661}".as_bytes(), // Arabic-Indic digit one: not ASCII
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551615", // u64::MAX: 20 bytes, beyond i64
            b"18446744073709551616", // u64::MAX + 1: overflows the u64 accumulator
            b"99999999999999999999",
            b"-99999999999999999999", // 21 bytes
            b"100000000000000000000", // 21 digits
            b"000000000000000000001",
            b"-0000000000000000001",
        ];
        for &text in cases {
            assert_eq!(
                parse_i64(text),
                None,
                "{:?}",
                text.escape_ascii().to_string()
            );
        }
    }

    fn format(value: i64) -> Vec<u8> {
        let mut buf = [0u8; 20];
        format_i64(value, &mut buf).to_vec()
    }

    #[test]
    fn format_edges() {
        assert_eq!(format(0), b"0");
        assert_eq!(format(7), b"7");
        assert_eq!(format(-7), b"-7");
        assert_eq!(format(10), b"10");
        assert_eq!(format(-100), b"-100");
        assert_eq!(format(i64::MAX), b"9223372036854775807");
        assert_eq!(format(i64::MIN), b"-9223372036854775808");
        assert_eq!(format(i64::MIN + 1), b"-9223372036854775807");
    }

    use crate::test_rng::XorShift;

    fn assert_round_trip(value: i64) {
        let text = format(value);
        assert_eq!(text, value.to_string().as_bytes(), "format {value}");
        assert_eq!(parse_i64(&text), Some(value), "parse {value}");
    }

    #[test]
    fn round_trip() {
        let mut edges = vec![
            0,
            1,
            -1,
            9,
            -9,
            10,
            -10,
            i64::MAX,
            i64::MIN,
            i64::MAX - 1,
            i64::MIN + 1,
        ];
        // Every power of ten and its neighbours, both signs.
        let mut power = 1i64;
        while let Some(next) = power.checked_mul(10) {
            for v in [power - 1, power, power + 1, next - 1] {
                edges.push(v);
                edges.push(-v);
            }
            power = next;
        }
        for value in edges {
            assert_round_trip(value);
        }
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        for _ in 0..100_000 {
            let bits = rng.next();
            // Vary magnitude too, or nearly every value would be 19 digits.
            let shift = (rng.next() % 64) as u32;
            assert_round_trip((bits as i64) >> shift);
        }
    }

    #[test]
    fn parse_agrees_with_std_on_canonical_text() {
        // Anything we accept must be canonical: re-formatting gives it back.
        const ALPHABET: &[u8] = b"-0123456789";
        let mut rng = XorShift(0x0123_4567_89AB_CDEF);
        let mut text = Vec::new();
        for _ in 0..100_000 {
            text.clear();
            for _ in 0..1 + rng.next() % 21 {
                text.push(ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize]);
            }
            let parsed = parse_i64(&text);
            let canonical = std::str::from_utf8(&text)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|v| v.to_string().as_bytes() == text.as_slice());
            assert_eq!(parsed, canonical, "{:?}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn incr() {
        assert_eq!(checked_incr(0, 1), Some(1));
        assert_eq!(checked_incr(-1, 1), Some(0));
        assert_eq!(checked_incr(5, -10), Some(-5));
        assert_eq!(checked_incr(i64::MAX - 1, 1), Some(i64::MAX));
        assert_eq!(checked_incr(i64::MAX, 1), None);
        assert_eq!(checked_incr(i64::MAX, i64::MAX), None);
        assert_eq!(checked_incr(i64::MIN + 1, -1), Some(i64::MIN));
        assert_eq!(checked_incr(i64::MIN, -1), None);
        assert_eq!(checked_incr(i64::MIN, i64::MIN), None);
        assert_eq!(checked_incr(i64::MIN, i64::MAX), Some(-1));
        assert_eq!(checked_incr(i64::MAX, i64::MIN), Some(-1));
        assert_eq!(checked_incr(0, i64::MIN), Some(i64::MIN));
    }
}
