//! The allocator's size classes, so that an entry is charged what it really
//! occupies rather than what was asked for.
//!
//! jemalloc (and most modern mallocs) round a request up to a size class:
//! 8, then multiples of 16 up to 128, then four classes per doubling
//! (160, 192, 224, 256, 320, ...). Charging the rounded size is what makes
//! `used_bytes` agree with jemalloc's own `stats.allocated`.

/// The size jemalloc really hands out for a request of `n` bytes.
pub(crate) fn size_class(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return (n + 15) & !15;
    }
    // n in (2^k, 2^(k+1)]: classes are spaced 2^(k-2) apart.
    let k = usize::BITS - 1 - (n - 1).leading_zeros();
    let spacing = 1usize << (k - 2);
    (n + spacing - 1) & !(spacing - 1)
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn matches_jemalloc_classes() {
        let cases = [
            (0, 8), (1, 8), (8, 8), (9, 16), (16, 16), (17, 32), (100, 112), (116, 128),
            (128, 128), (129, 160), (160, 160), (161, 192), (256, 256), (257, 320),
            (513, 640), (4096, 4096), (4097, 5120), (16385, 20480), (1 << 20, 1 << 20),
            ((1 << 20) + 1, (1 << 20) + (1 << 18)),
        ];
        for (n, want) in cases {
            assert_eq!(size_class(n), want, "size_class({n})");
        }
    }

    #[test]
    fn never_smaller_and_at_most_25_percent_more() {
        for n in 1..100_000 {
            let c = size_class(n);
            assert!(c >= n);
            assert!(c <= n + n / 4 + 16, "{n} -> {c}");
        }
    }
}
