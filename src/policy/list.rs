//! An intrusive doubly linked list over slab indices.
//!
//! The links live inside the slab's nodes (two u32 fields), so a list costs
//! 8 bytes per entry and no allocation; `NIL` ends the list.

/// The "no node" index.
pub(crate) const NIL: u32 = u32::MAX;

/// Nodes by slab index: the shard's chunked slab, or a plain slice in tests.
pub(crate) trait Slab<N>: std::ops::Index<usize, Output = N> {}
impl<N, T: std::ops::Index<usize, Output = N> + ?Sized> Slab<N> for T {}

/// Access to the prev/next links stored inside a slab node.
pub(crate) trait Linked {
    fn prev(&self) -> u32;
    fn next(&self) -> u32;
    fn set_prev(&self, i: u32);
    fn set_next(&self, i: u32);
}

/// Head (most recent) and tail (least recent) of one list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct List {
    head: u32,
    tail: u32,
}

impl Default for List {
    fn default() -> Self {
        List { head: NIL, tail: NIL }
    }
}

impl List {
    /// The most recently pushed node, or NIL.
    #[cfg(test)]
    #[inline]
    pub(crate) fn head(&self) -> u32 {
        self.head
    }

    /// The head, for checks (tests only).
    #[cfg(test)]
    pub(crate) fn head_index(&self) -> u32 {
        self.head
    }

    /// The least recently pushed node, or NIL.
    #[inline]
    pub(crate) fn tail(&self) -> u32 {
        self.tail
    }

    /// Links `i` in front of the head. `i` must not be in any list.
    #[inline(always)]
    pub(crate) fn push_front<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        let node = &nodes[i as usize];
        node.set_prev(NIL);
        node.set_next(self.head);
        if self.head == NIL {
            self.tail = i;
        } else {
            nodes[self.head as usize].set_prev(i);
        }
        self.head = i;
    }

    /// Unlinks `i`, which must be in this list.
    #[inline(always)]
    pub(crate) fn unlink<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        let node = &nodes[i as usize];
        let (p, n) = (node.prev(), node.next());
        if p == NIL {
            self.head = n;
        } else {
            nodes[p as usize].set_next(n);
        }
        if n == NIL {
            self.tail = p;
        } else {
            nodes[n as usize].set_prev(p);
        }
        node.set_prev(NIL);
        node.set_next(NIL);
    }

    /// Moves `i` (already in this list) to the head.
    #[inline(always)]
    pub(crate) fn move_to_front<N: Linked>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        if self.head != i {
            self.unlink(nodes, i);
            self.push_front(nodes, i);
        }
    }

    /// Forgets every node (the caller drops or resets them).
    pub(crate) fn clear(&mut self) {
        *self = List::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct N(std::cell::Cell<u32>, std::cell::Cell<u32>);
    impl Linked for N {
        fn prev(&self) -> u32 { self.0.get() }
        fn next(&self) -> u32 { self.1.get() }
        fn set_prev(&self, i: u32) { self.0.set(i) }
        fn set_next(&self, i: u32) { self.1.set(i) }
    }

    fn order(l: &List, nodes: &(impl Slab<N> + ?Sized)) -> Vec<u32> {
        let mut out = vec![];
        let mut i = l.head();
        while i != NIL {
            out.push(i);
            i = nodes[i as usize].next();
        }
        // And backwards agrees.
        let mut back = vec![];
        let mut j = l.tail();
        while j != NIL {
            back.push(j);
            j = nodes[j as usize].prev();
        }
        back.reverse();
        assert_eq!(out, back);
        out
    }

    #[test]
    fn push_unlink_move() {
        let nodes = vec![N(NIL.into(), NIL.into()); 4];
        let mut l = List::default();
        for i in 0..4 {
            l.push_front(&nodes, i);
        }
        assert_eq!(order(&l, &nodes), vec![3, 2, 1, 0]);
        l.move_to_front(&nodes, 0);
        assert_eq!(order(&l, &nodes), vec![0, 3, 2, 1]);
        l.unlink(&nodes, 2);
        assert_eq!(order(&l, &nodes), vec![0, 3, 1]);
        l.unlink(&nodes, 1);
        l.unlink(&nodes, 0);
        assert_eq!(order(&l, &nodes), vec![3]);
        assert_eq!((l.head(), l.tail()), (3, 3));
        l.unlink(&nodes, 3);
        assert_eq!((l.head(), l.tail()), (NIL, NIL));
    }
}
