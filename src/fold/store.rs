//! The story index's compact containers: the arena of the documents' feature keys and ranks, the
//! table of posting lists, and the packed tag (language, event day) of each document.
//!
//! Invariants: arena positions are logical and wrap, `base` being the position of its first
//! element; a posting list's key is unique in its table and its carriers are sorted by sequence
//! number.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use crate::model::Lang;

/// The live documents' feature keys and ranks, back to back in insertion order. Documents leave
/// in the order they came, so the dead prefix is cut off in one move once it is an eighth of the
/// arena, and a document holds only its start and length instead of two allocations of its own.
#[derive(Default)]
pub(super) struct Arena {
    pub keys: Vec<u32>,
    pub ranks: Vec<u8>,
    /// The logical position of `keys[0]`.
    pub base: u32,
}

impl Arena {
    /// Appends a document's keys and ranks (zeros when unknown), returning its start position.
    pub fn push(&mut self, keys: &[u32], ranks: Option<&[u8]>) -> u32 {
        if self.keys.capacity() - self.keys.len() < keys.len() {
            // A quarter more at a time, as the document array grows.
            let more = (self.keys.len() / 4).max(1024).max(keys.len());
            self.keys.reserve_exact(more);
            self.ranks.reserve_exact(more);
        }
        let start = self.end();
        self.keys.extend_from_slice(keys);
        match ranks {
            Some(r) => self.ranks.extend_from_slice(r),
            None => self.ranks.resize(self.keys.len(), 0),
        }
        start
    }

    /// The position after the last element.
    pub fn end(&self) -> u32 {
        self.base.wrapping_add(self.keys.len() as u32)
    }

    /// Where a document starting at `start` with `len` elements sits in `keys` and `ranks`.
    pub fn range(&self, start: u32, len: u8) -> std::ops::Range<usize> {
        let i = start.wrapping_sub(self.base) as usize;
        i..i + usize::from(len)
    }

    /// Forgets everything before `live_start` (the oldest live document's start, or `end` when
    /// none is left) once that dead prefix is an eighth of the arena.
    pub fn trim(&mut self, live_start: u32) {
        let dead = (live_start.wrapping_sub(self.base) as usize).min(self.keys.len());
        if dead > 0 && dead * 8 >= self.keys.len() {
            self.keys.drain(..dead);
            self.ranks.drain(..dead);
            self.base = self.base.wrapping_add(dead as u32);
        }
    }

    /// The heap the arena holds.
    pub fn bytes(&self) -> usize {
        self.keys.capacity() * 4 + self.ranks.capacity()
    }
}

/// Carriers a posting list holds without a heap block of its own.
const INLINE_POSTINGS: usize = 4;

/// The documents carrying a feature that two or more live documents carry, with the feature's
/// key inside (32 bytes a list, where a map entry beside its key would take 40).
pub(super) struct Postings {
    pub key: u32,
    /// The live documents carrying the feature (the list may hold fewer: see `MAX_POSTINGS`).
    pub df: u32,
    /// Up to `INLINE_POSTINGS` carriers inline: most shared features are shared by a few pages.
    pub docs: SmallVec<[u32; INLINE_POSTINGS]>,
}

impl Postings {
    /// The heap the list holds beyond its entry: none while its carriers fit inline.
    pub fn heap_bytes(&self) -> usize {
        if self.docs.spilled() {
            self.docs.capacity() * 4
        } else {
            0
        }
    }
}

/// Posting lists by feature key.
#[derive(Default)]
pub(super) struct PostingTable {
    table: HashTable<Postings>,
}

fn hash(key: u32) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl PostingTable {
    pub fn get(&self, key: u32) -> Option<&Postings> {
        self.table.find(hash(key), |p| p.key == key)
    }

    pub fn get_mut(&mut self, key: u32) -> Option<&mut Postings> {
        self.table.find_mut(hash(key), |p| p.key == key)
    }

    /// Adds a list whose key the table does not hold.
    pub fn insert_new(&mut self, p: Postings) {
        debug_assert!(self.get(p.key).is_none(), "posting list {} inserted twice", p.key);
        self.table.insert_unique(hash(p.key), p, |p| hash(p.key));
    }

    pub fn remove(&mut self, key: u32) {
        if let Ok(entry) = self.table.find_entry(hash(key), |p| p.key == key) {
            entry.remove();
        }
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &Postings> {
        self.table.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Postings> {
        self.table.iter_mut()
    }

    /// The table's heap: its slots (each a list and a control byte), without the lists' own.
    pub fn bytes(&self) -> usize {
        self.table.capacity() * (std::mem::size_of::<Postings>() + 1)
    }
}

/// A document's language and event day packed in 16 bits, kept in a dense array beside the
/// documents: candidate filters read them for hundreds of documents per page, and a dense array
/// stays in cache where the documents themselves do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tag(u16);

impl Tag {
    pub fn new(lang: Option<Lang>, event_day: Option<(u8, u8)>) -> Tag {
        // Language in the low 4 bits; month 1–12 in 4 bits and day 1–31 in 5 bits above it, 0
        // meaning no event day.
        let e = event_day.map_or(0, |(m, d)| (u16::from(m & 0x0f) << 5) | u16::from(d & 0x1f));
        Tag(u16::from(Lang::tag(lang) & 0x0f) | (e << 4))
    }

    pub fn lang(self) -> Option<Lang> {
        Lang::from_tag((self.0 & 0x0f) as u8).flatten()
    }

    pub fn event_day(self) -> Option<(u8, u8)> {
        let e = self.0 >> 4;
        (e != 0).then_some(((e >> 5) as u8, (e & 0x1f) as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_every_language_and_day() {
        for lang in std::iter::once(None).chain(Lang::ALL.map(Some)) {
            for day in [None, Some((1, 1)), Some((12, 31)), Some((2, 29))] {
                let t = Tag::new(lang, day);
                assert_eq!((t.lang(), t.event_day()), (lang, day));
            }
        }
    }

    #[test]
    fn a_posting_list_with_its_key_takes_32_bytes() {
        assert_eq!(std::mem::size_of::<Postings>(), 32);
    }

    #[test]
    fn posting_lists_are_found_by_key_until_removed() {
        let mut t = PostingTable::default();
        for key in 0..1000u32 {
            t.insert_new(Postings {
                key: key * 7919,
                df: key,
                docs: SmallVec::from_slice(&[key, key + 1]),
            });
        }
        for key in (0..1000u32).step_by(2) {
            t.remove(key * 7919);
        }
        for key in 0..1000u32 {
            let found = t.get(key * 7919).map(|p| (p.df, p.docs.to_vec()));
            let want = (!key.is_multiple_of(2)).then(|| (key, vec![key, key + 1]));
            assert_eq!(found, want, "key {key}");
        }
        assert_eq!(t.iter().count(), 500);
    }

    #[test]
    fn the_arena_forgets_its_dead_prefix_in_one_move() {
        let mut a = Arena::default();
        let starts: Vec<u32> = (0..64u32).map(|i| a.push(&[i; 8], None)).collect();
        assert_eq!(a.keys.len(), 512);
        // Less than an eighth dead: kept.
        a.trim(starts[7]);
        assert_eq!((a.base, a.keys.len()), (0, 512));
        // An eighth: cut, and positions still find each document's keys.
        a.trim(starts[8]);
        assert_eq!((a.base, a.keys.len()), (64, 448));
        assert_eq!(&a.keys[a.range(starts[9], 8)], &[9; 8]);
        a.trim(a.end());
        assert!(a.keys.is_empty() && a.ranks.is_empty());
    }
}
