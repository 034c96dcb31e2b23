//! Instant-runoff voting (single seat).
//!
//! # Rules
//!
//! - A ballot is a ranking (first preference first), possibly partial. An
//!   empty ballot is blank and never counts.
//! - Each round, every non-exhausted ballot counts one vote for its highest
//!   ranked *continuing* option. A ballot with no continuing option left is
//!   exhausted and is dropped from the base of later rounds.
//! - If an option has a majority of the votes counted in the round (more
//!   than half of the continuing, non-exhausted votes: `2 × votes >
//!   continuing`), it is elected and the count ends. The round's
//!   `threshold` is that majority, `floor(continuing / 2) + 1`. (No
//!   tally-level quota is given for IRV: the threshold changes from round to
//!   round as ballots exhaust, so it is reported per round.)
//! - Otherwise the option with the fewest votes is eliminated and its
//!   ballots go to their next continuing preference (or exhaust).
//! - Ties for elimination: look back to the most recent earlier round in
//!   which the tied options had different votes and eliminate the one that
//!   was lowest there (narrowing to the lowest ones and looking further
//!   back if several were lowest, see [`crate::tally::ties`]); if they were
//!   equal in every earlier round (or it is the first round), draw by lot
//!   (context `irv/eliminate/round-R`).
//! - One option at a time is eliminated. If a single option remains it is
//!   elected, whatever its votes (this only matters when no vote at all
//!   is left, e.g. every ballot blank: then the winner is decided by the
//!   elimination ties, i.e. by lot).
//!
//! # Rounds
//!
//! Each round records `votes` (every continuing option's votes at the start
//! of the round), `continuing` (their sum), `threshold`, `exhausted` (ballots
//! exhausted in earlier rounds, so `continuing + exhausted + blank = total`),
//! `elected`, `eliminated`, and `transfers`: where the eliminated option's
//! ballots went (`to` each continuing option, and `exhausted`), which gives
//! the next round's votes; and `tie` (null or the tie record). Tally:
//! `{"rounds": [...], "total", "blank", "ties": [...]}`.

use crate::tally::ties::{break_tie, TieAt};
use crate::tally::{
    check, option_map, Method, OptionMap, Outcome, Round, Tally, TallyError, TieBreaker, TieRecord,
    TieRule,
};
use serde::{Deserialize, Serialize};

/// IRV tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrvTally {
    /// The rounds.
    pub rounds: Vec<IrvRound>,
    /// Ballots, blank included.
    pub total: u64,
    /// Blank ballots.
    pub blank: u64,
    /// Every tie broken (also in the round where it happened).
    pub ties: Vec<TieRecord>,
}

/// One IRV round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrvRound {
    /// Round number, from 1.
    pub round: u32,
    /// Votes of every continuing option in this round.
    pub votes: OptionMap<u64>,
    /// Sum of `votes`: the non-exhausted, non-blank ballots.
    pub continuing: u64,
    /// Majority threshold: `floor(continuing / 2) + 1`.
    pub threshold: u64,
    /// Ballots exhausted before this round.
    pub exhausted: u64,
    /// The option elected in this round (last round only).
    pub elected: Vec<String>,
    /// The option eliminated in this round.
    pub eliminated: Vec<String>,
    /// Transfers of the eliminated option's ballots.
    #[serde(default)]
    pub transfers: Option<IrvTransfers>,
    /// The tie broken in this round, if any.
    #[serde(default)]
    pub tie: Option<TieRecord>,
}

/// Where an eliminated option's ballots went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IrvTransfers {
    /// The eliminated option.
    pub from: String,
    /// Ballots received by each remaining continuing option.
    pub to: OptionMap<u64>,
    /// Ballots that exhausted.
    pub exhausted: u64,
}

/// Counts an IRV election (`seats` must be 1).
pub fn count<'a>(
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
    ties: impl Into<TieRule<'a>>,
) -> Result<Outcome, TallyError> {
    let ck = check(options, seats, ballots)?;
    if seats != 1 {
        return Err(TallyError::SingleWinnerOnly {
            method: Method::Irv,
            seats,
        });
    }
    let n = ck.n;
    let tb = TieBreaker::new(ties);

    // piles[o]: (ballot entry, position in its ranking) of the ballots
    // currently counting for option o
    let mut piles: Vec<Vec<(usize, u32)>> = vec![Vec::new(); n];
    let mut votes = vec![0u64; n];
    for (bi, (content, c)) in ballots.iter().enumerate() {
        if *c == 0 {
            continue;
        }
        if let Some(&first) = content.first() {
            piles[usize::from(first)].push((bi, 0));
            votes[usize::from(first)] += *c; // bounded by the checked total
        }
    }

    let mut continuing = vec![true; n];
    let mut exhausted: u64 = 0;
    let mut history: Vec<Vec<u64>> = Vec::new();
    let mut rounds: Vec<IrvRound> = Vec::new();
    let mut ties: Vec<TieRecord> = Vec::new();
    let mut round: u32 = 0;
    let winner = loop {
        round += 1;
        history.push(votes.clone());
        let cont: Vec<usize> = (0..n).filter(|&i| continuing[i]).collect();
        let total: u64 = cont.iter().map(|&i| votes[i]).sum();
        let threshold = total / 2 + 1;
        let vote_map = option_map(options, cont.iter().copied(), |i| votes[i]);

        let Some(&leader) = cont
            .iter()
            .max_by(|&&a, &&b| votes[a].cmp(&votes[b]).then(b.cmp(&a)))
        else {
            return Err(TallyError::Internal("irv: no continuing option"));
        };
        if u128::from(votes[leader]) * 2 > u128::from(total) || cont.len() == 1 {
            rounds.push(IrvRound {
                round,
                votes: vote_map,
                continuing: total,
                threshold,
                exhausted,
                elected: vec![options[leader].clone()],
                eliminated: Vec::new(),
                transfers: None,
                tie: None,
            });
            break leader;
        }

        // eliminate the lowest
        let min = cont.iter().map(|&i| votes[i]).min().unwrap_or(0);
        let tied: Vec<usize> = cont.iter().copied().filter(|&i| votes[i] == min).collect();
        let (loser, tie) = if tied.len() == 1 {
            (tied[0], None)
        } else {
            let at = TieAt {
                purpose: "eliminate",
                context: format!("irv/eliminate/round-{round}"),
                round,
            };
            let earlier = &history[..history.len() - 1];
            let (chosen, record) = break_tie(&tb, options, &tied, earlier, true, &at)
                .ok_or(TallyError::Internal("irv: empty tie"))?;
            (chosen, Some(record))
        };
        continuing[loser] = false;

        let mut to = vec![0u64; n];
        let mut newly_exhausted: u64 = 0;
        for (bi, pos) in std::mem::take(&mut piles[loser]) {
            let (content, c) = &ballots[bi];
            let mut p = pos as usize + 1;
            while p < content.len() && !continuing[usize::from(content[p])] {
                p += 1;
            }
            if let Some(&next) = content.get(p) {
                let next = usize::from(next);
                piles[next].push((bi, p as u32));
                votes[next] += *c;
                to[next] += *c;
            } else {
                newly_exhausted += *c;
            }
        }
        votes[loser] = 0;

        if let Some(t) = &tie {
            ties.push(t.clone());
        }
        rounds.push(IrvRound {
            round,
            votes: vote_map,
            continuing: total,
            threshold,
            exhausted,
            elected: Vec::new(),
            eliminated: vec![options[loser].clone()],
            transfers: Some(IrvTransfers {
                from: options[loser].clone(),
                to: option_map(options, cont.iter().copied().filter(|&i| i != loser), |i| {
                    to[i]
                }),
                exhausted: newly_exhausted,
            }),
            tie,
        });
        exhausted += newly_exhausted;
    };

    Ok(Outcome {
        winners: vec![options[winner].clone()],
        rounds: rounds.iter().cloned().map(Round::Irv).collect(),
        tally: Tally::Irv(IrvTally {
            rounds,
            total: ck.total,
            blank: ck.blank,
            ties,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::testutil::*;
    use crate::tally::TieMethod;
    use proptest::prelude::*;

    fn irv(out: &Outcome) -> &IrvTally {
        match &out.tally {
            Tally::Irv(t) => t,
            other => panic!("unexpected tally {other:?}"),
        }
    }

    fn votes(r: &IrvRound) -> Vec<(&str, u64)> {
        r.votes.iter().map(|(k, v)| (k, *v)).collect()
    }

    /// Wikipedia, "Instant-runoff voting", Tennessee capital example:
    /// round 1 Memphis 42, Nashville 26, Chattanooga 15, Knoxville 17 ->
    /// Chattanooga eliminated (15 to Knoxville); round 2 Memphis 42,
    /// Nashville 26, Knoxville 32 -> Nashville eliminated (26 to Knoxville,
    /// via the eliminated Chattanooga); round 3 Memphis 42, Knoxville 58 ->
    /// Knoxville wins.
    #[test]
    fn tennessee_knoxville_wins_with_the_articles_rounds() {
        let (o, b) = tennessee();
        let out = count(&o, 1, &b, b"").unwrap();
        assert_eq!(out.winners, vec!["Knoxville"]);
        let t = irv(&out);
        assert_eq!(t.rounds.len(), 3);
        assert_eq!(
            votes(&t.rounds[0]),
            vec![
                ("Memphis", 42),
                ("Nashville", 26),
                ("Chattanooga", 15),
                ("Knoxville", 17)
            ]
        );
        assert_eq!(t.rounds[0].eliminated, vec!["Chattanooga"]);
        let tr = t.rounds[0].transfers.as_ref().unwrap();
        assert_eq!(tr.to.get("Knoxville"), Some(&15));
        assert_eq!(tr.to.get("Nashville"), Some(&0));
        assert_eq!(tr.exhausted, 0);
        assert_eq!(
            votes(&t.rounds[1]),
            vec![("Memphis", 42), ("Nashville", 26), ("Knoxville", 32)]
        );
        assert_eq!(t.rounds[1].eliminated, vec!["Nashville"]);
        assert_eq!(
            t.rounds[1].transfers.as_ref().unwrap().to.get("Knoxville"),
            Some(&26)
        );
        assert_eq!(
            votes(&t.rounds[2]),
            vec![("Memphis", 42), ("Knoxville", 58)]
        );
        assert_eq!(t.rounds[2].elected, vec!["Knoxville"]);
        assert_eq!(t.rounds[2].threshold, 51);
        assert!(t.ties.is_empty());
    }

    #[test]
    fn exhausted_ballots_leave_the_base() {
        // 4 A, 3 B, 2 C(only): C eliminated, its 2 ballots exhaust; A has
        // 4 of 7 continuing: a majority although not of all 9 ballots.
        let o = opts(&["A", "B", "C"]);
        let b = letter_ballots(&o, &[(4, "A"), (3, "B"), (2, "C"), (1, "")]);
        let out = count(&o, 1, &b, b"").unwrap();
        let t = irv(&out);
        assert_eq!(out.winners, vec!["A"]);
        assert_eq!(t.rounds[0].continuing, 9);
        assert_eq!(t.rounds[0].transfers.as_ref().unwrap().exhausted, 2);
        assert_eq!(t.rounds[1].continuing, 7);
        assert_eq!(t.rounds[1].exhausted, 2);
        assert_eq!(t.rounds[1].threshold, 4);
        assert_eq!(t.blank, 1);
        assert_eq!(t.total, 10);
    }

    #[test]
    fn first_round_majority_ends_immediately() {
        let o = opts(&["A", "B", "C"]);
        let b = letter_ballots(&o, &[(6, "AB"), (3, "BA"), (2, "C")]);
        let out = count(&o, 1, &b, b"").unwrap();
        assert_eq!(out.winners, vec!["A"]);
        assert_eq!(irv(&out).rounds.len(), 1);
    }

    #[test]
    fn elimination_tie_broken_by_lookback() {
        // Round 1: A 5, B 4, C 3, D 2(→B)... built so that in round 2 B and
        // C are tied for last while in round 1 C had fewer: C is eliminated.
        let o = opts(&["A", "B", "C", "D"]);
        let b = letter_ballots(&o, &[(7, "A"), (4, "B"), (3, "C"), (1, "DC"), (1, "D")]);
        let out = count(&o, 1, &b, b"").unwrap();
        let t = irv(&out);
        // round 1: D (2) eliminated; one ballot to C -> B 4, C 4
        assert_eq!(t.rounds[0].eliminated, vec!["D"]);
        assert_eq!(t.rounds[1].votes.get("B"), Some(&4));
        assert_eq!(t.rounds[1].votes.get("C"), Some(&4));
        assert_eq!(t.rounds[1].eliminated, vec!["C"]);
        let tie = t.rounds[1].tie.as_ref().unwrap();
        assert_eq!(tie.method, TieMethod::Lookback);
        assert_eq!(tie.lookback_round, Some(1));
        assert_eq!(tie.tied, vec!["B", "C"]);
        assert_eq!(tie.chosen, "C");
        assert_eq!(t.ties.len(), 1);
    }

    #[test]
    fn elimination_tie_in_first_round_by_lot() {
        let o = opts(&["A", "B", "C"]);
        let b = letter_ballots(&o, &[(5, "A"), (3, "BA"), (3, "CB")]);
        let out = count(&o, 1, &b, b"some seed").unwrap();
        assert_eq!(out, count(&o, 1, &b, b"some seed").unwrap());
        let t = irv(&out);
        let tie = t.rounds[0].tie.as_ref().unwrap();
        assert_eq!(tie.method, TieMethod::Lot);
        assert_eq!(tie.lot.as_ref().unwrap().context, "irv/eliminate/round-1");
        // if B is eliminated A wins 8-3; if C is eliminated B wins 6-5
        let mut winners = std::collections::HashSet::new();
        for s in 0u8..40 {
            winners.insert(count(&o, 1, &b, &[s]).unwrap().winners[0].clone());
        }
        assert_eq!(
            winners.len(),
            2,
            "the lot decides, differently for some seeds"
        );
    }

    #[test]
    fn all_blank_still_elects_by_lot() {
        let o = opts(&["A", "B", "C"]);
        let out = count(&o, 1, &[(vec![], 3)], b"z").unwrap();
        let t = irv(&out);
        assert_eq!(out.winners.len(), 1);
        assert_eq!(t.rounds.len(), 3);
        assert_eq!(t.ties.len(), 2);
        assert_eq!(t.blank, 3);
    }

    #[test]
    fn two_way_even_split() {
        let o = opts(&["A", "B"]);
        let b = letter_ballots(&o, &[(5, "A"), (5, "B")]);
        let out = count(&o, 1, &b, b"s").unwrap();
        let t = irv(&out);
        assert_eq!(t.rounds.len(), 2);
        assert_eq!(t.rounds[0].tie.as_ref().unwrap().method, TieMethod::Lot);
        assert_eq!(t.rounds[1].votes.len(), 1);
        assert_eq!(t.rounds[1].elected, out.winners);
    }

    fn check_invariants(n: usize, ballots: &[(Vec<u16>, u64)], out: &Outcome) {
        let t = irv(out);
        let total: u64 = ballots.iter().map(|b| b.1).sum();
        assert_eq!(t.total, total);
        for (i, r) in t.rounds.iter().enumerate() {
            assert_eq!(r.continuing + r.exhausted + t.blank, total);
            assert_eq!(r.votes.len(), n - i);
            assert_eq!(r.votes.iter().map(|(_, v)| *v).sum::<u64>(), r.continuing);
        }
        let last = t.rounds.last().unwrap();
        assert_eq!(last.elected, out.winners);
    }

    proptest! {
        // the prop_assume! filters below reject a share of the cases
        #![proptest_config(ProptestConfig {
            max_global_rejects: 1_000_000,
            ..ProptestConfig::default()
        })]

        #[test]
        fn order_independent_and_consistent((n, ballots) in ranked_profile(6, 25), shuf in any::<u64>()) {
            let o = numbered(n);
            let out = count(&o, 1, &ballots, b"prop").unwrap();
            check_invariants(n, &ballots, &out);
            prop_assert_eq!(count(&o, 1, &reshuffle(&ballots, shuf), b"prop").unwrap(), out);
        }

        /// Mono-add-top: a ballot ranking the winner first never makes the
        /// winner lose. (Cases where the winner was itself part of a tie
        /// are skipped: there the winner survived only by the tie-break, and
        /// with the extra ballot the tie no longer includes them, so a
        /// lot among the others may be drawn over a different set.)
        #[test]
        fn adding_a_ballot_for_the_winner_keeps_them_winning(
            (n, ballots) in ranked_profile(6, 25), rest in proptest::collection::vec(0u16..6, 0..6)
        ) {
            let o = numbered(n);
            let out = count(&o, 1, &ballots, b"mono").unwrap();
            prop_assume!(irv(&out).ties.iter().all(|t| !t.tied.contains(&out.winners[0])));
            let w = o.iter().position(|x| *x == out.winners[0]).unwrap() as u16;
            let mut extra = vec![w];
            for r in rest {
                if (r as usize) < n && !extra.contains(&r) { extra.push(r); }
            }
            let mut more = ballots.clone();
            more.push((extra, 1));
            let out2 = count(&o, 1, &more, b"mono").unwrap();
            prop_assert_eq!(&out2.winners, &out.winners);
        }
    }
}
