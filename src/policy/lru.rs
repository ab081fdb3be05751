//! Exact LRU: one list, a hit moves the entry to the front, the victim is
//! the tail. The baseline every other policy is measured against.

use super::list::{Linked, List, Slab};

/// Exact least-recently-used order over a shard's slab.
#[derive(Debug, Default)]
pub(crate) struct Lru {
    list: List,
}

impl Lru {
    /// A new entry is the most recent.
    #[inline]
    pub(crate) fn on_insert<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        self.list.push_front(nodes, i);
    }

    /// A read or an overwrite makes the entry the most recent.
    #[inline]
    pub(crate) fn on_access<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        self.list.move_to_front(nodes, i);
    }

    /// The entry is leaving the shard.
    #[inline]
    pub(crate) fn on_remove<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        self.list.unlink(nodes, i);
    }

    /// Takes the entry out of the order while it must not be evicted.
    #[inline]
    pub(crate) fn detach<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        self.list.unlink(nodes, i);
    }

    /// Puts a detached entry back, as the most recent.
    #[inline]
    pub(crate) fn reattach<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        self.list.push_front(nodes, i);
    }

    /// The entry to evict next, or NIL when empty.
    #[inline]
    pub(crate) fn victim(&self) -> u32 {
        self.list.tail()
    }

    /// Walks the list (tests only); returns its length.
    #[cfg(test)]
    pub(crate) fn check<N: Linked>(&self, nodes: &(impl Slab<N> + ?Sized)) -> u64 {
        let mut n = 0;
        let mut i = self.list.tail();
        while i != super::list::NIL {
            n += 1;
            i = nodes[i as usize].prev();
        }
        n
    }

    /// Forget everything.
    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }
}
