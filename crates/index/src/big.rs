//! Growable arrays of plain values whose large instances live in memory that asks the kernel
//! for transparent huge pages.
//!
//! Why: a search at 10 million hashes makes thousands of random reads across a gigabyte of
//! tables and hashes. With 4 KiB pages nearly every one of them also misses the TLB, and on a
//! virtual machine the page walk that follows is itself several memory reads. Measured on the
//! 10-million-hash benchmark (`bench/RESULTS.md`, 2026-11-30, third look): huge pages give about
//! 20 % more queries a second and cut the load of a saved index from 0.6-0.95 s to 0.4 s, since
//! the kernel faults in 2 MiB at a time. Many systems leave huge pages to programs that ask
//! (`/sys/kernel/mm/transparent_hugepage/enabled` set to `madvise`, as on this machine), so the
//! index asks. The memory is an anonymous mapping, not a file: nothing here does I/O.

use std::fmt;
use std::ops::{Deref, DerefMut};

use bytemuck::Pod;

/// Arrays smaller than this stay ordinary vectors: a huge page is 2 MiB, and a mapping per
/// small array would cost more than it saves.
const MAP_FROM_BYTES: usize = 4 << 20;

/// A vector of `T` for the index's large arrays (hashes, ids, table groups).
pub(crate) struct Big<T: Pod> {
    len: usize,
    store: Store<T>,
}

enum Store<T> {
    Heap(Vec<T>),
    /// Page-aligned memory of `capacity * size_of::<T>()` bytes, of which the first `len`
    /// values are in use.
    Mapped(memmap2::MmapMut),
}

/// Anonymous memory for `bytes` bytes (zero-filled by the kernel) with the huge-page advice, or
/// `None` when the system refuses the mapping (the caller then uses the heap).
fn mapped(bytes: usize) -> Option<memmap2::MmapMut> {
    let map = memmap2::MmapMut::map_anon(bytes).ok()?;
    // Advice only: where huge pages are off or unknown, the memory works the same.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Some(map)
}

impl<T: Pod> Big<T> {
    /// An empty array.
    pub(crate) fn new() -> Self {
        Self { len: 0, store: Store::Heap(Vec::new()) }
    }

    /// `len` zero values.
    pub(crate) fn zeroed(len: usize) -> Self {
        let bytes = len.checked_mul(size_of::<T>()).expect("array size overflows");
        if bytes >= MAP_FROM_BYTES
            && let Some(map) = mapped(bytes)
        {
            return Self { len, store: Store::Mapped(map) };
        }
        Self { len, store: Store::Heap(vec![T::zeroed(); len]) }
    }

    fn capacity(&self) -> usize {
        match &self.store {
            Store::Heap(v) => v.capacity(),
            Store::Mapped(m) => m.len() / size_of::<T>(),
        }
    }

    /// Appends `value`. A heap array that reaches the mapping threshold, or a full mapped one,
    /// moves to mapped memory twice its size.
    pub(crate) fn push(&mut self, value: T) {
        let full = self.len == self.capacity();
        match &mut self.store {
            Store::Heap(v) if (v.len() + 1) * size_of::<T>() < MAP_FROM_BYTES => {}
            // Past the threshold a heap array only ever stays on the heap when no mapping could
            // be had; it tries again when it is full, as a `Vec` would reallocate.
            Store::Heap(_) | Store::Mapped(_) if full => self.grow((2 * self.len).max(MAP_FROM_BYTES / size_of::<T>())),
            Store::Heap(_) | Store::Mapped(_) => {}
        }
        match &mut self.store {
            Store::Heap(v) => v.push(value),
            Store::Mapped(m) => bytemuck::cast_slice_mut::<u8, T>(&mut m[..])[self.len] = value,
        }
        self.len += 1;
    }

    /// Moves the values to mapped memory for `capacity` values (at least `len`).
    fn grow(&mut self, capacity: usize) {
        let Some(mut map) = mapped(capacity.checked_mul(size_of::<T>()).expect("array size overflows")) else {
            // No mapping to be had: keep to the heap, where `Vec` grows as usual.
            let mut v = self.to_vec();
            v.reserve(capacity - v.len());
            self.store = Store::Heap(v);
            return;
        };
        let bytes = self.len * size_of::<T>();
        map[..bytes].copy_from_slice(bytemuck::cast_slice(&self[..]));
        self.store = Store::Mapped(map);
    }
}

impl<T: Pod> Default for Big<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Pod> Deref for Big<T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        match &self.store {
            Store::Heap(v) => v,
            // The mapping is page-aligned and holds at least `len` values, so the cast
            // cannot fail.
            Store::Mapped(m) => &bytemuck::cast_slice(&m[..])[..self.len],
        }
    }
}

impl<T: Pod> DerefMut for Big<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.store {
            Store::Heap(v) => v,
            Store::Mapped(m) => &mut bytemuck::cast_slice_mut(&mut m[..])[..self.len],
        }
    }
}

impl<T: Pod> From<Vec<T>> for Big<T> {
    fn from(v: Vec<T>) -> Self {
        if v.len() * size_of::<T>() < MAP_FROM_BYTES {
            return Self { len: v.len(), store: Store::Heap(v) };
        }
        let mut big = Self::zeroed(v.len());
        big.copy_from_slice(&v);
        big
    }
}

impl<T: Pod> FromIterator<T> for Big<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut big = Self::new();
        iter.into_iter().for_each(|v| big.push(v));
        big
    }
}

impl<T: Pod> Clone for Big<T> {
    fn clone(&self) -> Self {
        let mut copy = Self::zeroed(self.len);
        copy.copy_from_slice(self);
        copy
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for Big<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Big").field("len", &self.len).field("mapped", &matches!(self.store, Store::Mapped(_))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_past_the_mapping_threshold_keep_every_value_in_order() {
        let mut big = Big::<u64>::new();
        let n = 3 * MAP_FROM_BYTES / 8 + 7;
        for i in 0..n as u64 {
            big.push(i * 3);
        }
        assert_eq!(big.len(), n);
        assert!(matches!(big.store, Store::Mapped(_)), "an array this large is mapped");
        assert!(big.iter().enumerate().all(|(i, &v)| v == i as u64 * 3));
        let copy = big.clone();
        assert_eq!(&copy[..], &big[..]);
    }

    #[test]
    fn zeroed_and_converted_arrays_hold_what_they_were_given() {
        let big = Big::<u32>::zeroed(MAP_FROM_BYTES);
        assert!(big.iter().all(|&v| v == 0));
        let values: Vec<u32> = (0..2 * MAP_FROM_BYTES as u32 / 4).collect();
        let from: Big<u32> = values.clone().into();
        assert_eq!(&from[..], &values[..]);
        let small: Big<u8> = vec![1, 2, 3].into();
        assert_eq!(&small[..], &[1, 2, 3]);
        assert!(matches!(small.store, Store::Heap(_)));
    }
}
