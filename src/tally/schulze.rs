//! The Schulze method (winning votes).
//!
//! # Rules
//!
//! - A ballot is a ranking, possibly partial. A ranked option is preferred
//!   to every option ranked below it and to every unranked option;
//!   unranked options are not preferred to each other. An empty ballot is
//!   blank.
//! - `d[a][b]` (`pairwise`): the number of voters who prefer `a` to `b`.
//! - The strength of the link `a -> b` is `d[a][b]` if `d[a][b] > d[b][a]`
//!   (a pairwise defeat, measured by winning votes), else 0.
//! - `p[a][b]` (`strongest_paths`): the strength of the strongest path from
//!   `a` to `b`, where a path's strength is its weakest link; computed by the
//!   Floyd–Warshall style widest-path algorithm. (`p[a][b]` is 0 when there
//!   is no path.)
//! - `a` beats `b` when `p[a][b] > p[b][a]`. This relation is transitive
//!   (Schulze 2011).
//! - `ranking`: groups of options, best first. The first group is every
//!   option beaten by no other; it is removed and the next group is every
//!   remaining option beaten by no other remaining option; and so on. Options
//!   in one group are tied (reported together, in position order).
//! - Winners: the first `seats` options of the ranking, group by group; if
//!   a group has more options than seats left, those seats are filled by lot
//!   among the group (context `schulze/winners`, recorded in `tally.ties`).
//!   With one seat that is the Schulze winner, or a lot among the tied
//!   Schulze winners.
//!
//! Tally: `{"pairwise": {a: {b: d[a][b]}}, "strongest_paths": {a: {b:
//! p[a][b]}}, "ranking": [[id, ...], ...], "total", "blank", "ties"}`
//! (the diagonal `a = b` is omitted).

use crate::tally::{
    check, option_map, top_by_score, OptionMap, Outcome, Tally, TallyError, TieBreaker, TieRecord,
    TieRule,
};
use serde::{Deserialize, Serialize};

/// Schulze tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchulzeTally {
    /// `d[a][b]`: voters preferring a to b.
    pub pairwise: OptionMap<OptionMap<u64>>,
    /// `p[a][b]`: strongest path strength from a to b.
    pub strongest_paths: OptionMap<OptionMap<u64>>,
    /// Groups of tied options, best first.
    pub ranking: Vec<Vec<String>>,
    /// Ballots, blank included.
    pub total: u64,
    /// Blank ballots.
    pub blank: u64,
    /// Ties broken by lot to fill the last seat(s).
    pub ties: Vec<TieRecord>,
}

/// The pairwise preference matrix `d` (row-major `n × n`, diagonal 0) of
/// validated ballots.
pub(crate) fn pairwise(n: usize, ballots: &[(Vec<u16>, u64)]) -> Vec<u64> {
    // ranked[a]: ballots ranking a; above[x*n+y]: ballots ranking both x and
    // y, x above y. d[a][b] = ranked[a] - above[b][a].
    let mut ranked = vec![0u64; n];
    let mut above = vec![0u64; n * n];
    for (content, c) in ballots {
        let c = *c;
        if c == 0 {
            continue;
        }
        for (i, &x) in content.iter().enumerate() {
            let x = usize::from(x);
            ranked[x] += c;
            let row = &mut above[x * n..(x + 1) * n];
            for &y in &content[i + 1..] {
                row[usize::from(y)] += c;
            }
        }
    }
    let mut d = vec![0u64; n * n];
    for a in 0..n {
        for b in 0..n {
            if a != b {
                d[a * n + b] = ranked[a] - above[b * n + a];
            }
        }
    }
    d
}

/// The strongest path strengths `p` (row-major `n × n`) from `d`, winning
/// votes.
pub(crate) fn strongest_paths(n: usize, d: &[u64]) -> Vec<u64> {
    let mut p = vec![0u64; n * n];
    for i in 0..n {
        for j in 0..n {
            if i != j && d[i * n + j] > d[j * n + i] {
                p[i * n + j] = d[i * n + j];
            }
        }
    }
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let pji = p[j * n + i];
            if pji == 0 {
                continue;
            }
            for k in 0..n {
                if k == i || k == j {
                    continue;
                }
                let via = pji.min(p[i * n + k]);
                if via > p[j * n + k] {
                    p[j * n + k] = via;
                }
            }
        }
    }
    p
}

/// The ranking groups (option indices, best first) from `p`.
pub(crate) fn ranking(n: usize, p: &[u64]) -> Vec<Vec<usize>> {
    let mut remaining: Vec<usize> = (0..n).collect();
    let mut groups = Vec::new();
    while !remaining.is_empty() {
        let group: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&x| !remaining.iter().any(|&y| p[y * n + x] > p[x * n + y]))
            .collect();
        if group.is_empty() {
            // impossible: the beats relation is transitive and irreflexive,
            // so some remaining option is unbeaten; keep going safely anyway
            groups.push(remaining.clone());
            break;
        }
        remaining.retain(|x| !group.contains(x));
        groups.push(group);
    }
    groups
}

/// Counts a Schulze election.
pub fn count<'a>(
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
    ties: impl Into<TieRule<'a>>,
) -> Result<Outcome, TallyError> {
    let ck = check(options, seats, ballots)?;
    let n = ck.n;
    let d = pairwise(n, ballots);
    let p = strongest_paths(n, &d);
    let groups = ranking(n, &p);

    let mut score = vec![0usize; n];
    for (g, group) in groups.iter().enumerate() {
        for &x in group {
            score[x] = groups.len() - g;
        }
    }
    let tb = TieBreaker::new(ties);
    let (winners, ties) = top_by_score(options, &score, ck.seats, &tb, "schulze/winners");

    let matrix = |m: &[u64]| {
        option_map(options, 0..n, |a| {
            option_map(options, (0..n).filter(|&b| b != a), |b| m[a * n + b])
        })
    };
    Ok(Outcome {
        winners: winners.iter().map(|&i| options[i].clone()).collect(),
        tally: Tally::Schulze(SchulzeTally {
            pairwise: matrix(&d),
            strongest_paths: matrix(&p),
            ranking: groups
                .iter()
                .map(|g| g.iter().map(|&i| options[i].clone()).collect())
                .collect(),
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
    use crate::tally::TieMethod;
    use proptest::prelude::*;

    fn sch(out: &Outcome) -> &SchulzeTally {
        match &out.tally {
            Tally::Schulze(t) => t,
            other => panic!("unexpected tally {other:?}"),
        }
    }

    fn row(m: &OptionMap<OptionMap<u64>>, a: &str, others: &[&str]) -> Vec<u64> {
        let r = m.get(a).unwrap();
        others.iter().map(|b| *r.get(b).unwrap()).collect()
    }

    /// Wikipedia, "Schulze method", the 45-voter example (5 candidates).
    /// The article's matrices d[*,*] and p[*,*] and ranking E > A > C > B > D.
    #[test]
    fn wikipedia_45_voter_example() {
        let o = opts(&["A", "B", "C", "D", "E"]);
        let b = letter_ballots(
            &o,
            &[
                (5, "ACBED"),
                (5, "ADECB"),
                (8, "BEDAC"),
                (3, "CABED"),
                (7, "CAEBD"),
                (2, "CBADE"),
                (7, "DCEBA"),
                (8, "EBADC"),
            ],
        );
        let out = count(&o, 1, &b, b"").unwrap();
        let t = sch(&out);
        let d = &t.pairwise;
        // d[X,*] rows from the article, columns in alphabetical order minus X
        assert_eq!(row(d, "A", &["B", "C", "D", "E"]), vec![20, 26, 30, 22]);
        assert_eq!(row(d, "B", &["A", "C", "D", "E"]), vec![25, 16, 33, 18]);
        assert_eq!(row(d, "C", &["A", "B", "D", "E"]), vec![19, 29, 17, 24]);
        assert_eq!(row(d, "D", &["A", "B", "C", "E"]), vec![15, 12, 28, 14]);
        assert_eq!(row(d, "E", &["A", "B", "C", "D"]), vec![23, 27, 21, 31]);
        let p = &t.strongest_paths;
        assert_eq!(row(p, "A", &["B", "C", "D", "E"]), vec![28, 28, 30, 24]);
        assert_eq!(row(p, "B", &["A", "C", "D", "E"]), vec![25, 28, 33, 24]);
        assert_eq!(row(p, "C", &["A", "B", "D", "E"]), vec![25, 29, 29, 24]);
        assert_eq!(row(p, "D", &["A", "B", "C", "E"]), vec![25, 28, 28, 24]);
        assert_eq!(row(p, "E", &["A", "B", "C", "D"]), vec![25, 28, 28, 31]);
        assert_eq!(
            t.ranking,
            vec![vec!["E"], vec!["A"], vec!["C"], vec!["B"], vec!["D"]]
        );
        assert_eq!(out.winners, vec!["E"]);
        let out2 = count(&o, 2, &b, b"").unwrap();
        assert_eq!(out2.winners, vec!["E", "A"]);
        // seats = options - 1: the top four of the ranking
        let out4 = count(&o, 4, &b, b"").unwrap();
        assert_eq!(out4.winners, vec!["E", "A", "C", "B"]);
    }

    /// Wikipedia, "Condorcet method" / "Schulze method": in the Tennessee
    /// example Nashville is the Condorcet winner (68-32 over Memphis, 68-32
    /// over Chattanooga, 68-32 over Knoxville).
    #[test]
    fn tennessee_nashville_condorcet_winner() {
        let (o, b) = tennessee();
        let out = count(&o, 1, &b, b"").unwrap();
        assert_eq!(out.winners, vec!["Nashville"]);
        let t = sch(&out);
        assert_eq!(
            row(
                &t.pairwise,
                "Nashville",
                &["Memphis", "Chattanooga", "Knoxville"]
            ),
            vec![58, 68, 68]
        );
        assert_eq!(
            t.ranking,
            vec![
                vec!["Nashville"],
                vec!["Chattanooga"],
                vec!["Knoxville"],
                vec!["Memphis"]
            ]
        );
    }

    #[test]
    fn unranked_options_are_below_ranked_ones() {
        let o = opts(&["A", "B", "C"]);
        let b = letter_ballots(&o, &[(3, "A"), (2, "BC"), (4, "")]);
        let out = count(&o, 1, &b, b"").unwrap();
        let t = sch(&out);
        assert_eq!(row(&t.pairwise, "A", &["B", "C"]), vec![3, 3]);
        assert_eq!(row(&t.pairwise, "B", &["A", "C"]), vec![2, 2]);
        assert_eq!(row(&t.pairwise, "C", &["A", "B"]), vec![2, 0]);
        assert_eq!(t.blank, 4);
        assert_eq!(out.winners, vec!["A"]);
    }

    #[test]
    fn cycle_gives_a_tied_group_broken_by_lot() {
        // perfect Condorcet cycle A>B>C>A of equal strength
        let o = opts(&["A", "B", "C"]);
        let b = letter_ballots(&o, &[(1, "ABC"), (1, "BCA"), (1, "CAB")]);
        let out = count(&o, 1, &b, b"cyc").unwrap();
        let t = sch(&out);
        assert_eq!(t.ranking, vec![vec!["A", "B", "C"]]);
        assert_eq!(t.ties.len(), 1);
        assert_eq!(t.ties[0].method, TieMethod::Lot);
        assert_eq!(t.ties[0].tied, vec!["A", "B", "C"]);
        assert_eq!(out.winners, vec![t.ties[0].chosen.clone()]);
        assert_eq!(out, count(&o, 1, &b, b"cyc").unwrap());
        let mut w = std::collections::HashSet::new();
        for s in 0u8..40 {
            w.insert(count(&o, 1, &b, &[s]).unwrap().winners[0].clone());
        }
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn a_pairwise_tie_is_no_link() {
        // d[A][B] = d[B][A] = 4 (a tie: no link either way); B -> C 7,
        // C -> A 5. So p[B][A] = min(7, 5) = 5, and A has no path anywhere.
        let o = opts(&["A", "B", "C"]);
        let b = letter_ballots(&o, &[(4, "BCA"), (1, "CAB"), (3, "ABC")]);
        let out = count(&o, 1, &b, b"").unwrap();
        let t = sch(&out);
        assert_eq!(row(&t.pairwise, "A", &["B", "C"]), vec![4, 3]);
        assert_eq!(row(&t.pairwise, "B", &["A", "C"]), vec![4, 7]);
        assert_eq!(row(&t.pairwise, "C", &["A", "B"]), vec![5, 1]);
        assert_eq!(row(&t.strongest_paths, "A", &["B", "C"]), vec![0, 0]);
        assert_eq!(row(&t.strongest_paths, "B", &["A", "C"]), vec![5, 7]);
        assert_eq!(row(&t.strongest_paths, "C", &["A", "B"]), vec![5, 0]);
        assert_eq!(t.ranking, vec![vec!["B"], vec!["C"], vec!["A"]]);
    }

    #[test]
    fn tied_group_that_fits_the_seats_needs_no_lot() {
        // d[A][B] = d[B][A] = 2; A and B each beat C: [[A, B], [C]]
        let o = opts(&["A", "B", "C"]);
        let b = letter_ballots(&o, &[(1, "AB"), (1, "BA"), (1, "AC"), (1, "B")]);
        let out = count(&o, 2, &b, b"").unwrap();
        let t = sch(&out);
        assert_eq!(row(&t.pairwise, "A", &["B", "C"]), vec![2, 3]);
        assert_eq!(row(&t.pairwise, "B", &["A", "C"]), vec![2, 3]);
        assert_eq!(t.ranking, vec![vec!["A", "B"], vec!["C"]]);
        assert_eq!(out.winners, vec!["A", "B"]);
        assert!(t.ties.is_empty());
        // one seat: lot between A and B
        let one = count(&o, 1, &b, b"").unwrap();
        assert_eq!(sch(&one).ties[0].tied, vec!["A", "B"]);
    }

    proptest! {
        /// A Condorcet winner (beating every other option head to head)
        /// always wins Schulze, alone at the top of the ranking.
        #[test]
        fn condorcet_winner_always_wins((n, ballots) in ranked_profile(6, 30), shuf in any::<u64>()) {
            let o = numbered(n);
            let d = pairwise(n, &ballots);
            let cw = (0..n).find(|&a| (0..n).all(|b| b == a || d[a * n + b] > d[b * n + a]));
            let out = count(&o, 1, &ballots, b"").unwrap();
            if let Some(w) = cw {
                prop_assert_eq!(&out.winners, &vec![o[w].clone()]);
                prop_assert_eq!(&sch(&out).ranking[0], &vec![o[w].clone()]);
            }
            prop_assert_eq!(count(&o, 1, &reshuffle(&ballots, shuf), b"").unwrap(), out);
        }

        /// The pairwise matrix equals a naive per-pair count.
        #[test]
        fn pairwise_matches_naive((n, ballots) in ranked_profile(6, 30)) {
            let d = pairwise(n, &ballots);
            for a in 0..n {
                for b in 0..n {
                    if a == b { continue; }
                    let mut naive = 0;
                    for (v, c) in &ballots {
                        let pa = v.iter().position(|&x| x as usize == a);
                        let pb = v.iter().position(|&x| x as usize == b);
                        let prefers = match (pa, pb) {
                            (Some(i), Some(j)) => i < j,
                            (Some(_), None) => true,
                            _ => false,
                        };
                        if prefers { naive += c; }
                    }
                    prop_assert_eq!(d[a * n + b], naive);
                }
            }
        }

        /// The ranking is consistent with the beats relation: an option in
        /// an earlier group is never beaten by one in a later group.
        #[test]
        fn ranking_is_consistent((n, ballots) in ranked_profile(6, 30)) {
            let d = pairwise(n, &ballots);
            let p = strongest_paths(n, &d);
            let groups = ranking(n, &p);
            let mut pos = vec![0usize; n];
            for (g, grp) in groups.iter().enumerate() { for &x in grp { pos[x] = g; } }
            prop_assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), n);
            for a in 0..n {
                for b in 0..n {
                    if p[a * n + b] > p[b * n + a] { prop_assert!(pos[a] <= pos[b]); }
                    // transitivity of beats
                    for c in 0..n {
                        if p[a*n+b] > p[b*n+a] && p[b*n+c] > p[c*n+b] {
                            prop_assert!(p[a*n+c] > p[c*n+a]);
                        }
                    }
                }
            }
        }
    }
}
