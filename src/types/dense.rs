//! The full encoding's building block: a dense vector of entries plus a
//! hash index (`hashbrown::HashTable<u32>` of positions) keyed by each
//! entry's bytes. Removal swaps the last entry into the hole, so entries
//! stay contiguous: a uniformly random entry (SPOP, SRANDMEMBER) is one
//! index away, and iteration walks one vector. Per entry: the entry itself,
//! 4 bytes of index plus a control byte, and its heap bytes.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::{heap_of, size_class_of};
use crate::error::{Error, ErrorKind, Result};

/// An entry of a [`Dense`]: its key bytes and the heap bytes it owns.
pub(crate) trait Keyed {
    /// The bytes the index is keyed on.
    fn key(&self) -> &[u8];
    /// Heap bytes the entry owns (allocator size classes).
    fn heap(&self) -> usize;
}

impl Keyed for Box<[u8]> {
    fn key(&self) -> &[u8] {
        self
    }
    fn heap(&self) -> usize {
        heap_of(self)
    }
}

/// Entries with a hash index over their keys. See the module docs.
#[derive(Clone)]
pub(crate) struct Dense<T: Keyed> {
    items: Vec<T>,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Sum of the entries' `heap()`.
    heap: usize,
}

fn oom() -> Error {
    Error::new(
        ErrorKind::OutOfMemory,
        "allocation failed while growing a collection",
    )
}

impl<T: Keyed> Dense<T> {
    /// An empty table with room for `n` entries.
    pub(crate) fn with_capacity(n: usize) -> Result<Self> {
        let mut d: Dense<T> = Dense {
            items: Vec::new(),
            index: HashTable::new(),
            hasher: Default::default(),
            heap: 0,
        };
        d.items.try_reserve_exact(n).map_err(|_| oom())?;
        let hasher = &d.hasher;
        let items = &d.items;
        d.index
            .try_reserve(n, |&i| hasher.hash_one(items[i as usize].key()))
            .map_err(|_| oom())?;
        Ok(d)
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Bytes allocated: the vector, the index and the entries' heap bytes.
    pub(crate) fn charge(&self) -> usize {
        size_class_of(self.items.capacity() * size_of::<T>())
            + size_class_of(self.index.allocation_size())
            + self.heap
    }

    /// The position of the entry keyed `key`.
    pub(crate) fn find(&self, key: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&i| self.items[i as usize].key() == key)
            .map(|&i| i as usize)
    }

    /// The entry at `pos`.
    pub(crate) fn get(&self, pos: usize) -> &T {
        &self.items[pos]
    }

    /// Changes the entry at `pos` with `f`, which must not change its key.
    pub(crate) fn update<R>(&mut self, pos: usize, f: impl FnOnce(&mut T) -> R) -> R {
        let item = &mut self.items[pos];
        self.heap -= item.heap();
        let r = f(item);
        self.heap += item.heap();
        r
    }

    /// The entries, in storage order.
    pub(crate) fn items(&self) -> &[T] {
        &self.items
    }

    /// Adds `item`, whose key must not be present yet; returns its position.
    pub(crate) fn push(&mut self, item: T) -> Result<usize> {
        if self.items.len() >= u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::TooLarge,
                "a collection holds at most 2^32-1 elements",
            ));
        }
        let hasher = &self.hasher;
        let items = &self.items;
        self.index
            .try_reserve(1, |&i| hasher.hash_one(items[i as usize].key()))
            .map_err(|_| oom())?;
        if self.items.len() == self.items.capacity() {
            // Grow by half rather than doubling: the spare room is charged.
            let extra = (self.items.len() / 2).max(4);
            self.items.try_reserve_exact(extra).map_err(|_| oom())?;
        }
        let pos = self.items.len();
        let hash = self.hasher.hash_one(item.key());
        self.heap += item.heap();
        self.items.push(item);
        let (hasher, items) = (&self.hasher, &self.items);
        self.index.insert_unique(hash, pos as u32, |&i| {
            hasher.hash_one(items[i as usize].key())
        });
        Ok(pos)
    }

    /// Removes the entry at `pos`; the last entry moves into its place.
    /// Returns the removed entry.
    pub(crate) fn swap_remove(&mut self, pos: usize) -> T {
        let last = self.items.len() - 1;
        let hash = self.hasher.hash_one(self.items[pos].key());
        match self.index.find_entry(hash, |&i| i as usize == pos) {
            Ok(e) => {
                e.remove();
            }
            Err(_) => unreachable!("dense entry missing from its index"),
        }
        if pos != last {
            let moved = self.hasher.hash_one(self.items[last].key());
            let slot = self
                .index
                .find_mut(moved, |&i| i as usize == last)
                .expect("moved entry is indexed");
            *slot = pos as u32;
        }
        let item = self.items.swap_remove(pos);
        self.heap -= item.heap();
        if self.items.capacity() > 2 * self.items.len() + 8 {
            self.items.shrink_to_fit();
            let (hasher, items) = (&self.hasher, &self.items);
            self.index
                .shrink_to_fit(|&i| hasher.hash_one(items[i as usize].key()));
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_remove_keeps_the_index_right() {
        let mut d: Dense<Box<[u8]>> = Dense::with_capacity(0).unwrap();
        for i in 0..100u32 {
            d.push(i.to_string().into_bytes().into_boxed_slice())
                .unwrap();
        }
        for i in (0..100u32).step_by(3) {
            let pos = d.find(i.to_string().as_bytes()).unwrap();
            assert_eq!(&*d.swap_remove(pos), i.to_string().as_bytes());
        }
        for i in 0..100u32 {
            let found = d.find(i.to_string().as_bytes());
            assert_eq!(found.is_some(), i % 3 != 0, "{i}");
            if let Some(p) = found {
                assert_eq!(&*d.get(p).key(), i.to_string().as_bytes());
            }
        }
        assert_eq!(d.len(), 66);
        assert!(d.charge() >= 66 * 16);
    }
}
