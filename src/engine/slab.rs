//! The shard's slab of entry nodes, readable by lock-free readers while the
//! shard's lock holder changes it.
//!
//! A [`Node`] is four atomics (block pointer, two list links, one word), 24
//! bytes as before. Atomics because readers load a node's block and word
//! while the writer stores them; on x86-64 a `Relaxed` load or store is the
//! same `mov` a plain field access is, so the writer pays nothing for them.
//!
//! The slab is a list of chunks (see [`SharedNodes`]): past the first 256
//! nodes, growing adds a chunk and copies nothing, so no old copy of the
//! slab waits for the collector.
//!
//! The writer reaches the chunks through [`Nodes`], a view owned by
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

/// Nodes per chunk. Chunk 0 starts smaller (`FIRST`) and doubles, by
/// copying, up to this while it is the only chunk, so a shard holding a few
/// entries holds few nodes; every later chunk is full size from the start.
const CHUNK_SHIFT: u32 = 8;
const CHUNK: usize = 1 << CHUNK_SHIFT;
/// Chunk 0's first size.
const FIRST: usize = 16;

/// The chunks' addresses, as readers find them: entry `k` is chunk `k`,
/// null past the last, and chunk 0's size. Chunk 0 and its size only change
/// by replacing the whole directory (so a reader always checks an offset in
/// chunk 0 against that chunk's own size, even across a flush that starts
/// the slab over smaller); entries past 0 are only ever filled in, and a
/// full directory is replaced by one twice its size.
struct Dir {
    /// Chunk 0's size (0 with no chunk).
    first: usize,
    chunks: Box<[AtomicPtr<Node>]>,
}

impl Dir {
    /// A directory of `n` entries holding `old`'s chunks and `first`.
    fn copy_of(
        old: &Dir,
        n: usize,
        first: usize,
    ) -> Result<Dir, std::collections::TryReserveError> {
        let mut v = Vec::new();
        v.try_reserve_exact(n)?;
        v.extend(
            old.chunks
                .iter()
                .take(n)
                .map(|c| AtomicPtr::new(c.load(Ordering::Relaxed))),
        );
        v.resize_with(n, || AtomicPtr::new(std::ptr::null_mut()));
        Ok(Dir {
            first,
            chunks: v.into_boxed_slice(),
        })
    }

    fn empty() -> Dir {
        Dir {
            first: 0,
            chunks: Box::new([]),
        }
    }
}

/// The slab's chunks, as readers reach them.
///
/// Why chunks rather than one array grown by copying (the first lock-free
/// version): every copy left the old array to the collector, and at 1M
/// entries in 32 shards those copies (eight times the slab, at a growth of
/// an eighth) kept ~110 bytes per entry of freed but still resident
/// memory until jemalloc's decay returned it. Past `CHUNK` nodes nothing
/// is copied: growing adds a chunk, the directory doubles now and then,
/// and the slab wastes at most one part-filled chunk per shard.
pub(crate) struct SharedNodes {
    dir: Atomic<Dir>,
}

impl SharedNodes {
    pub(crate) fn new() -> SharedNodes {
        SharedNodes {
            dir: Atomic::new(Dir::empty()),
        }
    }

    /// Node `i` as a reader sees it (`None` if its chunk is not there).
    #[inline]
    pub(crate) fn get<'g>(&self, guard: &'g Guard, i: u32) -> Option<&'g Node> {
        let (k, off) = ((i >> CHUNK_SHIFT) as usize, i as usize & (CHUNK - 1));
        // SAFETY: the directory is never null, and a replaced one is freed only through the collector once every guard that could see it is gone.
        let dir = unsafe { self.dir.load(Ordering::Acquire, guard).deref() };
        let chunk = dir.chunks.get(k)?.load(Ordering::Acquire);
        // Chunk 0's size from the same directory as its pointer.
        if chunk.is_null() || (k == 0 && off >= dir.first) {
            return None;
        }
        // SAFETY: chunk k > 0 holds CHUNK nodes and chunk 0 `dir.first` (`off` is below either); a chunk is freed only through the collector (a replaced chunk 0, `reset`) or when the shard is gone, so it outlives `guard`.
        Some(unsafe { &*chunk.add(off) })
    }

    /// Frees every chunk named by `dir` (nobody can reach them any more).
    ///
    /// # Safety
    /// No reader or writer can reach `dir`'s chunks, and every block their
    /// nodes held has been released (nodes hold raw pointers).
    unsafe fn free_chunks(dir: &Dir) {
        for (k, c) in dir.chunks.iter().enumerate() {
            let p = c.load(Ordering::Relaxed);
            if !p.is_null() {
                let len = if k == 0 { dir.first } else { CHUNK };
                // SAFETY: chunk `k` came from `Box::<[Node]>::into_raw` with `len` nodes, and the caller promises nobody reaches it.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) });
            }
        }
    }
}

impl Drop for SharedNodes {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody can reach the directory or its chunks any more. Their nodes' blocks were released by the shard's own drop.
        unsafe {
            let dir = self
                .dir
                .load(Ordering::Relaxed, epoch::unprotected())
                .into_owned();
            SharedNodes::free_chunks(&dir);
        }
    }
}

/// The writer's view of the chunks (owned by the locked shard): their
/// addresses, so the writer reaches a node without the directory.
pub(crate) struct Nodes {
    chunks: Vec<*const Node>,
    len: usize,
}

// SAFETY: a `Nodes` is a view of chunks owned by `SharedNodes` (itself `Send + Sync`); it is used only by the holder of the shard's lock.
unsafe impl Send for Nodes {}

impl Nodes {
    /// The view of `shared`'s current chunks.
    pub(crate) fn of(shared: &SharedNodes) -> Nodes {
        // SAFETY: only the lock holder replaces the directory, and it refreshes this view when it does.
        let dir = unsafe {
            shared
                .dir
                .load(Ordering::Acquire, epoch::unprotected())
                .deref()
        };
        let chunks: Vec<*const Node> = dir
            .chunks
            .iter()
            .map(|c| c.load(Ordering::Relaxed).cast_const())
            .take_while(|p| !p.is_null())
            .collect();
        let len = match chunks.len() {
            0 => 0,
            n => dir.first + (n - 1) * CHUNK,
        };
        Nodes { chunks, len }
    }

    /// The number of node slots (free or not).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Node `i`, or `None` past the last slot.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Node> {
        (i < self.len).then(|| &self[i])
    }

    /// Every slot, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Node> + '_ {
        (0..self.len).map(|i| &self[i])
    }

    /// Adds empty slots and publishes them: doubles chunk 0 (by copying
    /// it) while it is the only chunk and smaller than `CHUNK`, else adds a
    /// chunk. `Err` (and nothing changed) if an allocation fails.
    pub(crate) fn grow(
        &mut self,
        shared: &SharedNodes,
    ) -> Result<(), std::collections::TryReserveError> {
        let k = self.chunks.len();
        let guard = epoch::pin();
        if k == 1 && self.len < CHUNK {
            return self.grow_first(shared, &guard);
        }
        let size = if k == 0 { FIRST } else { CHUNK };
        let mut nodes = Vec::new();
        nodes.try_reserve_exact(size)?;
        nodes.resize_with(size, Node::empty);
        self.chunks.try_reserve(1)?;
        // SAFETY: the directory is never null; only this writer replaces it.
        let dir = unsafe { shared.dir.load(Ordering::Acquire, &guard).deref() };
        // A new directory when the old is full, and for chunk 0 (its size
        // lives in the directory); allocated before anything is published.
        let replacement = if k == 0 || k == dir.chunks.len() {
            let n = if k < dir.chunks.len() {
                dir.chunks.len()
            } else {
                (2 * k).max(8)
            };
            Some(Dir::copy_of(dir, n, if k == 0 { size } else { dir.first })?)
        } else {
            None
        };
        let chunk = Box::into_raw(nodes.into_boxed_slice()).cast::<Node>();
        match replacement {
            Some(new) => {
                new.chunks[k].store(chunk, Ordering::Relaxed);
                // AcqRel: a reader that loads the new directory (Acquire)
                // sees the chunk's empty nodes and the copied pointers.
                let old = shared.dir.swap(Owned::new(new), Ordering::AcqRel, &guard);
                // SAFETY: the old directory is unreachable now; readers pinned before the swap keep it alive until they unpin. Dropping it frees no chunk (it holds raw pointers).
                unsafe { guard.defer_destroy(old) };
            }
            // Release: a reader that finds the chunk sees its empty nodes.
            None => dir.chunks[k].store(chunk, Ordering::Release),
        }
        self.chunks.push(chunk);
        self.len += size;
        Ok(())
    }

    /// Replaces chunk 0 by a copy twice its size. Readers still holding the
    /// old one see its frozen copy, which is safe (every block it points to
    /// is released through the epoch collector after they unpin) and at
    /// worst stale; the old chunk is freed the same way.
    fn grow_first(
        &mut self,
        shared: &SharedNodes,
        guard: &Guard,
    ) -> Result<(), std::collections::TryReserveError> {
        let old_len = self.len;
        let mut nodes = Vec::new();
        nodes.try_reserve_exact(2 * old_len)?;
        nodes.extend((0..old_len).map(|i| self[i].copy()));
        nodes.resize_with(2 * old_len, Node::empty);
        // SAFETY: the directory is never null; only this writer replaces it.
        let dir = unsafe { shared.dir.load(Ordering::Acquire, guard).deref() };
        let new = Dir::copy_of(dir, dir.chunks.len(), 2 * old_len)?;
        let chunk = Box::into_raw(nodes.into_boxed_slice()).cast::<Node>();
        let old = new.chunks[0].swap(chunk, Ordering::Relaxed);
        // AcqRel: a reader that loads the new directory sees the copied
        // nodes, and pairs the new chunk with its own size.
        let old_dir = shared.dir.swap(Owned::new(new), Ordering::AcqRel, guard);
        // SAFETY: the old directory is unreachable now; readers pinned before the swap keep it alive until they unpin. Dropping it frees no chunk.
        unsafe { guard.defer_destroy(old_dir) };
        /// The replaced chunk, for the collector (a raw pointer is not `Send`).
        struct OldChunk(*mut Node, usize);
        // SAFETY: the chunk is unreachable for new readers, and only the collector touches it, once the readers that could hold it have gone.
        unsafe impl Send for OldChunk {}
        let old = OldChunk(old, old_len);
        guard.defer(move || {
            let old = old;
            // SAFETY: chunk 0 came from `Box::<[Node]>::into_raw` with `old_len` nodes; no reader can hold it once the collector runs this, and dropping it drops no block (nodes hold raw pointers), so the copies keep sole ownership.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(old.0, old.1)) });
        });
        self.chunks[0] = chunk;
        self.len = 2 * old_len;
        Ok(())
    }

    /// Drops every chunk (after every block was taken out): the directory
    /// is replaced by an empty one, and the old one and its chunks go to
    /// the collector.
    pub(crate) fn reset(&mut self, shared: &SharedNodes) {
        let guard = epoch::pin();
        let old = shared
            .dir
            .swap(Owned::new(Dir::empty()), Ordering::AcqRel, &guard);
        // SAFETY: the old directory is unreachable now; readers pinned before the swap may still read it and its chunks, and the collector runs this only after they unpin. The nodes hold no block any more.
        unsafe {
            guard.defer_unchecked(move || SharedNodes::free_chunks(&old.into_owned()));
        }
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

impl std::ops::Index<usize> for Nodes {
    type Output = Node;
    #[inline]
    fn index(&self, i: usize) -> &Node {
        assert!(i < self.len, "slab slot {i} of {}", self.len);
        // Every chunk but chunk 0 holds CHUNK nodes, and chunk 0 holds
        // fewer only while it is the only one, so `i < len` keeps `i` in its chunk.
        // SAFETY: `i < len` makes `i >> CHUNK_SHIFT` a chunk of `chunks`, and `i & (CHUNK - 1)` a node within it (above); a chunk lives while the shard does (freed only by `grow_first` and `reset`, which need `&mut self`, or by the shard's drop); nodes are only accessed through `&` (they are atomics).
        unsafe {
            &*self
                .chunks
                .get_unchecked(i >> CHUNK_SHIFT)
                .add(i & (CHUNK - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_keeps_nodes_in_place_and_readers_find_them() {
        let shared = SharedNodes::new();
        let mut nodes = Nodes::of(&shared);
        assert_eq!(nodes.len(), 0);
        let guard = epoch::pin();
        assert!(shared.get(&guard, 0).is_none());
        let mut sizes = Vec::new();
        let mut addresses = Vec::new();
        while nodes.len() < 5000 {
            let before = nodes.len();
            nodes.grow(&shared).unwrap();
            sizes.push(nodes.len());
            for i in before..nodes.len() {
                nodes[i].set_word(i as u64);
            }
            // Chunk 0 is copied while it doubles, so its nodes move (with
            // their words); every node past it stays where it was.
            if nodes.len() > CHUNK {
                for (i, &a) in addresses.iter().enumerate() {
                    assert!(
                        std::ptr::eq(&nodes[CHUNK + i], a),
                        "node {} moved",
                        CHUNK + i
                    );
                }
                addresses.extend(
                    (addresses.len() + CHUNK..nodes.len()).map(|i| &nodes[i] as *const Node),
                );
            }
            for i in 0..nodes.len() {
                let seen = shared
                    .get(&guard, i as u32)
                    .expect("a reader finds every slot");
                assert!(
                    std::ptr::eq(seen, &nodes[i]),
                    "a reader finds node {i} where the writer does"
                );
                assert_eq!(seen.word(), i as u64);
            }
            assert!(
                shared.get(&guard, nodes.len() as u32).is_none(),
                "no slot past the last"
            );
            assert!(nodes.get(nodes.len()).is_none());
        }
        // Chunk 0 doubles from FIRST to CHUNK, then a chunk at a time: at
        // most one part-filled chunk.
        assert_eq!(sizes[..5], [16, 32, 64, 128, 256]);
        assert!(sizes.windows(2).skip(4).all(|w| w[1] - w[0] == CHUNK));
        assert!(nodes.len() - 5000 < CHUNK);
        // A fresh view sees the same chunks.
        let again = Nodes::of(&shared);
        assert_eq!(again.len(), nodes.len());
        assert!(std::ptr::eq(&again[4321], &nodes[4321]));
        drop(guard);
        nodes.reset(&shared);
        assert_eq!(nodes.len(), 0);
        assert!(shared.get(&epoch::pin(), 0).is_none());
        // And it grows again from nothing; a reader still holding a slot
        // number from before (past the new, smaller chunk 0) finds nothing.
        let guard = epoch::pin();
        nodes.grow(&shared).unwrap();
        assert_eq!(nodes.len(), FIRST);
        assert!(shared.get(&guard, FIRST as u32 - 1).is_some());
        for stale in [FIRST, 200, CHUNK, 4321] {
            assert!(
                shared.get(&guard, stale as u32).is_none(),
                "slot {stale} after a reset"
            );
        }
    }
}
