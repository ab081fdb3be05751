//! The shard's slab of entry nodes, readable by lock-free readers while the
//! shard's lock holder changes it.
//!
//! A [`Node`] is four atomics (block pointer, two list links, one word), 24
//! bytes as before. Atomics because readers load a node's block and word
//! while the writer stores them; on x86-64 a `Relaxed` load or store is the
//! same `mov` a plain field access is, so the writer pays nothing for them.
//!
//! The slab grows by an eighth (a doubled slab would waste up to 24 bytes
//! per entry): the writer copies the nodes into a bigger array and swaps it
//! in; readers still probing the old array see its frozen copy, which is
//! safe (every block it points to is released through the epoch collector
//! after they unpin) and at worst stale, and the old array itself is freed
//! the same way.
//!
//! The writer reaches the current array through [`Nodes`], a view owned by
//! the locked shard. Changing a node's block takes `&mut Nodes`, so no
//! borrow of a block (`Node::block`) can outlive the change.

use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crossbeam_epoch::{self as epoch, Atomic, Guard, Owned};

use super::block::Block;

/// One slot of the slab. A free slot has no block and links the free list
/// through `next`.
pub(crate) struct Node {
    /// The entry's block (`Block::into_raw`), or null.
    block: AtomicPtr<u8>,
    prev: AtomicU32,
    next: AtomicU32,
    /// expiry | encoding | flags | policy bits | timer tag (see `shard`).
    word: AtomicU64,
}

impl Node {
    fn empty() -> Node {
        Node {
            block: AtomicPtr::new(std::ptr::null_mut()),
            prev: AtomicU32::new(0),
            next: AtomicU32::new(0),
            word: AtomicU64::new(0),
        }
    }

    fn copy(&self) -> Node {
        Node {
            block: AtomicPtr::new(self.block.load(Ordering::Relaxed)),
            prev: AtomicU32::new(self.prev()),
            next: AtomicU32::new(self.next()),
            word: AtomicU64::new(self.word()),
        }
    }

    /// The node's word.
    #[inline]
    pub(crate) fn word(&self) -> u64 {
        self.word.load(Ordering::Relaxed)
    }

    /// Sets the node's word (writer only). `Release`: a reader that loads
    /// this word (`Acquire`) also sees the block changes made before it.
    #[inline]
    pub(crate) fn set_word(&self, w: u64) {
        self.word.store(w, Ordering::Release)
    }

    /// The word, for a lock-free reader (pairs with `set_word`).
    #[inline]
    pub(crate) fn word_acquire(&self) -> u64 {
        self.word.load(Ordering::Acquire)
    }

    /// Whether the node still holds the block at `p` (a reader's re-check).
    #[inline]
    pub(crate) fn holds(&self, block: &Block) -> bool {
        std::ptr::eq(self.block.load(Ordering::Acquire), block.as_ptr())
    }

    /// List link towards the head.
    #[inline]
    pub(crate) fn prev(&self) -> u32 {
        self.prev.load(Ordering::Relaxed)
    }

    /// List link towards the tail.
    #[inline]
    pub(crate) fn next(&self) -> u32 {
        self.next.load(Ordering::Relaxed)
    }

    /// Sets the link towards the head (writer only).
    #[inline]
    pub(crate) fn set_prev(&self, i: u32) {
        self.prev.store(i, Ordering::Relaxed)
    }

    /// Sets the link towards the tail (writer only).
    #[inline]
    pub(crate) fn set_next(&self, i: u32) {
        self.next.store(i, Ordering::Relaxed)
    }

    /// The node's block, for the writer (who alone changes it, through
    /// `&mut Nodes`, so it cannot change while this borrow lives).
    #[inline]
    pub(crate) fn block_opt(&self) -> &Option<Block> {
        // SAFETY: `Option<Block>` is one non-null-niche pointer, the same layout as the `AtomicPtr` (null = `None`); the pointer is only stored through `Nodes::set_block`, which needs `&mut Nodes` and so cannot run while this `&self` borrow (taken from `&Nodes`) lives; concurrent readers only load it.
        unsafe { &*(&self.block as *const AtomicPtr<u8> as *const Option<Block>) }
    }

    /// The block, for a reader holding `guard`. The handle is not counted
    /// (`ManuallyDrop`): it stays valid while the guard is pinned, because a
    /// block removed from a node is released only through the collector.
    #[inline]
    pub(crate) fn block_pinned(&self, _guard: &Guard) -> Option<std::mem::ManuallyDrop<Block>> {
        let p = self.block.load(Ordering::Acquire);
        // SAFETY: `p` came from `into_raw`; the block it names cannot be released before `_guard` unpins (see above), and the caller uses the handle only while it holds the guard.
        (!p.is_null()).then(|| unsafe { Block::borrow_raw(p) })
    }
}

struct NodeArray {
    nodes: Box<[Node]>,
}

/// The slab's current array, as readers load it.
pub(crate) struct SharedNodes {
    array: Atomic<NodeArray>,
}

impl SharedNodes {
    pub(crate) fn new() -> SharedNodes {
        SharedNodes {
            array: Atomic::new(NodeArray {
                nodes: Box::new([]),
            }),
        }
    }

    /// Node `i` as a reader sees it (`None` past the end of an old array).
    #[inline]
    pub(crate) fn get<'g>(&self, guard: &'g Guard, i: u32) -> Option<&'g Node> {
        let a = self.array.load(Ordering::Acquire, guard);
        // SAFETY: the array is never null, and a replaced one is freed only through the collector once every guard that could see it is gone.
        unsafe { a.deref() }.nodes.get(i as usize)
    }
}

impl Drop for SharedNodes {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody can reach the array any more. Its nodes' blocks were released by the shard's own drop.
        unsafe {
            drop(
                self.array
                    .load(Ordering::Relaxed, epoch::unprotected())
                    .into_owned(),
            )
        }
    }
}

/// The writer's view of the current array (owned by the locked shard).
pub(crate) struct Nodes {
    ptr: *const Node,
    len: usize,
}

// SAFETY: a `Nodes` is a view of an array owned by `SharedNodes` (itself `Send + Sync`); it is used only by the holder of the shard's lock.
unsafe impl Send for Nodes {}

impl Nodes {
    /// The view of `shared`'s current array.
    pub(crate) fn of(shared: &SharedNodes) -> Nodes {
        // SAFETY: only the lock holder replaces the array, and it refreshes this view when it does.
        let a = unsafe {
            shared
                .array
                .load(Ordering::Acquire, epoch::unprotected())
                .deref()
        };
        Nodes {
            ptr: a.nodes.as_ptr(),
            len: a.nodes.len(),
        }
    }

    /// Grows the array to `cap` nodes (copying the old ones) and publishes it.
    /// `Err` (and nothing changed) if the allocation fails.
    pub(crate) fn grow(
        &mut self,
        shared: &SharedNodes,
        cap: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        let mut nodes = Vec::new();
        nodes.try_reserve_exact(cap)?;
        nodes.extend(self.iter().map(Node::copy));
        nodes.resize_with(cap, Node::empty);
        let guard = epoch::pin();
        let old = shared.array.swap(
            Owned::new(NodeArray {
                nodes: nodes.into_boxed_slice(),
            }),
            Ordering::AcqRel,
            &guard,
        );
        // SAFETY: the old array is unreachable now; readers pinned before the swap keep it alive until they unpin. Dropping it drops no block (nodes hold raw pointers), so the copies keep sole ownership.
        unsafe { guard.defer_destroy(old) };
        drop(guard);
        super::reclaim::collect();
        *self = Nodes::of(shared);
        Ok(())
    }

    /// Replaces the array by an empty one (after every block was taken out).
    pub(crate) fn reset(&mut self, shared: &SharedNodes) {
        let guard = epoch::pin();
        let old = shared.array.swap(
            Owned::new(NodeArray {
                nodes: Box::new([]),
            }),
            Ordering::AcqRel,
            &guard,
        );
        // SAFETY: as in `grow`.
        unsafe { guard.defer_destroy(old) };
        drop(guard);
        super::reclaim::collect();
        *self = Nodes::of(shared);
    }

    /// Replaces node `i`'s block, returning the old one. The caller
    /// releases the old block through `Shard::retire`, never directly,
    /// unless no reader can reach it.
    #[inline]
    pub(crate) fn set_block(&mut self, i: u32, block: Option<Block>) -> Option<Block> {
        let new = block.map_or(std::ptr::null_mut(), Block::into_raw);
        let old = self[i as usize].block.swap(new, Ordering::AcqRel);
        // SAFETY: a non-null pointer in a node came from `into_raw` and stands for the count the node held; we take it back exactly once.
        (!old.is_null()).then(|| unsafe { Block::from_raw(old) })
    }
}

impl std::ops::Deref for Nodes {
    type Target = [Node];
    #[inline]
    fn deref(&self) -> &[Node] {
        // SAFETY: `ptr`/`len` describe the current array, alive while the shard (which owns the `SharedNodes` through an `Arc`) lives, and only ever accessed through `&` (nodes are atomics).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}
