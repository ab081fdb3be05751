//! Eviction policies. Each one orders a shard's entries through intrusive
//! lists over slab indices (u32 links stored in the entries themselves, no
//! allocation per node) and names the next victim.
//!
//! Only exact LRU exists today; W-TinyLFU and S3-FIFO arrive with the
//! eviction-policy work and plug into the same three events
//! (insert, hit, remove) and one question (victim).

pub(crate) mod list;
pub(crate) mod lru;

