//! The vote-counting engine.
//!
//! Pure code: no file, network, clock or database access and no printing.
//!
//! # Input
//!
//! Every method takes
//! - `options: &[String]`: the option ids in position order (the server uses
//!   UUID strings, the BLT path candidate names); ids must be distinct;
//! - `seats: u32`: at least 1 and less than the number of options;
//! - `ballots: &[(Vec<u16>, u64)]`: the ballots already aggregated (see
//!   [`Aggregator`]) as pairs of *content* and *number of ballots with
//!   exactly that content*. The content is a vector of option indices into
//!   `options`: a ranking, first preference first (borda, irv, stv,
//!   schulze), or a selection set (plurality, approval). An index may appear
//!   only once. An empty vector is a blank ballot: counted in `"blank"` and
//!   `"total"`, never as a vote for anyone. Pairs with a count of 0 are
//!   ignored; the same content may appear in several pairs (they add up);
//! - `seed: &[u8]`: seeds the tie-break lot (see [`ties`]).
//!
//! # Output
//!
//! An [`Outcome`], serializing to `{"winners": [...], "tally": {...},
//! "rounds": [...]}` with option ids (never indices) as JSON keys and values;
//! maps keep the options' position order. Every tally has `"total"` (all
//! ballots, blank included), `"blank"`, and `"ties"` (every tie broken in
//! the count; for IRV and STV also recorded in the round where it
//! happened). `rounds` equals `tally.rounds` for IRV and STV and is `[]`
//! otherwise. See each method's module for its exact rules and tally.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

pub mod aggregate;
pub mod approval;
pub mod blt;
pub mod borda;
pub mod fixed;
pub mod irv;
pub mod plurality;
pub mod schulze;
pub mod stv;
pub mod ties;

pub use aggregate::Aggregator;
pub use fixed::Fixed;
pub use ties::{LotDraw, TieBreaker, TieMethod, TieRecord, TieRule};

/// The counting methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// First past the post; with `seats > 1`, block voting.
    Plurality,
    /// Approval voting.
    Approval,
    /// Borda count (n-1-i points).
    Borda,
    /// Instant-runoff voting (single seat).
    Irv,
    /// Single transferable vote, Scottish 2007 rules.
    Stv,
    /// Schulze method (winning votes).
    Schulze,
}

impl Method {
    /// Every method, in declaration order.
    pub const ALL: [Method; 6] = [
        Method::Plurality,
        Method::Approval,
        Method::Borda,
        Method::Irv,
        Method::Stv,
        Method::Schulze,
    ];

    /// The lowercase name (`"plurality"`, ..., `"schulze"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Plurality => "plurality",
            Method::Approval => "approval",
            Method::Borda => "borda",
            Method::Irv => "irv",
            Method::Stv => "stv",
            Method::Schulze => "schulze",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = TallyError;

    /// Parses the lowercase name; ASCII case is ignored.
    fn from_str(s: &str) -> Result<Method, TallyError> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| TallyError::UnknownMethod(s.to_string()))
    }
}

/// Impossible inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TallyError {
    /// A method name not in [`Method`].
    #[error(
        "unknown counting method {0:?} (expected plurality, approval, borda, irv, stv or schulze)"
    )]
    UnknownMethod(String),
    /// Fewer than two options.
    #[error("at least two options are needed, got {0}")]
    TooFewOptions(usize),
    /// More options than a `u16` index can address.
    #[error("too many options: {0} (at most 65536)")]
    TooManyOptions(usize),
    /// Two options with the same id.
    #[error("duplicate option id {0:?}")]
    DuplicateOptionId(String),
    /// `seats == 0`.
    #[error("the number of seats must be at least 1")]
    ZeroSeats,
    /// `seats >= options`.
    #[error("the number of seats ({seats}) must be less than the number of options ({options})")]
    TooManySeats {
        /// Seats asked for.
        seats: u32,
        /// Options available.
        options: usize,
    },
    /// A single-winner method asked for several seats.
    #[error("{method} elects exactly one winner, but {seats} seats were asked for")]
    SingleWinnerOnly {
        /// The method.
        method: Method,
        /// Seats asked for.
        seats: u32,
    },
    /// An option index `>= options.len()`.
    #[error("ballot entry {ballot}: option index {index} is out of range ({options} options)")]
    IndexOutOfRange {
        /// Position of the pair in the ballots slice.
        ballot: usize,
        /// The bad index.
        index: u16,
        /// Number of options.
        options: usize,
    },
    /// The same option twice in one ballot.
    #[error("ballot entry {ballot}: option index {index} appears more than once")]
    DuplicateInBallot {
        /// Position of the pair in the ballots slice.
        ballot: usize,
        /// The repeated index.
        index: u16,
    },
    /// A plurality ballot selecting more options than there are seats.
    #[error(
        "ballot entry {ballot}: {selected} options selected, but plurality allows at most {max}"
    )]
    TooManySelections {
        /// Position of the pair in the ballots slice.
        ballot: usize,
        /// Options selected.
        selected: usize,
        /// Maximum allowed (`seats`).
        max: usize,
    },
    /// A total that does not fit the integer types (for STV: more than
    /// 92 233 720 368 547 ballots, the limit of five-decimal fixed point).
    #[error("too many ballots: a total does not fit the counting arithmetic")]
    TooManyBallots,
    /// A broken internal invariant (a bug): reported instead of panicking.
    #[error("internal error in the counting engine: {0} (please report this)")]
    Internal(&'static str),
}

/// The result of a count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Winning option ids, in order of election (for plurality, approval,
    /// borda and schulze: best first).
    pub winners: Vec<String>,
    /// The method's tally.
    pub tally: Tally,
    /// IRV/STV rounds (same as `tally.rounds`); empty for other methods.
    pub rounds: Vec<Round>,
}

/// A method's tally. Serialized without a tag: the shape identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tally {
    /// STV (has `quota`).
    Stv(stv::StvTally),
    /// IRV.
    Irv(irv::IrvTally),
    /// Schulze.
    Schulze(schulze::SchulzeTally),
    /// Borda.
    Borda(borda::BordaTally),
    /// Plurality and approval.
    Counts(CountsTally),
}

/// A round of IRV or a stage of STV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Round {
    /// STV stage (has `action`).
    Stv(stv::StvRound),
    /// IRV round.
    Irv(irv::IrvRound),
}

/// Plurality and approval tally: `{"counts": {id: n}, "total", "blank", "ties"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountsTally {
    /// Votes (plurality) or approvals (approval) per option, every option
    /// present.
    pub counts: OptionMap<u64>,
    /// Ballots, blank included.
    pub total: u64,
    /// Blank ballots.
    pub blank: u64,
    /// Ties broken by lot to fill the last seat(s).
    pub ties: Vec<TieRecord>,
}

/// Counts `ballots` by `method`. See the module documentation for the input
/// conventions and each method's module for its rules.
pub fn count(
    method: Method,
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
    seed: &[u8],
) -> Result<Outcome, TallyError> {
    count_with(method, options, seats, ballots, &TieRule::Lot(seed))
}

/// [`count`] with open ties decided by `ties` instead of the seeded lot.
pub fn count_with(
    method: Method,
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
    ties: &TieRule<'_>,
) -> Result<Outcome, TallyError> {
    match method {
        Method::Plurality => plurality::count(options, seats, ballots, ties),
        Method::Approval => approval::count(options, seats, ballots, ties),
        Method::Borda => borda::count(options, seats, ballots, ties),
        Method::Irv => irv::count(options, seats, ballots, ties),
        Method::Stv => stv::count(options, seats, ballots, ties),
        Method::Schulze => schulze::count(options, seats, ballots, ties),
    }
}

/// A map from option id to a value that keeps insertion (position) order
/// and serializes as a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionMap<T>(pub Vec<(String, T)>);

impl<T> OptionMap<T> {
    /// The value for an option id (linear search).
    pub fn get(&self, id: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates `(id, value)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<T: Serialize> Serialize for OptionMap<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OptionMap<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OptionMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from option id to value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = access.next_entry::<String, T>()? {
                    entries.push((k, v));
                }
                Ok(OptionMap(entries))
            }
        }
        deserializer.deserialize_map(V(PhantomData))
    }
}

/// Builds an [`OptionMap`] over the given option indices.
pub(crate) fn option_map<T: Clone>(
    options: &[String],
    indices: impl IntoIterator<Item = usize>,
    value: impl Fn(usize) -> T,
) -> OptionMap<T> {
    OptionMap(
        indices
            .into_iter()
            .map(|i| (options[i].clone(), value(i)))
            .collect(),
    )
}

/// The validated shape of an input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    /// Number of options.
    pub n: usize,
    /// Seats.
    pub seats: usize,
    /// All ballots, blank included.
    pub total: u64,
    /// Blank ballots.
    pub blank: u64,
}

/// Validates options, seats and ballots (the checks common to all methods).
pub(crate) fn check(
    options: &[String],
    seats: u32,
    ballots: &[(Vec<u16>, u64)],
) -> Result<Checked, TallyError> {
    let n = options.len();
    if n < 2 {
        return Err(TallyError::TooFewOptions(n));
    }
    if n > usize::from(u16::MAX) + 1 {
        return Err(TallyError::TooManyOptions(n));
    }
    let mut ids = HashSet::with_capacity(n);
    for id in options {
        if !ids.insert(id.as_str()) {
            return Err(TallyError::DuplicateOptionId(id.clone()));
        }
    }
    if seats == 0 {
        return Err(TallyError::ZeroSeats);
    }
    if seats as usize >= n {
        return Err(TallyError::TooManySeats { seats, options: n });
    }
    // seen[i] == b + 1 when option i was already seen in ballot entry b.
    let mut seen = vec![0usize; n];
    let mut total: u64 = 0;
    let mut blank: u64 = 0;
    for (b, (content, count)) in ballots.iter().enumerate() {
        for &idx in content {
            let i = usize::from(idx);
            if i >= n {
                return Err(TallyError::IndexOutOfRange {
                    ballot: b,
                    index: idx,
                    options: n,
                });
            }
            if seen[i] == b + 1 {
                return Err(TallyError::DuplicateInBallot {
                    ballot: b,
                    index: idx,
                });
            }
            seen[i] = b + 1;
        }
        total = total
            .checked_add(*count)
            .ok_or(TallyError::TooManyBallots)?;
        if content.is_empty() {
            blank += *count; // blank <= total, cannot overflow
        }
    }
    Ok(Checked {
        n,
        seats: seats as usize,
        total,
        blank,
    })
}

/// Picks the `seats` options with the highest `score`; options tied at the
/// boundary (the last seat(s)) are drawn by lot, one draw per seat, in the
/// context `context` with `k = 0, 1, ...`. Winners are returned best first
/// (equal scores inside the winning set, which need no tie-break, keep
/// position order; lot winners follow in draw order).
/// The outcome of a count method (plurality, approval): the top `seats`
/// options by count win, ties at the boundary drawn by lot under `context`.
pub(crate) fn counts_outcome(
    options: &[String],
    counts: &[u64],
    ck: &Checked,
    ties: TieRule<'_>,
    context: &str,
) -> Outcome {
    let tb = TieBreaker::new(ties);
    let (winners, ties) = top_by_score(options, counts, ck.seats, &tb, context);
    Outcome {
        winners: winners.iter().map(|&i| options[i].clone()).collect(),
        tally: Tally::Counts(CountsTally {
            counts: option_map(options, 0..ck.n, |i| counts[i]),
            total: ck.total,
            blank: ck.blank,
            ties,
        }),
        rounds: Vec::new(),
    }
}

pub(crate) fn top_by_score<S: Ord + Copy>(
    options: &[String],
    scores: &[S],
    seats: usize,
    tb: &TieBreaker<'_>,
    context: &str,
) -> (Vec<usize>, Vec<TieRecord>) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // best first; stable, so equal scores keep position order
    order.sort_by(|&a, &b| scores[b].cmp(&scores[a]));
    let seats = seats.min(order.len());
    if seats == 0 {
        return (Vec::new(), Vec::new());
    }
    let boundary = scores[order[seats - 1]];
    let mut winners: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| scores[i] > boundary)
        .collect();
    let mut group: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| scores[i] == boundary)
        .collect();
    let need = seats - winners.len();
    let mut ties = Vec::new();
    if group.len() == need {
        winners.extend(group);
        return (winners, ties);
    }
    let tied_names = ties::sorted_names(&group, options);
    for k in 0..need {
        let Some((chosen, method, lot)) = tb.decide(context, k as u64, &group, options) else {
            break;
        };
        group.retain(|&i| i != chosen);
        winners.push(chosen);
        ties.push(TieRecord {
            purpose: "winner".to_string(),
            round: None,
            tied: tied_names.clone(),
            chosen: options[chosen].clone(),
            method,
            lookback_round: None,
            lot,
        });
    }
    (winners, ties)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers shared by the unit tests.

    use super::{CountsTally, Outcome, Tally};

    /// The counts tally of a plurality or approval outcome.
    pub fn counts_of(out: &Outcome) -> &CountsTally {
        match &out.tally {
            Tally::Counts(c) => c,
            other => panic!("unexpected tally {other:?}"),
        }
    }

    /// Option ids from string literals.
    pub fn opts(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Ballots from `(count, "ABC")`-style rankings over single-letter ids.
    pub fn letter_ballots(options: &[String], spec: &[(u64, &str)]) -> Vec<(Vec<u16>, u64)> {
        spec.iter()
            .map(|(n, s)| {
                let v = s
                    .chars()
                    .map(|c| {
                        options
                            .iter()
                            .position(|o| o == &c.to_string())
                            .expect("letter is an option") as u16
                    })
                    .collect();
                (v, *n)
            })
            .collect()
    }

    /// Ballots from `(count, &[name, ...])` rankings.
    pub fn named_ballots(options: &[String], spec: &[(u64, &[&str])]) -> Vec<(Vec<u16>, u64)> {
        spec.iter()
            .map(|(n, names)| {
                let v = names
                    .iter()
                    .map(|name| {
                        options
                            .iter()
                            .position(|o| o == name)
                            .expect("name is an option") as u16
                    })
                    .collect();
                (v, *n)
            })
            .collect()
    }

    /// The Tennessee capital example (Wikipedia, "Instant-runoff voting" /
    /// "Borda count" / "Condorcet method" / "Plurality voting" articles):
    /// 100 voters.
    pub fn tennessee() -> (Vec<String>, Vec<(Vec<u16>, u64)>) {
        let o = opts(&["Memphis", "Nashville", "Chattanooga", "Knoxville"]);
        let b = named_ballots(
            &o,
            &[
                (42, &["Memphis", "Nashville", "Chattanooga", "Knoxville"]),
                (26, &["Nashville", "Chattanooga", "Knoxville", "Memphis"]),
                (15, &["Chattanooga", "Knoxville", "Nashville", "Memphis"]),
                (17, &["Knoxville", "Chattanooga", "Nashville", "Memphis"]),
            ],
        );
        (o, b)
    }

    /// Proptest strategy: options count, and aggregated ranked ballots over
    /// them (partial rankings, duplicates removed, blanks possible).
    pub fn ranked_profile(
        max_options: usize,
        max_entries: usize,
    ) -> impl proptest::strategy::Strategy<Value = (usize, Vec<(Vec<u16>, u64)>)> {
        use proptest::prelude::*;
        (2..=max_options).prop_flat_map(move |n| {
            let ballot =
                (proptest::collection::vec(0..n as u16, 0..=n), 1u64..=6).prop_map(|(mut v, c)| {
                    let mut seen = std::collections::HashSet::new();
                    v.retain(|x| seen.insert(*x));
                    (v, c)
                });
            (Just(n), proptest::collection::vec(ballot, 0..=max_entries))
        })
    }

    /// The same election presented differently: pairs in another order
    /// (a Fisher–Yates shuffle driven by `seed`), some pairs split in two
    /// (same content, counts adding up to the original).
    pub fn reshuffle(ballots: &[(Vec<u16>, u64)], seed: u64) -> Vec<(Vec<u16>, u64)> {
        let mut s = seed | 1;
        let mut next = move || {
            // xorshift64
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut out = Vec::new();
        for (v, c) in ballots {
            if *c >= 2 && next() % 2 == 0 {
                let k = 1 + next() % (c - 1);
                out.push((v.clone(), k));
                out.push((v.clone(), c - k));
            } else {
                out.push((v.clone(), *c));
            }
        }
        for i in (1..out.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            out.swap(i, j);
        }
        out
    }

    /// Option ids "o0", "o1", ...
    pub fn numbered(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("o{i}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.as_str().parse::<Method>().unwrap(), m);
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.as_str())
            );
        }
        assert_eq!("IRV".parse::<Method>().unwrap(), Method::Irv);
        assert!(matches!(
            "meek".parse::<Method>(),
            Err(TallyError::UnknownMethod(_))
        ));
    }

    #[test]
    fn impossible_inputs_are_errors() {
        let o = opts(&["a", "b", "c"]);
        for m in Method::ALL {
            assert_eq!(count(m, &o, 0, &[], b""), Err(TallyError::ZeroSeats), "{m}");
            assert_eq!(
                count(m, &o, 3, &[], b""),
                Err(TallyError::TooManySeats {
                    seats: 3,
                    options: 3
                }),
                "{m}"
            );
            assert_eq!(
                count(m, &o, 1, &[(vec![0, 3], 1)], b""),
                Err(TallyError::IndexOutOfRange {
                    ballot: 0,
                    index: 3,
                    options: 3
                }),
                "{m}"
            );
            assert_eq!(
                count(m, &o, 1, &[(vec![], 4), (vec![1, 1], 1)], b""),
                Err(TallyError::DuplicateInBallot {
                    ballot: 1,
                    index: 1
                }),
                "{m}"
            );
            assert_eq!(
                count(m, &opts(&["a"]), 1, &[], b""),
                Err(TallyError::TooFewOptions(1)),
                "{m}"
            );
            assert_eq!(
                count(m, &opts(&["a", "b", "a"]), 1, &[], b""),
                Err(TallyError::DuplicateOptionId("a".into())),
                "{m}"
            );
            assert_eq!(
                count(m, &o, 1, &[(vec![0], u64::MAX), (vec![1], 1)], b""),
                Err(TallyError::TooManyBallots),
                "{m}"
            );
        }
        assert_eq!(
            count(Method::Irv, &o, 2, &[], b""),
            Err(TallyError::SingleWinnerOnly {
                method: Method::Irv,
                seats: 2
            })
        );
        let many: Vec<String> = (0..65537).map(|i| i.to_string()).collect();
        assert_eq!(
            count(Method::Plurality, &many, 1, &[], b""),
            Err(TallyError::TooManyOptions(65537))
        );
    }

    #[test]
    fn outcome_json_shape_and_round_trip() {
        let (o, b) = tennessee();
        let first: Vec<(Vec<u16>, u64)> = b.iter().map(|(r, c)| (r[..1].to_vec(), *c)).collect();
        for m in Method::ALL {
            let input = if m == Method::Plurality { &first } else { &b };
            let out = count(m, &o, 1, input, b"seed").unwrap();
            let v = serde_json::to_value(&out).unwrap();
            let obj = v.as_object().unwrap();
            let mut keys: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
            keys.sort();
            assert_eq!(keys, ["rounds", "tally", "winners"], "{m}");
            assert!(v["tally"]["ties"].is_array(), "{m}");
            assert_eq!(v["tally"]["total"], 100, "{m}");
            match m {
                Method::Irv | Method::Stv => assert_eq!(v["rounds"], v["tally"]["rounds"]),
                _ => assert_eq!(v["rounds"], serde_json::json!([])),
            }
            // through text: a serde_json::Value map would sort the keys
            let text = serde_json::to_string(&out).unwrap();
            let back: Outcome = serde_json::from_str(&text).unwrap();
            assert_eq!(back, out, "{m} round trip");
        }
    }

    #[test]
    fn option_map_keeps_position_order() {
        let m = OptionMap(vec![("z".to_string(), 1u64), ("a".to_string(), 2)]);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"z":1,"a":2}"#);
        let back: OptionMap<u64> = serde_json::from_str(r#"{"z":1,"a":2}"#).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.get("a"), Some(&2));
        assert_eq!(m.get("q"), None);
    }

    #[test]
    fn top_by_score_draws_only_at_the_boundary() {
        let o = opts(&["a", "b", "c", "d", "e"]);
        let tb = TieBreaker::new(b"x");
        // a clear, then b, c, d tied for 2 remaining seats
        let (w, t) = top_by_score(&o, &[9u64, 5, 5, 5, 1], 3, &tb, "ctx");
        assert_eq!(w.len(), 3);
        assert_eq!(w[0], 0);
        assert!(w[1..].iter().all(|i| (1..=3).contains(i)));
        assert_ne!(w[1], w[2]);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].lot.as_ref().unwrap().k, 0);
        assert_eq!(t[1].lot.as_ref().unwrap().k, 1);
        assert_eq!(t[1].lot.as_ref().unwrap().candidates.len(), 2);
        // whole tied group fits: no draw
        let (w, t) = top_by_score(&o, &[9u64, 5, 5, 1, 1], 3, &tb, "ctx");
        assert_eq!(w, vec![0, 1, 2]);
        assert!(t.is_empty());
    }
}
