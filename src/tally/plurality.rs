//! Plurality ("first past the post"; with several seats, block voting).
//!
//! # Rules
//!
//! - A ballot is a selection set of at most `seats` options (one option when
//!   `seats == 1`); a ballot selecting more is an impossible input
//!   ([`TallyError::TooManySelections`]). An empty ballot is blank.
//! - Each selected option gets one vote per ballot.
//! - The `seats` options with the most votes win. If options are tied for
//!   the last seat(s), the seat(s) are filled by lot among them
//!   ([`crate::tally::ties`], context `plurality/winners`, `k = 0, 1, ...`
//!   for successive seats), recorded in `tally.ties`.
//! - Winners are listed by votes, highest first; equal votes among options
//!   that all win keep position order (no tie-break is needed for them);
//!   winners chosen by lot come last, in draw order.
//!
//! Tally: `{"counts": {id: votes}, "total": ballots, "blank": n, "ties": [...]}`.
//! Every option appears in `counts`, with 0 if it got no vote.

use crate::tally::ties::TieRule;
use crate::tally::{check, counts_outcome, Outcome, TallyError};

/// Counts a plurality election.
pub fn count<'a>(
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
    ties: impl Into<TieRule<'a>>,
) -> Result<Outcome, TallyError> {
    let ck = check(options, seats, ballots)?;
    let mut counts = vec![0u64; ck.n];
    for (b, (content, c)) in ballots.iter().enumerate() {
        if content.len() > ck.seats {
            return Err(TallyError::TooManySelections {
                ballot: b,
                selected: content.len(),
                max: ck.seats,
            });
        }
        for &i in content {
            // each option's count is bounded by the checked total
            counts[usize::from(i)] += *c;
        }
    }
    Ok(counts_outcome(
        options,
        &counts,
        &ck,
        ties.into(),
        "plurality/winners",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::testutil::*;
    use crate::tally::TieMethod;
    use proptest::prelude::*;

    /// Wikipedia, "Instant-runoff voting" / "Plurality voting": the Tennessee
    /// capital example; Memphis wins plurality with 42 of 100 first
    /// preferences.
    #[test]
    fn tennessee_memphis_wins() {
        let (o, b) = tennessee();
        let first: Vec<(Vec<u16>, u64)> = b.iter().map(|(r, c)| (vec![r[0]], *c)).collect();
        let out = count(&o, 1, &first, b"").unwrap();
        assert_eq!(out.winners, vec!["Memphis"]);
        let t = counts_of(&out);
        assert_eq!(
            t.counts.0,
            vec![
                ("Memphis".to_string(), 42),
                ("Nashville".to_string(), 26),
                ("Chattanooga".to_string(), 15),
                ("Knoxville".to_string(), 17)
            ]
        );
        assert_eq!(t.total, 100);
        assert!(t.ties.is_empty());
    }

    #[test]
    fn blanks_are_counted_but_not_votes() {
        let o = opts(&["a", "b", "c"]);
        let out = count(&o, 1, &[(vec![], 10), (vec![1], 3), (vec![2], 2)], b"").unwrap();
        let t = counts_of(&out);
        assert_eq!(t.blank, 10);
        assert_eq!(t.total, 15);
        assert_eq!(t.counts.get("a"), Some(&0));
        assert_eq!(out.winners, vec!["b"]);
    }

    #[test]
    fn overvote_is_rejected() {
        let o = opts(&["a", "b", "c"]);
        assert_eq!(
            count(&o, 1, &[(vec![0, 1], 1)], b""),
            Err(TallyError::TooManySelections {
                ballot: 0,
                selected: 2,
                max: 1
            })
        );
        // block voting with two seats allows two selections
        let out = count(&o, 2, &[(vec![0, 1], 3), (vec![2], 2)], b"").unwrap();
        assert_eq!(out.winners, vec!["a", "b"]);
    }

    #[test]
    fn multi_winner_seats_options_minus_one() {
        let o = opts(&["a", "b", "c", "d"]);
        let b = vec![(vec![0], 5), (vec![1], 7), (vec![2], 1), (vec![3], 6)];
        let out = count(&o, 3, &b, b"").unwrap();
        assert_eq!(out.winners, vec!["b", "d", "a"]);
    }

    #[test]
    fn tie_broken_by_lot_reproducibly_and_seed_dependent() {
        let o = opts(&["a", "b", "c"]);
        let b = vec![(vec![0], 4), (vec![1], 4), (vec![2], 1)];
        let first = count(&o, 1, &b, b"seed-1").unwrap();
        assert_eq!(first, count(&o, 1, &b, b"seed-1").unwrap());
        let t = counts_of(&first);
        assert_eq!(t.ties.len(), 1);
        assert_eq!(t.ties[0].method, TieMethod::Lot);
        assert_eq!(t.ties[0].tied, vec!["a", "b"]);
        assert_eq!(t.ties[0].chosen, first.winners[0]);
        let mut winners = std::collections::HashSet::new();
        for s in 0u8..32 {
            winners.insert(count(&o, 1, &b, &[s]).unwrap().winners[0].clone());
        }
        assert_eq!(winners.len(), 2, "both tied options win for some seed");
    }

    #[test]
    fn no_ballots_at_all_is_a_tie_of_everyone() {
        let o = opts(&["a", "b", "c"]);
        let out = count(&o, 1, &[], b"s").unwrap();
        assert_eq!(out.winners.len(), 1);
        assert_eq!(counts_of(&out).ties[0].tied, vec!["a", "b", "c"]);
    }

    proptest! {
        #[test]
        fn equals_naive_count_and_order_independent(
            (n, raw) in ranked_profile(6, 30), seats_pick in 0usize..5, shuf in any::<u64>()
        ) {
            let seats = 1 + seats_pick % (n - 1);
            let o = numbered(n);
            let ballots: Vec<(Vec<u16>, u64)> = raw.into_iter()
                .map(|(mut v, c)| { v.truncate(seats); (v, c) }).collect();
            let out = count(&o, seats as u32, &ballots, b"p").unwrap();
            let mut naive = vec![0u64; n];
            for (v, c) in &ballots { for &i in v { naive[i as usize] += c; } }
            let t = counts_of(&out);
            for i in 0..n {
                prop_assert_eq!(t.counts.get(&o[i]), Some(&naive[i]));
            }
            prop_assert_eq!(out.winners.len(), seats);
            // every winner has at least as many votes as every loser
            let min_w = out.winners.iter().map(|w| *t.counts.get(w).unwrap()).min().unwrap();
            for (id, c) in t.counts.iter() {
                if !out.winners.iter().any(|w| w == id) { prop_assert!(*c <= min_w); }
            }
            prop_assert_eq!(count(&o, seats as u32, &reshuffle(&ballots, shuf), b"p").unwrap(), out);
        }
    }
}
