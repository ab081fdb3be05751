//! The compact encoding of small collections: one byte buffer holding the
//! elements back to back, each as a LEB128 length followed by its bytes
//! (the idea of Redis's listpack, not its format). One allocation for the
//! whole collection, 1 byte of overhead per element under 128 bytes; every
//! operation is a linear walk, which is why collections switch to their
//! full structure above the thresholds in [`super`].

use super::size_class_of;
use crate::error::Result;

/// A sequence of byte strings packed into one buffer.
#[derive(Clone, Default, Debug)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    len: usize,
}

/// Encodes `n` as LEB128 into `out`.
fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Decodes a LEB128 length at `buf[at..]`: (length, bytes it took).
fn get_len(buf: &[u8], at: usize) -> (usize, usize) {
    let (mut n, mut shift, mut i) = (0usize, 0u32, at);
    loop {
        let byte = buf[i];
        n |= usize::from(byte & 0x7f) << shift;
        i += 1;
        if byte & 0x80 == 0 {
            return (n, i - at);
        }
        shift += 7;
    }
}

/// Bytes an element of `len` bytes takes in the buffer.
fn encoded_len(len: usize) -> usize {
    let mut header = 1;
    let mut n = len >> 7;
    while n != 0 {
        header += 1;
        n >>= 7;
    }
    header + len
}

impl Packed {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated (the buffer's size class).
    pub(crate) fn charge(&self) -> usize {
        size_class_of(self.buf.capacity())
    }

    /// The elements in order.
    pub(crate) fn iter(&self) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            at: 0,
        }
    }

    /// The byte range `start..end` of element `index` (< len).
    fn span(&self, index: usize) -> (usize, usize) {
        let mut at = 0;
        for _ in 0..index {
            let (n, h) = get_len(&self.buf, at);
            at += h + n;
        }
        let (n, h) = get_len(&self.buf, at);
        (at, at + h + n)
    }

    /// Element `index`, if there is one.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        self.iter().nth(index)
    }

    /// Makes room for `extra` more bytes, growing by a quarter (at least)
    /// to the allocator's next size class rather than doubling: spare room
    /// is charged, and the buffer is at most a few KiB, so the copies are
    /// cheap.
    fn grow(&mut self, extra: usize) -> Result<()> {
        let need = self.buf.len() + extra;
        if need <= self.buf.capacity() {
            return Ok(());
        }
        let target = size_class_of(
            need.max(self.buf.capacity() + self.buf.capacity() / 4)
                .max(16),
        );
        self.buf
            .try_reserve_exact(target - self.buf.len())
            .map_err(|_| {
                crate::error::Error::new(
                    crate::error::ErrorKind::OutOfMemory,
                    "allocation failed while growing a collection",
                )
            })
    }

    /// Inserts `item` before element `index` (`index == len` appends).
    pub(crate) fn insert(&mut self, index: usize, item: &[u8]) -> Result<()> {
        let at = if index == self.len {
            self.buf.len()
        } else {
            self.span(index).0
        };
        self.insert_at_offset(at, item)
    }

    fn insert_at_offset(&mut self, at: usize, item: &[u8]) -> Result<()> {
        let mut encoded = Vec::new();
        super::try_reserve(&mut encoded, encoded_len(item.len()))?;
        put_len(&mut encoded, item.len());
        encoded.extend_from_slice(item);
        self.grow(encoded.len())?;
        self.buf.splice(at..at, encoded);
        self.len += 1;
        Ok(())
    }

    /// Appends `item`.
    pub(crate) fn push(&mut self, item: &[u8]) -> Result<()> {
        self.grow(encoded_len(item.len()))?;
        put_len(&mut self.buf, item.len());
        self.buf.extend_from_slice(item);
        self.len += 1;
        Ok(())
    }

    /// Removes elements `from..to` (indexes, `to <= len`).
    pub(crate) fn remove_range(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        let start = self.span(from).0;
        let end = if to == self.len {
            self.buf.len()
        } else {
            self.span(to).0
        };
        self.buf.drain(start..end);
        self.len -= to - from;
        self.shrink();
    }

    /// Replaces element `index` with `item`.
    pub(crate) fn replace(&mut self, index: usize, item: &[u8]) -> Result<()> {
        let (start, end) = self.span(index);
        let mut encoded = Vec::new();
        super::try_reserve(&mut encoded, encoded_len(item.len()))?;
        put_len(&mut encoded, item.len());
        encoded.extend_from_slice(item);
        if encoded.len() > end - start {
            self.grow(encoded.len() - (end - start))?;
        }
        self.buf.splice(start..end, encoded);
        self.shrink();
        Ok(())
    }

    /// Keeps only the elements `keep` says yes to (given index and bytes).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(usize, &[u8]) -> bool) {
        let mut out = Vec::with_capacity(self.buf.len());
        let mut len = 0;
        for (i, item) in self.iter().enumerate() {
            if keep(i, item) {
                put_len(&mut out, item.len());
                out.extend_from_slice(item);
                len += 1;
            }
        }
        out.shrink_to_fit();
        self.buf = out;
        self.len = len;
    }

    /// Gives memory back after removals leave most of the buffer unused.
    fn shrink(&mut self) {
        if self.buf.capacity() > 2 * self.buf.len() + 16 {
            self.buf.shrink_to_fit();
        }
    }
}

/// Iterator over a [`Packed`]'s elements.
pub(crate) struct PackedIter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at >= self.buf.len() {
            return None;
        }
        let (n, h) = get_len(self.buf, self.at);
        let start = self.at + h;
        self.at = start + n;
        Some(&self.buf[start..start + n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(p: &Packed) -> Vec<Vec<u8>> {
        p.iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn insert_remove_replace_keep_order() {
        let mut p = Packed::default();
        p.push(b"b").unwrap();
        p.insert(0, b"a").unwrap();
        p.insert(2, &[7u8; 300]).unwrap();
        p.insert(2, b"").unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(
            items(&p),
            vec![b"a".to_vec(), b"b".to_vec(), vec![], vec![7u8; 300]]
        );
        p.replace(1, b"bbbb").unwrap();
        assert_eq!(p.get(1).unwrap(), b"bbbb");
        p.remove_range(0, 2);
        assert_eq!(items(&p), vec![vec![], vec![7u8; 300]]);
        p.retain(|i, _| i == 1);
        assert_eq!(p.len(), 1);
        assert_eq!(p.get(0).unwrap().len(), 300);
        p.remove_range(0, 1);
        assert_eq!(p.len(), 0);
        assert!(p.iter().next().is_none());
    }
}
