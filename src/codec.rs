//! Value encoding: lz4 for large byte values, kept only when it pays.
//!
//! A value of at least `compress_min` bytes is compressed with lz4_flex; the
//! compressed form is stored only when it saves at least one eighth of the
//! size, so incompressible data (images, already-compressed blobs) costs one
//! failed attempt on write and nothing on read. The stored form carries the
//! original length as a 4-byte little-endian prefix, so a reader can size its
//! buffer before decompressing.

use crate::error::{Error, ErrorKind, Result};

/// How a value's bytes are stored in its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Encoding {
    /// The bytes as given.
    Raw = 0,
    /// `u32` original length (LE) followed by an lz4 block.
    Lz4 = 1,
    /// No bytes: the value is a collection (list, set, hash, sorted set)
    /// kept in the shard's side table; byte reads of it are `WrongType`.
    Collection = 2,
}

impl Encoding {
    pub(crate) fn from_bits(b: u8) -> Encoding {
        match b {
            1 => Encoding::Lz4,
            2 => Encoding::Collection,
            _ => Encoding::Raw,
        }
    }
}

/// The compressed form of `value` if compression is on, applies and saves
/// at least 1/8; `None` means "store raw".
pub(crate) fn compress(value: &[u8], compress_min: usize) -> Option<Vec<u8>> {
    if compress_min == 0 || value.len() < compress_min || value.len() > u32::MAX as usize {
        return None;
    }
    let packed = lz4_flex::block::compress_prepend_size(value);
    (packed.len() <= value.len() - value.len() / 8).then_some(packed)
}

/// Length of the original value behind a stored form.
pub(crate) fn decoded_len(encoding: Encoding, stored: &[u8]) -> usize {
    match encoding {
        Encoding::Raw | Encoding::Collection => stored.len(),
        Encoding::Lz4 => stored
            .get(..4)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize)
            .unwrap_or(0),
    }
}

/// Decodes `stored` into `out`, which must be exactly `decoded_len` long.
pub(crate) fn decode_into(encoding: Encoding, stored: &[u8], out: &mut [u8]) -> Result<()> {
    match encoding {
        Encoding::Raw | Encoding::Collection => {
            out.copy_from_slice(stored);
            Ok(())
        }
        Encoding::Lz4 => {
            let n = lz4_flex::block::decompress_into(&stored[4..], out)
                .map_err(|e| Error::with_message(ErrorKind::Corrupt, format!("lz4 value: {e}")))?;
            if n != out.len() {
                return Err(Error::new(ErrorKind::Corrupt, "lz4 value decoded to the wrong length"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressible_round_trip() {
        let v = b"abcdefgh".repeat(200);
        let packed = compress(&v, 64).expect("compressible");
        assert!(packed.len() < v.len() / 4);
        assert_eq!(decoded_len(Encoding::Lz4, &packed), v.len());
        let mut out = vec![0; v.len()];
        decode_into(Encoding::Lz4, &packed, &mut out).unwrap();
        assert_eq!(out, v);
    }

    #[test]
    fn off_small_or_incompressible_stay_raw() {
        let v = b"abcdefgh".repeat(200);
        assert!(compress(&v, 0).is_none());
        assert!(compress(&v, v.len() + 1).is_none());
        // Pseudo-random bytes do not compress by 1/8.
        let mut x = 0x9e3779b97f4a7c15u64;
        let noise: Vec<u8> = (0..4096).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 }).collect();
        assert!(compress(&noise, 1).is_none());
    }

    #[test]
    fn corrupt_stored_form_is_an_error() {
        let mut packed = compress(&b"xy".repeat(500), 1).unwrap();
        let n = packed.len();
        packed[n / 2] ^= 0xff;
        packed.truncate(n - 3);
        let mut out = vec![0; 1000];
        let err = decode_into(Encoding::Lz4, &packed, &mut out);
        assert!(err.is_err() || out != b"xy".repeat(500));
    }
}
