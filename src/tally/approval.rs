//! Approval voting.
//!
//! # Rules
//!
//! - A ballot is a selection set: any number of distinct options, each
//!   approved. An empty ballot is blank.
//! - Each approved option gets one approval per ballot.
//! - The `seats` options with the most approvals win; options tied for the
//!   last seat(s) are drawn by lot (context `approval/winners`), recorded in
//!   `tally.ties`. Winners are listed by approvals, highest first, as for
//!   [plurality](crate::tally::plurality).
//!
//! Tally: `{"counts": {id: approvals}, "total": ballots, "blank": n, "ties": [...]}`.

use crate::tally::ties::TieRule;
use crate::tally::{check, counts_outcome, Outcome, TallyError};

/// Counts an approval election.
pub fn count<'a>(
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
    ties: impl Into<TieRule<'a>>,
) -> Result<Outcome, TallyError> {
    let ck = check(options, seats, ballots)?;
    let mut counts = vec![0u64; ck.n];
    for (content, c) in ballots {
        for &i in content {
            // bounded by the checked total: an option is approved at most
            // once per ballot
            counts[usize::from(i)] += *c;
        }
    }
    Ok(counts_outcome(
        options,
        &counts,
        &ck,
        ties.into(),
        "approval/winners",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::testutil::*;
    use proptest::prelude::*;

    #[test]
    fn counts_every_approval() {
        let o = opts(&["a", "b", "c", "d"]);
        let b = vec![
            (vec![0, 1], 3),
            (vec![1, 2, 3], 2),
            (vec![], 4),
            (vec![3], 1),
        ];
        let out = count(&o, 2, &b, b"").unwrap();
        let t = counts_of(&out);
        assert_eq!(
            t.counts.0,
            vec![
                ("a".to_string(), 3),
                ("b".to_string(), 5),
                ("c".to_string(), 2),
                ("d".to_string(), 3)
            ]
        );
        assert_eq!(t.blank, 4);
        assert_eq!(t.total, 10);
        // b first; a and d tied on 3 for the second seat: decided by lot
        assert_eq!(out.winners[0], "b");
        assert_eq!(t.ties.len(), 1);
        assert_eq!(t.ties[0].tied, vec!["a", "d"]);
        assert_eq!(out.winners[1], t.ties[0].chosen);
        assert_eq!(t.ties[0].lot.as_ref().unwrap().context, "approval/winners");
    }

    #[test]
    fn tie_lot_reproducible_and_seed_dependent() {
        let o = opts(&["a", "b", "c"]);
        let b = vec![(vec![0, 1], 2), (vec![2], 1)];
        let first = count(&o, 1, &b, b"same").unwrap();
        assert_eq!(first, count(&o, 1, &b, b"same").unwrap());
        let mut winners = std::collections::HashSet::new();
        for s in 0u8..32 {
            winners.insert(count(&o, 1, &b, &[s]).unwrap().winners[0].clone());
        }
        assert_eq!(winners.len(), 2, "a and b each win for some seed; never c");
        assert!(!winners.contains("c"));
    }

    #[test]
    fn seats_options_minus_one() {
        let o = opts(&["a", "b", "c", "d"]);
        let b = vec![(vec![0, 1, 2], 4), (vec![3], 1), (vec![2, 3], 2)];
        let out = count(&o, 3, &b, b"").unwrap();
        // a 4, b 4, c 6, d 3
        assert_eq!(out.winners, vec!["c", "a", "b"]);
        assert!(counts_of(&out).ties.is_empty());
    }

    #[test]
    fn approving_everyone_changes_nothing_between_options() {
        let o = opts(&["a", "b", "c"]);
        let out = count(&o, 1, &[(vec![0, 1, 2], 5), (vec![2], 1)], b"").unwrap();
        assert_eq!(out.winners, vec!["c"]);
    }

    proptest! {
        #[test]
        fn equals_naive_count_and_order_independent(
            (n, ballots) in ranked_profile(7, 30), seats_pick in 0usize..6, shuf in any::<u64>()
        ) {
            let seats = 1 + seats_pick % (n - 1);
            let o = numbered(n);
            let out = count(&o, seats as u32, &ballots, b"q").unwrap();
            let mut naive = vec![0u64; n];
            for (v, c) in &ballots { for &i in v { naive[i as usize] += c; } }
            let t = counts_of(&out);
            for i in 0..n {
                prop_assert_eq!(t.counts.get(&o[i]), Some(&naive[i]));
            }
            prop_assert_eq!(t.total, ballots.iter().map(|b| b.1).sum::<u64>());
            prop_assert_eq!(out.winners.len(), seats);
            prop_assert_eq!(count(&o, seats as u32, &reshuffle(&ballots, shuf), b"q").unwrap(), out);
        }
    }
}
