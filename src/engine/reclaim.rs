//! Releasing memory that lock-free readers may still be reading, through
//! `crossbeam-epoch`: a retired object is freed once every thread that was
//! pinned when it was retired has unpinned.

use crossbeam_epoch as epoch;

/// Pushes this thread's retired objects to the collector and lets it
/// advance the epoch and free what no reader can still hold. Called after
/// retiring something large (a slab array, an index table), so that memory
/// comes back now rather than after some later 128 pins: a slab growing by
/// an eighth would otherwise keep several old copies alive. Three rounds,
/// because an object is freed two epoch advances after its retirement.
pub(crate) fn collect() {
    for _ in 0..3 {
        epoch::pin().flush();
    }
}
