//! Aggregation of individual ballots into distinct `(content, count)` pairs.
//!
//! The counting methods take ballots already aggregated. [`Aggregator`]
//! builds that vector from ballots given one at a time. It is a hash map
//! keyed by the ballot content; contents of up to [`INLINE`] option indices
//! are stored inline in the key (no heap allocation at all), and a ballot
//! already seen is looked up by slice, so it never allocates.
//!
//! Contents of at most [`PACKED`] indices that are all below 16 (most
//! ballots of most elections) are packed into one `u64`, four bits per
//! index, and aggregated by sorting instead: they are appended to a buffer
//! of at most [`PENDING`] entries, which is sorted and merged into the
//! sorted distinct pairs whenever it fills. A hash table of a million
//! distinct rankings misses the cache on nearly every ballot; appending
//! and sorting stays sequential, and memory stays the distinct pairs plus
//! the buffer.
//!
//! The aggregator does not validate contents (the counting functions do);
//! it only groups identical vectors.

use crate::tally::TallyError;
use foldhash::fast::RandomState;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Longest ballot stored inline in a key.
pub const INLINE: usize = 14;

/// A ballot content as a hash-map key: inline when short, boxed otherwise.
#[derive(Clone, Debug)]
enum Key {
    Inline { len: u8, data: [u16; INLINE] },
    Heap(Box<[u16]>),
}

impl Key {
    fn new(content: &[u16]) -> Key {
        if content.len() <= INLINE {
            let mut data = [0u16; INLINE];
            data[..content.len()].copy_from_slice(content);
            Key::Inline {
                len: content.len() as u8,
                data,
            }
        } else {
            Key::Heap(content.into())
        }
    }

    fn as_slice(&self) -> &[u16] {
        match self {
            Key::Inline { len, data } => &data[..usize::from(*len)],
            Key::Heap(b) => b,
        }
    }
}

// Hash and Eq go through the slice, so that `Borrow<[u16]>` is consistent
// and lookups can use a plain `&[u16]`.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Key {}

impl Borrow<[u16]> for Key {
    fn borrow(&self) -> &[u16] {
        self.as_slice()
    }
}

/// Builds the distinct `(content, count)` pairs from ballots given one at a
/// time.
///
/// ```
/// use ballotbox::tally::Aggregator;
/// let mut agg = Aggregator::new();
/// agg.add(&[2, 0]);
/// agg.add(&[]);
/// agg.add(&[2, 0]);
/// assert_eq!(agg.total(), 3);
/// assert_eq!(agg.into_sorted_pairs(), vec![(vec![], 1), (vec![2, 0], 2)]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Aggregator {
    /// Packed contents and their counts, distinct and sorted by key.
    packed: Vec<(u64, u64)>,
    /// Packed contents not merged into `packed` yet.
    pending: Vec<(u64, u64)>,
    // foldhash: several times faster than SipHash on these short keys, and
    // still seeded per map, so crafted ballots cannot aim at collisions.
    map: HashMap<Key, u64, RandomState>,
    total: u64,
}

/// Packed contents buffered before a sort and merge (16 bytes each).
pub const PENDING: usize = 1 << 18;

/// Longest content packed into a `u64` (the low four bits hold the length).
pub const PACKED: usize = 15;

/// `content` as a `u64` when it fits: length in the low four bits, then
/// four bits per index.
fn pack(content: &[u16]) -> Option<u64> {
    if content.len() > PACKED {
        return None;
    }
    let mut key = content.len() as u64;
    for (i, &c) in content.iter().enumerate() {
        if c >= 16 {
            return None;
        }
        key |= u64::from(c) << (4 * (i + 1));
    }
    Some(key)
}

fn unpack(key: u64) -> Vec<u16> {
    let len = (key & 0xf) as usize;
    (0..len)
        .map(|i| ((key >> (4 * (i + 1))) & 0xf) as u16)
        .collect()
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty aggregator with room for `distinct` distinct contents.
    pub fn with_capacity(distinct: usize) -> Self {
        Aggregator {
            packed: Vec::with_capacity(distinct),
            ..Aggregator::default()
        }
    }

    /// Adds one ballot.
    ///
    /// Counting one ballot at a time cannot overflow a `u64` in practice
    /// (2^64 calls); should it ever, the count saturates.
    pub fn add(&mut self, content: &[u16]) {
        if let Some(key) = pack(content) {
            self.push_packed(key, 1);
        } else if let Some(c) = self.map.get_mut(content) {
            *c = c.saturating_add(1);
        } else {
            self.map.insert(Key::new(content), 1);
        }
        self.total = self.total.saturating_add(1);
    }

    /// Adds `count` ballots with the same content.
    pub fn add_many(&mut self, content: &[u16], count: u64) -> Result<(), TallyError> {
        let total = self
            .total
            .checked_add(count)
            .ok_or(TallyError::TooManyBallots)?;
        if let Some(key) = pack(content) {
            self.push_packed(key, count);
        } else if let Some(c) = self.map.get_mut(content) {
            // c <= total, and total + count did not overflow
            *c += count;
        } else {
            self.map.insert(Key::new(content), count);
        }
        self.total = total;
        Ok(())
    }

    fn push_packed(&mut self, key: u64, count: u64) {
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(PENDING);
        }
        self.pending.push((key, count));
        if self.pending.len() == PENDING {
            self.merge_pending();
        }
    }

    /// Sorts the buffer and merges it into the distinct sorted pairs. Counts
    /// add without overflow: each is at most the checked total.
    fn merge_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_unstable_by_key(|p| p.0);
        let old = std::mem::take(&mut self.packed);
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(old.len() + self.pending.len() / 2);
        let mut add = |(key, count): (u64, u64)| match merged.last_mut() {
            Some(last) if last.0 == key => last.1 = last.1.saturating_add(count),
            _ => merged.push((key, count)),
        };
        let (mut a, mut b) = (
            old.into_iter().peekable(),
            self.pending.drain(..).peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            if let Some(pair) = next {
                add(pair);
            }
        }
        self.packed = merged;
    }

    /// Number of ballots added.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of distinct contents.
    pub fn distinct(&mut self) -> usize {
        self.merge_pending();
        self.packed.len() + self.map.len()
    }

    /// The pairs in no particular order (fastest; the counting methods do
    /// not depend on the order).
    pub fn into_pairs(mut self) -> Vec<(Vec<u16>, u64)> {
        let mut out = Vec::with_capacity(self.distinct());
        out.extend(self.packed.into_iter().map(|(k, c)| (unpack(k), c)));
        out.extend(
            self.map
                .into_iter()
                .map(|(k, c)| (k.as_slice().to_vec(), c)),
        );
        out
    }

    /// The pairs sorted by content (lexicographic on the index vectors), a
    /// canonical order for storing or hashing.
    pub fn into_sorted_pairs(self) -> Vec<(Vec<u16>, u64)> {
        let mut v = self.into_pairs();
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn groups_identical_ballots_short_and_long() {
        let long: Vec<u16> = (0..40).collect();
        let mut agg = Aggregator::new();
        agg.add(&[1, 2, 3]);
        agg.add(&long);
        agg.add(&[1, 2, 3]);
        agg.add(&long);
        agg.add(&[1, 2]);
        agg.add(&[]);
        agg.add_many(&long, 5).unwrap();
        assert_eq!(agg.total(), 11);
        assert_eq!(agg.distinct(), 4);
        let pairs = agg.into_sorted_pairs();
        assert_eq!(
            pairs,
            vec![
                (vec![], 1),
                (long.clone(), 7),
                (vec![1, 2], 1),
                (vec![1, 2, 3], 2)
            ]
        );
    }

    #[test]
    fn inline_boundary_lengths() {
        let a: Vec<u16> = (0..INLINE as u16).collect();
        let b: Vec<u16> = (0..INLINE as u16 + 1).collect();
        let mut agg = Aggregator::new();
        for _ in 0..3 {
            agg.add(&a);
            agg.add(&b);
        }
        // a prefix must not be confused with the longer vector
        agg.add(&a[..INLINE - 1]);
        let pairs = agg.into_sorted_pairs();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs.iter().map(|p| p.1).sum::<u64>(), 7);
    }

    #[test]
    fn add_many_overflow_is_an_error() {
        let mut agg = Aggregator::new();
        agg.add_many(&[0], u64::MAX).unwrap();
        assert_eq!(agg.add_many(&[1], 1), Err(TallyError::TooManyBallots));
        assert_eq!(agg.total(), u64::MAX);
    }

    #[test]
    fn packed_and_unpacked_contents_stay_apart() {
        let mut agg = Aggregator::new();
        let fits: Vec<u16> = (0..PACKED as u16).collect();
        let too_long: Vec<u16> = (0..PACKED as u16 + 1).map(|c| c % 16).collect();
        agg.add(&fits);
        agg.add(&too_long);
        agg.add(&[15, 16]);
        agg.add(&[15]);
        agg.add(&[0]);
        agg.add(&[]);
        agg.add(&[0, 0]);
        agg.add_many(&[0], 2).unwrap();
        assert_eq!(agg.distinct(), 7);
        agg.add(&[15]);
        assert_eq!(agg.distinct(), 7);
        for (content, count) in agg.into_pairs() {
            let expected = match content.as_slice() {
                [0] => 3,
                [15] => 2,
                _ => 1,
            };
            assert_eq!(count, expected, "{content:?}");
        }
    }

    #[test]
    fn merges_across_many_buffer_fills() {
        let mut agg = Aggregator::new();
        let mut naive = std::collections::BTreeMap::<Vec<u16>, u64>::new();
        for i in 0..(3 * PENDING + 17) as u64 {
            let content: Vec<u16> = vec![(i % 7) as u16, (i % 11) as u16, (i % 13 % 16) as u16];
            agg.add_many(&content, i % 3 + 1).unwrap();
            *naive.entry(content).or_default() += i % 3 + 1;
        }
        assert_eq!(
            agg.into_sorted_pairs(),
            naive.into_iter().collect::<Vec<_>>()
        );
    }

    proptest! {
        #[test]
        fn matches_a_naive_count(ballots in proptest::collection::vec(
            proptest::collection::vec(0u16..20, 0..20), 0..200)) {
            let mut agg = Aggregator::new();
            for b in &ballots {
                agg.add(b);
            }
            let mut naive: std::collections::BTreeMap<Vec<u16>, u64> = Default::default();
            for b in &ballots {
                *naive.entry(b.clone()).or_default() += 1;
            }
            let expected: Vec<(Vec<u16>, u64)> = naive.into_iter().collect();
            prop_assert_eq!(agg.into_sorted_pairs(), expected);
        }
    }
}
