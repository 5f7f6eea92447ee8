//! The allocator of mappers built for `wasm32-unknown-unknown`.
//!
//! The host runs every request in a fresh instance and resets its memory
//! afterwards, so nothing allocated outlives one call. The standard
//! library's allocator on this target obtains every byte by growing the
//! instance's memory, and each growth costs the host two changes of page
//! protection: one when the memory grows, one when the slot is reset for
//! the next call. On a handshake-sized call that is about a fifth of it.
//!
//! This allocator hands out a static arena first, which lies in the memory
//! the instance starts with. It bumps an offset and reuses only the most
//! recent block (freed, or grown in place), which is all a call that lasts
//! one request needs. A call that uses the arena up goes on with the
//! standard allocator.
//!
//! Written here because the crates that offer a bump or arena allocator as
//! the global one either never fall back when the arena is full or grow the
//! memory for their first block, which is the cost this avoids.
//!
//! Mappers that bring their own global allocator turn this one off with
//! `default-features = false`.

use std::alloc::Layout;
use std::cell::Cell;

/// Offsets into a region of `len` bytes: where the free bytes start, and
/// where the most recent block starts. Only offsets are kept here; the
/// global allocator below turns them into pointers. Alignment is counted
/// from offset 0, so the region must be aligned for every block it holds.
struct Arena {
    len: usize,
    top: Cell<usize>,
    /// `None` once the most recent block is freed.
    last: Cell<Option<usize>>,
}

impl Arena {
    const fn new(len: usize) -> Self {
        Self {
            len,
            top: Cell::new(0),
            last: Cell::new(None),
        }
    }

    /// The offset of a new block for `layout`, or `None` when it does not fit.
    fn bump(&self, layout: Layout) -> Option<usize> {
        let start = self.top.get().checked_next_multiple_of(layout.align())?;
        let end = start.checked_add(layout.size())?;
        if end > self.len {
            return None;
        }
        self.top.set(end);
        self.last.set(Some(start));
        Some(start)
    }

    /// Whether `offset` lies in the arena.
    fn contains(&self, offset: usize) -> bool {
        offset < self.len
    }

    /// Frees the block at `offset`: the most recent one makes room again,
    /// the others wait for the instance's end.
    fn free(&self, offset: usize) {
        if self.last.get() == Some(offset) {
            self.top.set(offset);
            self.last.set(None);
        }
    }

    /// Resizes the block at `offset` where it is, when it is the most recent
    /// one and the arena has room; says whether it did.
    fn resize(&self, offset: usize, new_size: usize) -> bool {
        let fits = offset
            .checked_add(new_size)
            .is_some_and(|end| end <= self.len);
        if self.last.get() != Some(offset) || !fits {
            return false;
        }
        self.top.set(offset + new_size);
        true
    }
}

#[cfg(not(test))]
mod global {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;
    use std::ptr;

    use super::Arena;

    /// Bytes in the arena: requests as most senders send them (a few
    /// kilobytes, headers included) fit many times over. It adds to the
    /// memory every instance starts with, which `mapper_memory_bytes` caps.
    const ARENA_BYTES: usize = 64 << 10;

    /// The arena's bytes. All zero at the start, so that they take no room in
    /// the module's data: the instance's memory starts zeroed.
    #[repr(C, align(16))]
    struct Bytes(UnsafeCell<[u8; ARENA_BYTES]>);

    /// The arena, then the standard allocator.
    struct ArenaFirst(Arena);

    // SAFETY: `wasm32-unknown-unknown` without the `atomics` feature (the
    // module is only compiled under that condition) runs one thread per
    // instance, so neither is ever reached from two threads.
    #[allow(unsafe_code)]
    unsafe impl Sync for Bytes {}
    // SAFETY: as for `Bytes`.
    #[allow(unsafe_code)]
    unsafe impl Sync for ArenaFirst {}

    static BYTES: Bytes = Bytes(UnsafeCell::new([0; ARENA_BYTES]));

    #[global_allocator]
    static ALLOCATOR: ArenaFirst = ArenaFirst(Arena::new(ARENA_BYTES));

    impl ArenaFirst {
        fn base(&self) -> *mut u8 {
            BYTES.0.get().cast()
        }

        /// The arena's offsets count from its bytes' address, which a
        /// `static` initializer cannot name: the offset of `ptr` from it,
        /// when `ptr` points into the arena.
        fn offset_of(&self, ptr: *mut u8) -> Option<usize> {
            let offset = (ptr as usize).checked_sub(self.base() as usize)?;
            self.0.contains(offset).then_some(offset)
        }

        fn bump(&self, layout: Layout) -> Option<*mut u8> {
            // Offset 0 is aligned to 16 (`Bytes`); larger alignments go to
            // the standard allocator.
            if layout.align() > 16 {
                return None;
            }
            let offset = self.0.bump(layout)?;
            // In bounds: `bump` keeps every block inside the arena.
            Some(self.base().wrapping_add(offset))
        }
    }

    // SAFETY: every block handed out is either a range of the arena that
    // `Arena` gives to no one else while it is live (only the most recent
    // block is ever given back or moved, and only when freed or resized),
    // aligned as asked, or a block of `System`, which only `System` frees.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for ArenaFirst {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match self.bump(layout) {
                Some(block) => block,
                // SAFETY: the caller's promises for `layout` pass on unchanged.
                None => unsafe { System.alloc(layout) },
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            match self.offset_of(ptr) {
                Some(offset) => self.0.free(offset),
                // SAFETY: not in the arena, so `System` allocated it with `layout`.
                None => unsafe { System.dealloc(ptr, layout) },
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if let Some(offset) = self.offset_of(ptr)
                && self.0.resize(offset, new_size)
            {
                return ptr;
            }

            // SAFETY: the caller promises that `layout`'s alignment with
            // `new_size` makes a valid layout.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: `new_layout` is valid (above) and the caller's promises
            // for `ptr` and `layout` hold for `dealloc`; the new block is
            // fresh, so the two do not overlap.
            unsafe {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::Layout;

    use super::Arena;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_are_aligned_and_apart() {
        let arena = Arena::new(1024);

        let a = arena.bump(layout(3, 1)).unwrap();
        let b = arena.bump(layout(8, 8)).unwrap();
        let c = arena.bump(layout(16, 16)).unwrap();

        assert_eq!((a, b, c), (0, 8, 16));
    }

    #[test]
    fn a_block_that_does_not_fit_is_refused() {
        let arena = Arena::new(64);

        assert_eq!(arena.bump(layout(48, 1)), Some(0));
        assert_eq!(arena.bump(layout(17, 1)), None);
        assert_eq!(arena.bump(layout(16, 1)), Some(48));
        assert_eq!(arena.bump(layout(1, 1)), None);
    }

    #[test]
    fn only_the_most_recent_block_is_reused() {
        let arena = Arena::new(1024);
        let a = arena.bump(layout(100, 1)).unwrap();
        let b = arena.bump(layout(100, 1)).unwrap();

        arena.free(a);
        assert_eq!(arena.bump(layout(10, 1)), Some(200));
        arena.free(b);
        assert_eq!(arena.bump(layout(10, 1)), Some(210));
        arena.free(210);
        assert_eq!(arena.bump(layout(10, 1)), Some(210));
    }

    #[test]
    fn the_most_recent_block_grows_in_place_while_there_is_room() {
        let arena = Arena::new(256);
        let a = arena.bump(layout(16, 1)).unwrap();
        let b = arena.bump(layout(16, 1)).unwrap();

        assert!(!arena.resize(a, 64), "a block with another after it");
        assert!(arena.resize(b, 200));
        assert_eq!(arena.bump(layout(8, 1)), Some(216));
        assert!(arena.resize(216, 40));
        assert!(!arena.resize(216, 41), "past the end");
    }

    #[test]
    fn only_offsets_inside_are_the_arenas() {
        let arena = Arena::new(50);

        assert!(arena.contains(0));
        assert!(arena.contains(49));
        assert!(!arena.contains(50));
    }
}
