//! Lists (LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN, LINDEX, LSET, LREM,
//! LTRIM): a packed buffer while small, a `VecDeque` of boxed elements
//! after (O(1) at both ends, O(1) by index).

use std::collections::VecDeque;

use super::packed::Packed;
use super::{COMPACT_MAX_BYTES, COMPACT_MAX_ENTRIES, boxed, heap_of, index_range, size_class_of};
use crate::error::{Error, ErrorKind, Result};

/// A list value.
#[derive(Clone)]
pub(crate) enum List {
    Packed(Packed),
    Deque {
        items: VecDeque<Box<[u8]>>,
        heap: usize,
    },
}

impl Default for List {
    fn default() -> Self {
        List::Packed(Packed::default())
    }
}

impl List {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        match self {
            List::Packed(p) => p.len(),
            List::Deque { items, .. } => items.len(),
        }
    }

    /// Heap bytes owned.
    pub(crate) fn charge(&self) -> usize {
        match self {
            List::Packed(p) => p.charge(),
            List::Deque { items, heap } => {
                size_class_of(items.capacity() * size_of::<Box<[u8]>>()) + heap
            }
        }
    }

    /// True if a compact list can hold `extra` more elements of which the
    /// longest is `longest` bytes.
    fn fits_packed(&self, extra: usize, longest: usize) -> bool {
        self.len() + extra <= COMPACT_MAX_ENTRIES && longest <= COMPACT_MAX_BYTES
    }

    /// Switches to the full encoding.
    fn to_deque(&mut self) -> Result<()> {
        if let List::Packed(p) = self {
            let mut items = VecDeque::new();
            items
                .try_reserve_exact(p.len())
                .map_err(|_| Error::new(ErrorKind::OutOfMemory, "list conversion"))?;
            let mut heap = 0;
            for item in p.iter() {
                heap += heap_of(item);
                items.push_back(boxed(item)?);
            }
            *self = List::Deque { items, heap };
        }
        Ok(())
    }

    /// Pushes `items` one by one at the head (`front`) or the tail; returns
    /// the new length (LPUSH/RPUSH).
    pub(crate) fn push(&mut self, items: &[&[u8]], front: bool) -> Result<usize> {
        let longest = items.iter().map(|i| i.len()).max().unwrap_or(0);
        if !self.fits_packed(items.len(), longest) {
            self.to_deque()?;
        }
        match self {
            List::Packed(p) => {
                for item in items {
                    if front {
                        p.insert(0, item)?
                    } else {
                        p.push(item)?
                    }
                }
            }
            List::Deque { items: d, heap } => {
                // Grow by a quarter rather than doubling: spare room is charged.
                if d.len() + items.len() > d.capacity() {
                    let extra = items.len().max(d.capacity() / 4);
                    d.try_reserve_exact(extra)
                        .map_err(|_| Error::new(ErrorKind::OutOfMemory, "list growth"))?;
                }
                for item in items {
                    let b = boxed(item)?;
                    // Counted once the allocation succeeded.
                    *heap += heap_of(item);
                    if front {
                        d.push_front(b)
                    } else {
                        d.push_back(b)
                    }
                }
            }
        }
        Ok(self.len())
    }

    /// Removes and returns up to `count` elements from the head (`front`)
    /// or the tail, in pop order.
    pub(crate) fn pop(&mut self, count: usize, front: bool) -> Vec<Vec<u8>> {
        let n = count.min(self.len());
        match self {
            List::Packed(p) => {
                let len = p.len();
                let (from, to) = if front { (0, n) } else { (len - n, len) };
                let mut out: Vec<Vec<u8>> = p
                    .iter()
                    .skip(from)
                    .take(to - from)
                    .map(<[u8]>::to_vec)
                    .collect();
                if !front {
                    out.reverse();
                }
                p.remove_range(from, to);
                out
            }
            List::Deque { items, heap } => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let b = if front {
                        items.pop_front()
                    } else {
                        items.pop_back()
                    }
                    .expect("n <= len");
                    *heap -= heap_of(&b);
                    out.push(b.into_vec());
                }
                shrink(items);
                out
            }
        }
    }

    /// Element at position `i` (< len).
    fn at(&self, i: usize) -> &[u8] {
        match self {
            List::Packed(p) => p.get(i).expect("index < len"),
            List::Deque { items, .. } => &items[i],
        }
    }

    /// LRANGE: the elements from `start` to `stop` inclusive (negative
    /// indexes count from the end; out-of-range ends are clamped).
    pub(crate) fn range(&self, start: i64, stop: i64) -> Vec<Vec<u8>> {
        let Some((from, to)) = index_range(start, stop, self.len()) else {
            return Vec::new();
        };
        match self {
            List::Packed(p) => p
                .iter()
                .skip(from)
                .take(to - from + 1)
                .map(<[u8]>::to_vec)
                .collect(),
            List::Deque { items, .. } => items.range(from..=to).map(|b| b.to_vec()).collect(),
        }
    }

    /// The position of Redis index `index`, if inside the list.
    fn position(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 {
            len.checked_add(index)?
        } else {
            index
        };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// LINDEX.
    pub(crate) fn index(&self, index: i64) -> Option<Vec<u8>> {
        self.position(index).map(|i| self.at(i).to_vec())
    }

    /// LSET: replaces the element at `index`; `InvalidArgument` ("index out
    /// of range") if there is none.
    pub(crate) fn set(&mut self, index: i64, item: &[u8]) -> Result<()> {
        let i = self
            .position(index)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "index out of range"))?;
        if item.len() > COMPACT_MAX_BYTES {
            self.to_deque()?;
        }
        match self {
            List::Packed(p) => p.replace(i, item),
            List::Deque { items, heap } => {
                let b = boxed(item)?;
                *heap = *heap - heap_of(&items[i]) + heap_of(&b);
                items[i] = b;
                Ok(())
            }
        }
    }

    /// LREM: removes up to |count| elements equal to `item` (from the head
    /// for count > 0, from the tail for count < 0, all for 0); returns how
    /// many.
    pub(crate) fn rem(&mut self, count: i64, item: &[u8]) -> usize {
        let len = self.len();
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs().min(usize::MAX as u64) as usize
        };
        // Positions to remove, chosen from the requested end.
        let mut doomed = vec![false; len];
        let mut removed = 0;
        let order: Box<dyn Iterator<Item = usize>> = if count < 0 {
            Box::new((0..len).rev())
        } else {
            Box::new(0..len)
        };
        for i in order {
            if removed == limit {
                break;
            }
            if self.at(i) == item {
                doomed[i] = true;
                removed += 1;
            }
        }
        if removed > 0 {
            self.retain_positions(|i| !doomed[i]);
        }
        removed
    }

    /// LTRIM: keeps only `start..=stop` (Redis index rules).
    pub(crate) fn trim(&mut self, start: i64, stop: i64) {
        match index_range(start, stop, self.len()) {
            None => self.retain_positions(|_| false),
            Some((from, to)) => self.retain_positions(|i| (from..=to).contains(&i)),
        }
    }

    fn retain_positions(&mut self, keep: impl Fn(usize) -> bool) {
        match self {
            List::Packed(p) => p.retain(|i, _| keep(i)),
            List::Deque { items, heap } => {
                let mut i = 0;
                items.retain(|b| {
                    let k = keep(i);
                    i += 1;
                    if !k {
                        *heap -= heap_of(b);
                    }
                    k
                });
                shrink(items);
            }
        }
    }
}

/// Gives memory back once a deque is mostly empty.
fn shrink(items: &mut VecDeque<Box<[u8]>>) {
    if items.capacity() > 2 * items.len() + 16 {
        items.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[Vec<u8>]) -> Vec<String> {
        v.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    fn both(f: impl Fn(&mut List)) {
        // The same script on a compact list and on a full one.
        let mut compact = List::default();
        f(&mut compact);
        let mut full = List::default();
        full.to_deque().unwrap();
        f(&mut full);
        assert!(matches!(full, List::Deque { .. }));
    }

    #[test]
    fn push_pop_range_in_both_encodings() {
        both(|l| {
            assert_eq!(l.push(&[b"a", b"b", b"c"], true).unwrap(), 3);
            assert_eq!(l.push(&[b"d"], false).unwrap(), 4);
            assert_eq!(s(&l.range(0, -1)), ["c", "b", "a", "d"]);
            assert_eq!(s(&l.range(-2, 100)), ["a", "d"]);
            assert!(l.range(3, 1).is_empty());
            assert_eq!(l.index(-1).unwrap(), b"d");
            assert!(l.index(4).is_none());
            l.set(1, b"B").unwrap();
            assert_eq!(
                l.set(9, b"x").unwrap_err().kind(),
                ErrorKind::InvalidArgument
            );
            assert_eq!(s(&l.pop(2, false)), ["d", "a"]);
            assert_eq!(s(&l.pop(5, true)), ["c", "B"]);
            assert_eq!(l.len(), 0);
        });
    }

    #[test]
    fn rem_and_trim_follow_redis() {
        both(|l| {
            l.push(&[b"x", b"y", b"x", b"z", b"x"], false).unwrap();
            assert_eq!(l.rem(-2, b"x"), 2);
            assert_eq!(s(&l.range(0, -1)), ["x", "y", "z"]);
            assert_eq!(l.rem(0, b"q"), 0);
            l.trim(1, -1);
            assert_eq!(s(&l.range(0, -1)), ["y", "z"]);
            l.trim(5, 10);
            assert_eq!(l.len(), 0);
        });
    }

    #[test]
    fn long_or_many_elements_switch_to_the_deque_and_charge_grows() {
        let mut l = List::default();
        l.push(&[b"small"], false).unwrap();
        let small = l.charge();
        l.push(&[&[b'x'; 65][..]], false).unwrap();
        assert!(matches!(l, List::Deque { .. }));
        assert!(l.charge() > small);
        let mut l = List::default();
        for i in 0..129u32 {
            l.push(&[i.to_string().as_bytes()], false).unwrap();
        }
        assert!(matches!(l, List::Deque { .. }));
        assert_eq!(l.index(128).unwrap(), b"128");
    }
}
