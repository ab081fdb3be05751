//! Redis-compatible glob matching over raw bytes, for `SCAN`/`KEYS` `MATCH`
//! filters and pub/sub patterns.
//!
//! The pattern language is Redis's `stringmatchlen` (case-sensitive), byte for
//! byte, quirks included, because clients send patterns written for Redis:
//!
//! * `*` matches any run of bytes, including the empty one;
//! * `?` matches exactly one byte;
//! * `[abc]` matches one byte from the set, `[^abc]` one byte outside it;
//! * `[a-z]` is an inclusive byte range; a reversed range (`[z-a]`) has its
//!   bounds swapped, as Redis does;
//! * `\x` matches `x` literally, inside brackets too; a trailing lone `\`
//!   matches a `\`;
//! * `]` right after `[` (or `[^`) closes the class at once, so `[]` matches
//!   nothing and `[^]` matches any one byte;
//! * an unterminated `[` takes the rest of the pattern as its set;
//! * in `[a-]` the `]` is the range's upper bound, not the class end (Redis
//!   reads `x-y` greedily), so it is the range `]`..=`a` running to pattern end.
//!
//! Redis matches by recursion on each `*`, which is exponential on patterns
//! such as `a*a*a*a*b` (it caps the damage with a pruning flag and a nesting
//! limit). Every token other than `*` consumes exactly one byte, so the
//! classic greedy algorithm that only remembers the most recent `*` is exact
//! here and bounds the work at O(len(pattern) * len(subject)) with no
//! allocation: a key scan calls this once per key.
//!
//! Deliberate difference from Redis 7+: an empty subject matches a pattern
//! made only of `*`s (the documented meaning of `*`, and what Redis before 7
//! did). Redis 7's loop stops as soon as the subject is empty, so there `**`
//! does not match the empty key even though `KEYS *` lists it through a
//! special case. Keeping `glob_match` and [`is_match_all`] consistent lets
//! callers skip matching without changing results. Redis's nesting limit (a
//! pattern with over 1000 separate `*` groups never matches) is not copied
//! either: it only exists to stop Redis's recursion.

/// Returns whether `subject` matches the Redis glob `pattern` (see the module
/// docs for the syntax). Case-sensitive; bytes need not be UTF-8.
///
/// Runs in O(len(pattern) * len(subject)) time in the worst case and
/// allocates nothing.
#[must_use]
pub fn glob_match(pattern: &[u8], subject: &[u8]) -> bool {
    let mut p = 0; // index of the next pattern token
    let mut s = 0; // index of the next subject byte
    // After the most recent `*`: the pattern index just past it, and the
    // subject index where the text after it is currently assumed to start.
    // Only the latest `*` needs remembering: if the tail after it cannot
    // match from any later start, no longer run for an earlier `*` can help
    // either, since every other token consumes exactly one byte.
    let mut star: Option<(usize, usize)> = None;

    while s < subject.len() {
        if p < pattern.len() {
            if pattern[p] == b'*' {
                p += 1;
                star = Some((p, s));
                continue;
            }
            let (ok, next) = match_token(pattern, p, subject[s]);
            if ok {
                p = next;
                s += 1;
                continue;
            }
        }
        // Mismatch, or pattern exhausted with subject left: let the last
        // `*` swallow one more byte and retry the tail after it.
        match star {
            Some((star_p, star_s)) => {
                p = star_p;
                s = star_s + 1;
                star = Some((star_p, s));
            }
            None => return false,
        }
    }
    // Subject consumed: whatever is left must be able to match nothing.
    // `p` sits on a token boundary, so each `*` here is a real wildcard
    // (an escaped `\*` would have been read as one token).
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Returns whether `pattern` consists only of `*`s (at least one), i.e.
/// matches every subject, so a caller can skip per-key matching entirely.
///
/// The empty pattern is not match-all: it matches only the empty subject.
#[must_use]
pub fn is_match_all(pattern: &[u8]) -> bool {
    !pattern.is_empty() && pattern.iter().all(|&b| b == b'*')
}

/// Matches the single non-`*` token that starts at `pattern[p]` against the
/// byte `c`. Returns whether it matched and the index of the next token.
///
/// The token's extent never depends on `c`, which is what lets the caller
/// re-scan the pattern after a `*` without changing the meaning.
fn match_token(pattern: &[u8], p: usize, c: u8) -> (bool, usize) {
    match pattern[p] {
        b'?' => (true, p + 1),
        b'\\' => match pattern.get(p + 1) {
            Some(&escaped) => (escaped == c, p + 2),
            // A trailing lone `\` is a literal backslash, as in Redis.
            None => (c == b'\\', p + 1),
        },
        b'[' => match_class(pattern, p + 1, c),
        literal => (literal == c, p + 1),
    }
}

/// Matches the bracket class whose body starts at `pattern[i]` (just past
/// `[`) against `c`. Returns whether it matched and the index after the
/// class. Mirrors the order of Redis's checks exactly, since that order is
/// what defines the odd cases (`[]`, `[a-]`, `[\]`, unterminated classes).
fn match_class(pattern: &[u8], mut i: usize, c: u8) -> (bool, usize) {
    let len = pattern.len();
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    loop {
        let Some(&b) = pattern.get(i) else {
            // Unterminated: the class runs to the end of the pattern.
            return (matched != negate, len);
        };
        if b == b'\\' && len - i >= 2 {
            // Escape: the next byte is a literal member, even `]` or `-`.
            i += 1;
            matched |= pattern[i] == c;
        } else if b == b']' {
            return (matched != negate, i + 1);
        } else if len - i >= 3 && pattern[i + 1] == b'-' {
            // Range `x-y`; taken greedily, so `y` may be `]` or `\`.
            let (lo, hi) = if b <= pattern[i + 2] {
                (b, pattern[i + 2])
            } else {
                (pattern[i + 2], b)
            };
            matched |= (lo..=hi).contains(&c);
            i += 2;
        } else {
            matched |= b == c;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        // (pattern, subject, expected)
        let cases: &[(&[u8], &[u8], bool)] = &[
            // Empty pattern / empty subject.
            (b"", b"", true),
            (b"", b"a", false),
            (b"a", b"", false),
            (b"*", b"", true),
            (b"**", b"", true),
            (b"?", b"", false),
            (b"[a]", b"", false),
            // Literals.
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"ab", false),
            (b"ab", b"abc", false),
            (b"Abc", b"abc", false),
            // `*`.
            (b"*", b"anything", true),
            (b"a*", b"a", true),
            (b"a*", b"abc", true),
            (b"*c", b"abc", true),
            (b"*c", b"abd", false),
            (b"a*c", b"ac", true),
            (b"a*c", b"abbbc", true),
            (b"a*c", b"abbbcd", false),
            (b"a**c", b"abc", true),
            (b"*a*b*", b"xxaxxbxx", true),
            (b"*a*b*", b"xxbxxaxx", false),
            (b"a*b*c", b"abcbc", true),
            (b"h*llo", b"heeeello", true),
            // `?`.
            (b"?", b"a", true),
            (b"?", b"ab", false),
            (b"h?llo", b"hello", true),
            (b"h?llo", b"hllo", false),
            (b"*?", b"", false),
            (b"*?", b"a", true),
            (b"*?", b"abc", true),
            (b"?*", b"a", true),
            (b"*??", b"a", false),
            // Classes.
            (b"h[ae]llo", b"hello", true),
            (b"h[ae]llo", b"hallo", true),
            (b"h[ae]llo", b"hillo", false),
            (b"h[^e]llo", b"hallo", true),
            (b"h[^e]llo", b"hello", false),
            (b"h[a-b]llo", b"hbllo", true),
            (b"h[a-b]llo", b"hcllo", false),
            (b"[a-c-e]", b"-", true),
            (b"[a-c-e]", b"d", false),
            (b"[z-a]", b"m", true), // reversed range: bounds swapped
            (b"[z-a]", b"A", false),
            (b"[^a-z]", b"m", false),
            (b"[^a-z]", b"M", true),
            (b"[]", b"a", false), // empty class matches nothing
            (b"[]", b"]", false),
            (b"[]a", b"a", false),
            (b"[^]", b"a", true), // empty negated class matches any byte
            (b"[^]", b"", false),
            (b"[^]x", b"ax", true),
            (b"[]]", b"]", false), // `]` closes at once, then literal `]`
            (b"[]]", b"]]", false),
            // `[a-]`: `]` is the range end, class runs to pattern end.
            (b"[a-]", b"a", true),
            (b"[a-]", b"_", true),
            (b"[a-]", b"]", true),
            (b"[a-]", b"-", false),
            (b"[a-]", b"b", false),
            (b"[a-]b", b"ab", false), // the `b` is inside the class
            (b"[a-]b", b"b", true),
            // `[a-` at pattern end: too short for a range, so literals.
            (b"[a-", b"-", true),
            (b"[a-", b"a", true),
            (b"[a-", b"b", false),
            // Unterminated classes.
            (b"[abc", b"b", true),
            (b"[abc", b"d", false),
            (b"[abc", b"bc", false),
            (b"[", b"a", false),
            (b"[", b"[", false),
            (b"[^", b"x", true),
            (b"x[", b"x", false),
            // Escapes.
            (b"\\*", b"*", true),
            (b"\\*", b"a", false),
            (b"\\?", b"?", true),
            (b"\\?", b"a", false),
            (b"\\[a]", b"[a]", true),
            (b"\\a", b"a", true),
            (b"\\\\", b"\\", true),
            (b"a\\", b"a\\", true), // trailing `\` matches a backslash
            (b"a\\", b"a", false),
            (b"\\", b"\\", true),
            (b"*\\*", b"ab*", true),
            (b"*\\*", b"ab", false),
            (b"[\\]]", b"]", true), // escaped `]` inside a class
            (b"[\\]]", b"\\", false),
            (b"[\\]", b"]", true), // `\]` is a member; class unterminated
            (b"[\\", b"\\", true), // lone `\` at end of a class is literal
            (b"[\\-a]", b"-", true),
            (b"[\\-a]", b"b", false),
            (b"[\\a-c]", b"b", false), // escape breaks the range: {a,-,c}
            (b"[\\a-c]", b"-", true),
            (b"[^\\^]", b"^", false),
            (b"[a-\\]", b"^", true), // range `\`..=`a`
            // Multibyte UTF-8 (é = C3 A9, ü = C3 BC): matching is per byte.
            ("caf\u{e9}".as_bytes(), "caf\u{e9}".as_bytes(), true),
            (b"caf?", "caf\u{e9}".as_bytes(), false),
            (b"caf??", "caf\u{e9}".as_bytes(), true),
            (b"caf*", "caf\u{e9}".as_bytes(), true),
            ("[\u{e9}]".as_bytes(), "\u{e9}".as_bytes(), false),
            ("[\u{e9}]".as_bytes(), b"\xA9", true),
            ("*\u{fc}*".as_bytes(), "gr\u{fc}\u{df}e".as_bytes(), true),
            (b"[\x80-\xff]", b"\xC3", true),
            (b"[\x80-\xff]", b"z", false),
            // Embedded NUL bytes are ordinary.
            (b"a\0*", b"a\0b", true),
            (b"a?b", b"a\0b", true),
        ];
        assert!(cases.len() >= 40);
        for &(pattern, subject, expected) in cases {
            // The expectations are Redis's own, except for the documented
            // all-`*` versus empty-subject divergence.
            if !(subject.is_empty() && is_match_all(pattern)) {
                assert_eq!(
                    reference(pattern, subject),
                    expected,
                    "reference disagrees on {:?} {:?}",
                    pattern.escape_ascii().to_string(),
                    subject.escape_ascii().to_string(),
                );
            }
            assert_eq!(
                glob_match(pattern, subject),
                expected,
                "pattern {:?} subject {:?}",
                pattern.escape_ascii().to_string(),
                subject.escape_ascii().to_string(),
            );
        }
    }

    #[test]
    fn match_all() {
        assert!(is_match_all(b"*"));
        assert!(is_match_all(b"***"));
        assert!(!is_match_all(b""));
        assert!(!is_match_all(b"*a"));
        assert!(!is_match_all(b"\\*"));
        assert!(!is_match_all(b"*?"));
        // Consistency: a match-all pattern matches everything, "" included.
        for subject in [&b""[..], b"a", b"\0\xff", b"*"] {
            assert!(glob_match(b"**", subject));
        }
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let subject = vec![b'a'; 10_000];
        let start = std::time::Instant::now();
        assert!(!glob_match(b"a*a*a*a*a*a*a*b", &subject));
        assert!(glob_match(b"a*a*a*a*a*a*a*a", &subject));
        assert!(!glob_match(b"*a*a*a*a*a*a*a*?b", &subject));
        let mut long_pattern = b"*a".repeat(2_000);
        long_pattern.push(b'b');
        assert!(!glob_match(&long_pattern, &subject));
        // Quadratic bound is a few 10^7 steps; exponential would never end.
        // Generous even for unoptimised debug builds on a loaded machine.
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    /// A direct, recursive port of Redis 7's `stringmatchlen_impl`
    /// (case-sensitive, without its pruning flag or nesting limit, which only
    /// affect speed on short inputs). Exponential, but obviously faithful.
    fn reference(p: &[u8], s: &[u8]) -> bool {
        // Byte at index `i`, or NUL past the end: Redis patterns are
        // NUL-terminated sds strings and the C code peeks one past the end.
        let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
        let (mut pi, mut si) = (0usize, 0usize);
        while pi < p.len() && si < s.len() {
            match p[pi] {
                b'*' => {
                    while pi < p.len() && at(p, pi + 1) == b'*' {
                        pi += 1;
                    }
                    if p.len() - pi == 1 {
                        return true;
                    }
                    while si < s.len() {
                        if reference(&p[pi + 1..], &s[si..]) {
                            return true;
                        }
                        si += 1;
                    }
                    return false;
                }
                b'?' => si += 1,
                b'[' => {
                    pi += 1;
                    let not = at(p, pi) == b'^';
                    if not {
                        pi += 1;
                    }
                    let mut hit = false;
                    loop {
                        let left = p.len() as isize - pi as isize;
                        if at(p, pi) == b'\\' && left >= 2 {
                            pi += 1;
                            if p[pi] == s[si] {
                                hit = true;
                            }
                        } else if left > 0 && p[pi] == b']' {
                            break;
                        } else if left == 0 {
                            pi -= 1;
                            break;
                        } else if left >= 3 && p[pi + 1] == b'-' {
                            let (mut a, mut b) = (p[pi], p[pi + 2]);
                            if a > b {
                                std::mem::swap(&mut a, &mut b);
                            }
                            pi += 2;
                            if s[si] >= a && s[si] <= b {
                                hit = true;
                            }
                        } else if p[pi] == s[si] {
                            hit = true;
                        }
                        pi += 1;
                    }
                    if not {
                        hit = !hit;
                    }
                    if !hit {
                        return false;
                    }
                    si += 1;
                }
                b'\\' => {
                    if p.len() - pi >= 2 {
                        pi += 1;
                    }
                    if p[pi] != s[si] {
                        return false;
                    }
                    si += 1;
                }
                lit => {
                    if lit != s[si] {
                        return false;
                    }
                    si += 1;
                }
            }
            pi += 1;
            if si == s.len() {
                while at(p, pi) == b'*' {
                    pi += 1;
                }
                break;
            }
        }
        pi >= p.len() && si == s.len()
    }

    use crate::test_rng::XorShift;

    #[test]
    fn reference_agrees_with_redis_quirks() {
        // Sanity-check the port itself on cases pinned in `table`, and the
        // one place we deliberately differ (all-`*` vs the empty subject).
        assert!(reference(b"[a-]", b"_"));
        assert!(!reference(b"[]", b"a"));
        assert!(reference(b"[^]", b"a"));
        assert!(reference(b"a\\", b"a\\"));
        assert!(!reference(b"*", b""));
        assert!(glob_match(b"*", b""));
    }

    #[test]
    fn randomized_cross_check() {
        const PATTERN_ALPHABET: &[u8] = b"ab*?[]^-\\";
        const SUBJECT_ALPHABET: &[u8] = b"ab*?[]^-\\";
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut pattern = Vec::new();
        let mut subject = Vec::new();
        for _ in 0..200_000 {
            pattern.clear();
            subject.clear();
            for _ in 0..rng.below(9) {
                pattern.push(PATTERN_ALPHABET[rng.below(PATTERN_ALPHABET.len())]);
            }
            // Skew subjects towards `a`/`b` so that matches are not rare.
            let skew = rng.below(2) == 0;
            for _ in 0..rng.below(8) {
                let byte = if skew {
                    b"ab"[rng.below(2)]
                } else {
                    SUBJECT_ALPHABET[rng.below(SUBJECT_ALPHABET.len())]
                };
                subject.push(byte);
            }
            // Only documented divergence: all-`*` patterns match "" here.
            let expected =
                reference(&pattern, &subject) || (subject.is_empty() && is_match_all(&pattern));
            assert_eq!(
                glob_match(&pattern, &subject),
                expected,
                "pattern {:?} subject {:?}",
                pattern.escape_ascii().to_string(),
                subject.escape_ascii().to_string(),
            );
        }
    }
}
