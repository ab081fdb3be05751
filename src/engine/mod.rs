//! The storage engine: value blocks, shards, allocator size classes, and
//! the fork protocol. Everything below [`crate::Cache`].

pub(crate) mod block;
pub(crate) mod fork;
pub(crate) mod index;
pub(crate) mod read;
pub(crate) mod reclaim;
pub(crate) mod slab;
pub(crate) mod shard;
pub(crate) mod size_class;
