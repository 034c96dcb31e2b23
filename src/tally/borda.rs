//! Borda count.
//!
//! # Rules
//!
//! - A ballot is a ranking (first preference first); it may rank only some
//!   options. An empty ballot is blank.
//! - With `n` options in the election, the option ranked i-th (from 0)
//!   earns `n - 1 - i` points: `n - 1` for a first preference, down to 0.
//!   Unranked options earn 0 points. (So a ballot ranking `k` options hands
//!   out `sum_{i<k} (n-1-i)` points.)
//! - The `seats` options with the most points win; options tied for the
//!   last seat(s) are drawn by lot (context `borda/winners`), recorded in
//!   `tally.ties`. Winners are listed by points, highest first.
//!
//! Tally: `{"points": {id: points}, "total": ballots, "blank": n, "ties": [...]}`.

use crate::tally::{
    check, option_map, top_by_score, OptionMap, Outcome, Tally, TallyError, TieBreaker, TieRecord,
    TieRule,
};
use serde::{Deserialize, Serialize};

/// Borda tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BordaTally {
    /// Points per option, every option present.
    pub points: OptionMap<u64>,
    /// Ballots, blank included.
    pub total: u64,
    /// Blank ballots.
    pub blank: u64,
    /// Ties broken by lot to fill the last seat(s).
    pub ties: Vec<TieRecord>,
}

/// Counts a Borda election.
pub fn count<'a>(
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
    ties: impl Into<TieRule<'a>>,
) -> Result<Outcome, TallyError> {
    let ck = check(options, seats, ballots)?;
    let n = ck.n as u64;
    let mut points = vec![0u64; ck.n];
    for (content, c) in ballots {
        for (i, &opt) in content.iter().enumerate() {
            // i < n, so n - 1 - i >= 0
            let p = (n - 1 - i as u64)
                .checked_mul(*c)
                .ok_or(TallyError::TooManyBallots)?;
            let slot = &mut points[usize::from(opt)];
            *slot = slot.checked_add(p).ok_or(TallyError::TooManyBallots)?;
        }
    }
    let tb = TieBreaker::new(ties);
    let (winners, ties) = top_by_score(options, &points, ck.seats, &tb, "borda/winners");
    Ok(Outcome {
        winners: winners.iter().map(|&i| options[i].clone()).collect(),
        tally: Tally::Borda(BordaTally {
            points: option_map(options, 0..ck.n, |i| points[i]),
            total: ck.total,
            blank: ck.blank,
            ties,
        }),
        rounds: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::testutil::*;
    use proptest::prelude::*;

    fn points_of(out: &Outcome) -> &BordaTally {
        match &out.tally {
            Tally::Borda(b) => b,
            other => panic!("unexpected tally {other:?}"),
        }
    }

    /// Wikipedia, "Borda count", Tennessee capital example: Nashville wins.
    /// Points with our rule n-1-i (n = 4), computed by hand:
    /// Memphis     42×3                          = 126
    /// Nashville   42×2 + 26×3 + 15×1 + 17×1    = 194
    /// Chattanooga 42×1 + 26×2 + 15×3 + 17×2    = 173
    /// Knoxville   26×1 + 15×2 + 17×3           = 107
    /// (the article's figures: 126, 194, 173, 107).
    #[test]
    fn tennessee_nashville_wins() {
        let (o, b) = tennessee();
        let out = count(&o, 1, &b, b"").unwrap();
        assert_eq!(out.winners, vec!["Nashville"]);
        assert_eq!(
            points_of(&out).points.0,
            vec![
                ("Memphis".to_string(), 126),
                ("Nashville".to_string(), 194),
                ("Chattanooga".to_string(), 173),
                ("Knoxville".to_string(), 107)
            ]
        );
        let out3 = count(&o, 3, &b, b"").unwrap();
        assert_eq!(out3.winners, vec!["Nashville", "Chattanooga", "Memphis"]);
    }

    #[test]
    fn partial_rankings_and_blanks() {
        let o = opts(&["a", "b", "c", "d"]);
        // a ballot ranking only b gives b 3 points, others 0
        let b = vec![(vec![1], 2), (vec![], 5), (vec![2, 0], 1)];
        let out = count(&o, 1, &b, b"").unwrap();
        let t = points_of(&out);
        assert_eq!(t.points.get("a"), Some(&2));
        assert_eq!(t.points.get("b"), Some(&6));
        assert_eq!(t.points.get("c"), Some(&3));
        assert_eq!(t.points.get("d"), Some(&0));
        assert_eq!(t.blank, 5);
        assert_eq!(out.winners, vec!["b"]);
    }

    #[test]
    fn tie_by_lot_reproducible() {
        let o = opts(&["a", "b", "c"]);
        // a: 2+0 = 2, b: 0+2 = 2 ... a>b>c and b>a>c: a=3, b=3, c=0
        let b = vec![(vec![0, 1, 2], 1), (vec![1, 0, 2], 1)];
        let one = count(&o, 1, &b, b"k").unwrap();
        assert_eq!(one, count(&o, 1, &b, b"k").unwrap());
        assert_eq!(points_of(&one).ties.len(), 1);
        let mut seen = std::collections::HashSet::new();
        for s in 0u8..32 {
            seen.insert(count(&o, 1, &b, &[s]).unwrap().winners[0].clone());
        }
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn overflow_is_an_error() {
        let o = opts(&["a", "b", "c"]);
        assert_eq!(
            count(&o, 1, &[(vec![0], u64::MAX / 2 + 1)], b""),
            Err(TallyError::TooManyBallots)
        );
    }

    proptest! {
        #[test]
        fn points_sum_to_expected_total((n, ballots) in ranked_profile(7, 30), shuf in any::<u64>()) {
            let o = numbered(n);
            let out = count(&o, 1, &ballots, b"").unwrap();
            let t = points_of(&out);
            let expected: u64 = ballots.iter().map(|(v, c)| {
                let k = v.len() as u64;
                let nn = n as u64;
                // sum_{i<k} (n-1-i)
                c * (k * (nn - 1) - k * k.saturating_sub(1) / 2)
            }).sum();
            prop_assert_eq!(t.points.iter().map(|(_, p)| *p).sum::<u64>(), expected);
            prop_assert_eq!(count(&o, 1, &reshuffle(&ballots, shuf), b"").unwrap(), out);
        }
    }
}
