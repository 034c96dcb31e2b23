//! Aggregation of individual ballots into distinct `(content, count)` pairs.
//!
//! The counting methods take ballots already aggregated. [`Aggregator`]
//! builds that vector from ballots given one at a time. It is a hash map
//! keyed by the ballot content; contents of up to [`INLINE`] option indices
//! are stored inline in the key (no heap allocation at all), and a ballot
//! already seen is looked up by slice, so it never allocates.
//!
//! The aggregator does not validate contents (the counting functions do);
//! it only groups identical vectors.

use crate::tally::TallyError;
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
    map: HashMap<Key, u64>,
    total: u64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty aggregator with room for `distinct` distinct contents.
    pub fn with_capacity(distinct: usize) -> Self {
        Aggregator {
            map: HashMap::with_capacity(distinct),
            total: 0,
        }
    }

    /// Adds one ballot.
    ///
    /// Counting one ballot at a time cannot overflow a `u64` in practice
    /// (2^64 calls); should it ever, the count saturates.
    pub fn add(&mut self, content: &[u16]) {
        if let Some(c) = self.map.get_mut(content) {
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
        if let Some(c) = self.map.get_mut(content) {
            // c <= total, and total + count did not overflow
            *c += count;
        } else {
            self.map.insert(Key::new(content), count);
        }
        self.total = total;
        Ok(())
    }

    /// Number of ballots added.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of distinct contents.
    pub fn distinct(&self) -> usize {
        self.map.len()
    }

    /// The pairs in no particular order (fastest; the counting methods do
    /// not depend on the order).
    pub fn into_pairs(self) -> Vec<(Vec<u16>, u64)> {
        self.map
            .into_iter()
            .map(|(k, c)| (k.as_slice().to_vec(), c))
            .collect()
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

    proptest! {
        #[test]
        fn matches_a_naive_count(ballots in proptest::collection::vec(
            proptest::collection::vec(0u16..6, 0..20), 0..200)) {
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
