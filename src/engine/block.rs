//! Immutable, reference-counted storage for one entry: key bytes followed by
//! the stored value bytes, in ONE allocation behind a thin pointer.
//!
//! Why not `Arc<[u8]>`: an `Arc` costs two machine words of counts plus a fat
//! pointer, and a separate allocation for the key would cost another header
//! and another size-class rounding. Here the header is 12 bytes (a 32-bit
//! count and two 32-bit lengths), so a 16-byte key and a 100-byte value fill
//! a 128-byte jemalloc size class exactly, and the shard's node holds a single
//! 8-byte pointer. A [`Value`] handed to a caller shares the block, so it stays
//! valid after the entry is overwritten, evicted or the cache is closed.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering, fence};

use crate::codec::Encoding;
use crate::error::{Error, ErrorKind, Result};

#[repr(C)]
struct Header {
    refs: AtomicU32,
    /// The key's length (low 30 bits) and the value's `Encoding` (top 2):
    /// the encoding travels with the bytes it describes, so a reader that
    /// holds no lock can never pair a block with another entry's encoding.
    key_len: u32,
    value_len: u32,
}

/// Keys are at most this long (the top two bits of `key_len` hold the encoding).
pub(crate) const MAX_KEY_LEN: usize = (1 << 30) - 1;
const ENCODING_SHIFT: u32 = 30;

/// Bytes of header in front of the key in every block.
pub(crate) const BLOCK_HEADER: usize = std::mem::size_of::<Header>();

/// Above this many live handles, sharing a block copies it instead, so the
/// 32-bit count can never overflow.
const MAX_REFS: u32 = u32::MAX / 2;

/// A shared, immutable `key ++ value` byte block. `repr(transparent)` over
/// a `NonNull`, so `Option<Block>` is one pointer with `None` = null, the
/// layout `slab::Node::block_opt` relies on (checked below).
#[repr(transparent)]
pub(crate) struct Block {
    ptr: NonNull<Header>,
}

const _: () = assert!(std::mem::size_of::<Option<Block>>() == std::mem::size_of::<*mut u8>());

// SAFETY: a block's bytes are never written after construction, and its count is atomic, so sharing and sending it across threads is sound.
unsafe impl Send for Block {}
// SAFETY: see `Send` above: only `&` access to immutable bytes and an atomic.
unsafe impl Sync for Block {}

impl Block {
    fn layout(total: usize) -> Option<Layout> {
        Layout::from_size_align(BLOCK_HEADER + total, std::mem::align_of::<Header>()).ok()
    }

    /// Allocates a block for `key` and `value_len` value bytes and copies
    /// the key in; returns it with a pointer to the (uninitialised) value
    /// area. Fails with `OutOfMemory` instead of aborting.
    fn allocate(key: &[u8], value_len: usize) -> Result<(Block, *mut u8)> {
        let too_large = || Error::new(ErrorKind::TooLarge, "key or value exceeds 4 GiB");
        if key.len() > MAX_KEY_LEN {
            return Err(Error::new(ErrorKind::TooLarge, "key exceeds 1 GiB"));
        }
        let key_len = key.len() as u32;
        let val_len = u32::try_from(value_len).map_err(|_| too_large())?;
        let total = key.len().checked_add(value_len).ok_or_else(too_large)?;
        let layout = Self::layout(total).ok_or_else(too_large)?;
        // SAFETY: the layout has a non-zero size (the header alone is 12 bytes).
        let raw = unsafe { alloc::alloc(layout) } as *mut Header;
        let ptr = NonNull::new(raw)
            .ok_or_else(|| Error::new(ErrorKind::OutOfMemory, "allocation of a cache entry failed"))?;
        // SAFETY: `raw` is a fresh allocation of `layout`, aligned for Header, with room for the header plus `total` bytes; the key fits in it.
        let value_ptr = unsafe {
            raw.write(Header { refs: AtomicU32::new(1), key_len, value_len: val_len });
            let data = (raw as *mut u8).add(BLOCK_HEADER);
            std::ptr::copy_nonoverlapping(key.as_ptr(), data, key.len());
            data.add(key.len())
        };
        Ok((Block { ptr }, value_ptr))
    }

    /// A block holding `key` and `value_len` value bytes written by `fill`
    /// (zeroed first, so a `fill` that writes less exposes no garbage).
    pub(crate) fn build(key: &[u8], value_len: usize, fill: impl FnOnce(&mut [u8])) -> Result<Block> {
        let (block, value_ptr) = Self::allocate(key, value_len)?;
        // SAFETY: `value_ptr` is the start of `value_len` bytes inside the block we exclusively own; zeroing makes them initialised.
        let value = unsafe {
            value_ptr.write_bytes(0, value_len);
            std::slice::from_raw_parts_mut(value_ptr, value_len)
        };
        fill(value);
        Ok(block)
    }

    /// A block holding a copy of `key` and `value`.
    pub(crate) fn new(key: &[u8], value: &[u8]) -> Result<Block> {
        let (block, value_ptr) = Self::allocate(key, value.len())?;
        // SAFETY: the value area has exactly `value.len()` bytes, owned only by this new block, and cannot overlap the caller's slice.
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), value_ptr, value.len()) };
        Ok(block)
    }

    fn header(&self) -> &Header {
        // SAFETY: `ptr` points at a live, initialised header while `self` exists.
        unsafe { self.ptr.as_ref() }
    }

    #[inline]
    fn key_len(&self) -> usize {
        self.header().key_len as usize & MAX_KEY_LEN
    }

    /// Marks how the value bytes are stored. Only on a block nobody else
    /// holds yet (`&mut` and a count of one), before it is shared.
    pub(crate) fn set_encoding(&mut self, enc: Encoding) {
        let h = self.header();
        debug_assert_eq!(h.refs.load(Ordering::Relaxed), 1, "encoding set on a shared block");
        let key_len = (h.key_len & MAX_KEY_LEN as u32) | ((enc as u32) << ENCODING_SHIFT);
        // SAFETY: `&mut self` with a count of one: no other handle to this block exists, so no reader can see the header while it changes.
        unsafe { (*self.ptr.as_ptr()).key_len = key_len };
    }

    /// How the value bytes are stored.
    #[inline]
    pub(crate) fn encoding(&self) -> Encoding {
        Encoding::from_bits((self.header().key_len >> ENCODING_SHIFT) as u8)
    }

    fn bytes(&self) -> &[u8] {
        let h = self.header();
        let total = self.key_len() + h.value_len as usize;
        // SAFETY: the block was allocated with `total` initialised bytes after the header, and they are never mutated while shared.
        unsafe { std::slice::from_raw_parts((self.ptr.as_ptr() as *const u8).add(BLOCK_HEADER), total) }
    }

    /// The key bytes.
    #[inline]
    pub(crate) fn key(&self) -> &[u8] {
        let k = self.key_len();
        &self.bytes()[..k]
    }

    /// Whether the key is `key`: short keys (the common case) are compared
    /// as two overlapping words, without a call to `memcmp`.
    #[inline]
    pub(crate) fn key_is(&self, key: &[u8]) -> bool {
        let mine = self.key();
        if mine.len() != key.len() {
            return false;
        }
        let n = key.len();
        if (8..=16).contains(&n) {
            let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
            return word(mine, 0) == word(key, 0) && word(mine, n - 8) == word(key, n - 8);
        }
        mine == key
    }

    /// The stored value bytes (possibly compressed; the shard knows).
    #[inline]
    pub(crate) fn value(&self) -> &[u8] {
        let k = self.key_len();
        &self.bytes()[k..]
    }

    /// Size of the allocation in bytes, as requested from the allocator.
    pub(crate) fn alloc_len(&self) -> usize {
        BLOCK_HEADER + self.key_len() + self.header().value_len as usize
    }

    /// The block's address (identity, for a reader's re-check).
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr() as *mut u8
    }

    /// Gives up this handle's count for a raw pointer (stored in a node's
    /// atomic slot); [`Block::from_raw`] takes it back.
    pub(crate) fn into_raw(self) -> *mut u8 {
        let p = self.ptr.as_ptr() as *mut u8;
        std::mem::forget(self);
        p
    }

    /// Takes back the count given up by [`Block::into_raw`].
    ///
    /// # Safety
    /// `p` came from `into_raw` and its count is taken back only once.
    pub(crate) unsafe fn from_raw(p: *mut u8) -> Block {
        // SAFETY: the caller passes a non-null pointer from `into_raw`.
        Block { ptr: unsafe { NonNull::new_unchecked(p as *mut Header) } }
    }

    /// Borrows the block behind a raw pointer without touching its count.
    ///
    /// # Safety
    /// `p` came from `into_raw`, and the block is kept alive (by the count
    /// the pointer stands for, or by an epoch guard that delays its release)
    /// for as long as the returned handle is used. The handle must not be
    /// dropped (it is `ManuallyDrop`).
    #[inline]
    pub(crate) unsafe fn borrow_raw(p: *mut u8) -> std::mem::ManuallyDrop<Block> {
        // SAFETY: non-null per the contract above.
        std::mem::ManuallyDrop::new(Block { ptr: unsafe { NonNull::new_unchecked(p as *mut Header) } })
    }

    /// Another handle to the same bytes. Copies instead when the count is
    /// implausibly high, so it can never wrap.
    pub(crate) fn share(&self) -> Result<Block> {
        let old = self.header().refs.fetch_add(1, Ordering::Relaxed);
        if old >= MAX_REFS {
            self.header().refs.fetch_sub(1, Ordering::Relaxed);
            return Block::new(self.key(), self.value());
        }
        Ok(Block { ptr: self.ptr })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // Release/Acquire as in `Arc`: every use of the bytes by other owners
        // happens before the deallocation.
        if self.header().refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let layout = Self::layout(self.alloc_len() - BLOCK_HEADER).expect("layout was valid at allocation");
        // SAFETY: we held the last reference; the pointer came from `alloc` with exactly this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr() as *mut u8, layout) }
    }
}

/// A value read from the cache: a cheap, reference-counted handle to
/// immutable bytes. It stays valid after the entry is overwritten, evicted,
/// deleted, or the cache is closed.
pub struct Value {
    block: Block,
}

impl Value {
    pub(crate) fn from_block(block: Block) -> Value {
        Value { block }
    }

    /// The value bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.block.value()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for the empty value.
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// A copy as a `Vec<u8>`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl Clone for Value {
    fn clone(&self) -> Self {
        // `share` only fails (with OutOfMemory) in the copy fallback that
        // needs 2^31 live handles first; a Clone can't report it, so the
        // documented behaviour for that impossible case is a panic here.
        Value { block: self.block.share().expect("out of memory cloning a Value") }
    }
}

impl std::ops::Deref for Value {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Value {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq<[u8]> for Value {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_key_and_value() {
        let b = Block::new(b"key", b"value").unwrap();
        assert_eq!(b.key(), b"key");
        assert_eq!(b.value(), b"value");
        assert_eq!(b.alloc_len(), BLOCK_HEADER + 8);
        assert_eq!(BLOCK_HEADER, 12);
    }

    #[test]
    fn shared_handle_outlives_original() {
        let b = Block::new(b"k", b"v1").unwrap();
        let v = Value::from_block(b.share().unwrap());
        drop(b);
        assert_eq!(v.as_bytes(), b"v1");
        let w = v.clone();
        drop(v);
        assert_eq!(&*w, b"v1");
    }

    #[test]
    fn encoding_travels_with_the_block_and_leaves_the_key_alone() {
        let mut b = Block::new(b"key", b"packed").unwrap();
        assert_eq!(b.encoding(), Encoding::Raw);
        b.set_encoding(Encoding::Lz4);
        assert_eq!(b.encoding(), Encoding::Lz4);
        assert_eq!(b.key(), b"key");
        assert_eq!(b.value(), b"packed");
        assert_eq!(b.alloc_len(), BLOCK_HEADER + 9);
        let raw = b.into_raw();
        // SAFETY: `raw` came from `into_raw` just above and is taken back once.
        let back = unsafe { Block::from_raw(raw) };
        assert_eq!(back.encoding(), Encoding::Lz4);
    }

    #[test]
    fn key_is_compares_every_byte_of_short_keys() {
        for n in 0..20usize {
            let key: Vec<u8> = (0..n as u8).collect();
            let b = Block::new(&key, b"v").unwrap();
            assert!(b.key_is(&key));
            for i in 0..n {
                let mut other = key.clone();
                other[i] ^= 1;
                assert!(!b.key_is(&other), "len {n}, byte {i}");
            }
            assert!(!b.key_is(&key[..n.saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn empty_key_and_value() {
        let b = Block::new(b"", b"").unwrap();
        assert!(b.key().is_empty());
        assert!(b.value().is_empty());
    }

    #[test]
    fn build_zeroes_unwritten_bytes() {
        let b = Block::build(b"k", 4, |dst| dst[0] = 7).unwrap();
        assert_eq!(b.value(), &[7, 0, 0, 0]);
    }
}
