//! Tie-breaking: look-back to earlier rounds, and the reproducible lot.
//!
//! # The lot (a documented, reproducible PRNG)
//!
//! When a tie cannot be resolved by the method's own rules, it is "decided by
//! lot" with a deterministic draw seeded by the caller's bytes (the server
//! passes the election's Merkle root; the command-line tool passes
//! `--seed HEX`, or by default the SHA-256 of the BLT file's bytes).
//!
//! Each draw has a **context**, a short ASCII string naming the decision,
//! recorded in the result, e.g. `irv/eliminate/round-3`,
//! `stv/exclude/stage-5`, `stv/surplus/stage-4`, `plurality/winners`,
//! `schulze/winners`; and a **draw number** `k` counting the draws made in
//! that same context, from 0 (several draws share a context only when more
//! than one option must be picked from one tied group, e.g. two of five tied
//! options fill the last two seats).
//!
//! The draw is:
//!
//! ```text
//! h      = SHA-256( seed || "ballotbox-tie|" || context || "|" || decimal(k) )
//! r      = the first 8 bytes of h read as an unsigned big-endian 64-bit integer
//! sorted = the tied option ids sorted ascending by their UTF-8 bytes
//! chosen = sorted[ r mod len(sorted) ]
//! ```
//!
//! (`||` is byte concatenation; `decimal(k)` is `k` in ASCII decimal without
//! leading zeros.) What "chosen" means is stated by the record's `purpose`:
//! the option eliminated/excluded, the option whose surplus is transferred
//! first, or the option that wins a seat. The modulo bias is below
//! `len / 2^64`, i.e. nil in practice. In Python an auditor re-implements it as
//!
//! ```text
//! h = hashlib.sha256(seed + b"ballotbox-tie|" + f"{context}|{k}".encode()).digest()
//! chosen = sorted(tied)[int.from_bytes(h[:8], "big") % len(tied)]
//! ```
//!
//! (Python's `sorted` on `str` orders by code point, the same order as UTF-8
//! bytes.) Each record carries the context, `k`, the candidates drawn from,
//! the hash in hex and the chosen index, so a draw can be checked alone.
//!
//! Because the context names the round, a tie in round 5 is drawn the same
//! way whatever happened to other ties: the draws are independent of each
//! other.
//!
//! # Look-back
//!
//! IRV and STV first try look-back: go back through the earlier rounds
//! (stages), most recent first; at the first earlier round in which the tied
//! options did not all have equal votes, keep only those that had the
//! lowest (for elimination/exclusion) or highest (for the order of surplus
//! transfers) votes there. If one remains, it is chosen; if several remain,
//! keep looking further back with just those. If the first round is passed
//! with more than one remaining, the lot decides among the remaining ones.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How a tie was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TieMethod {
    /// By the votes in an earlier round (IRV and STV only).
    Lookback,
    /// By the seeded draw described in this module.
    Lot,
    /// By a tie-breaking order given with the ballots ([`TieRule::Order`]).
    Order,
}

/// One draw by lot, with everything needed to re-check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotDraw {
    /// The context string hashed.
    pub context: String,
    /// The draw number within that context.
    pub k: u64,
    /// The options drawn from, sorted by option id (the `sorted` list).
    pub candidates: Vec<String>,
    /// SHA-256 hash, lowercase hex.
    pub hash: String,
    /// `r mod len(candidates)`: the index of the chosen option in `candidates`.
    pub index: usize,
}

/// A tie and how it was broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TieRecord {
    /// What was being decided: `"eliminate"` (IRV), `"exclude"` (STV),
    /// `"surplus_order"` (STV: whose surplus is transferred first) or
    /// `"winner"` (a seat filled from tied options).
    pub purpose: String,
    /// The round (IRV) or stage (STV) in which the tie occurred; absent for
    /// single-pass methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// Every option in the tie, sorted by option id.
    pub tied: Vec<String>,
    /// The option chosen (eliminated, excluded, transferred first, or
    /// elected, according to `purpose`).
    pub chosen: String,
    /// `"lookback"`, `"lot"` or `"order"`.
    pub method: TieMethod,
    /// For look-back: the earlier round whose votes decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_round: Option<u32>,
    /// For lot: the draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<LotDraw>,
}

/// How the ties that a method's own rules leave open are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TieRule<'a> {
    /// The seeded draw described in this module (the server always, and
    /// `ballotbox count` by default).
    Lot(&'a [u8]),
    /// A fixed order of option ids: of the tied options, the one listed
    /// first is chosen (eliminated, excluded, transferred first or elected,
    /// by the tie's purpose). A BLT file's `[tie ...]` line, read as Droop
    /// reads it. Options missing from the list come after it, by id.
    Order(&'a [String]),
}

impl<'a> From<&'a [u8]> for TieRule<'a> {
    fn from(seed: &'a [u8]) -> Self {
        TieRule::Lot(seed)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for TieRule<'a> {
    fn from(seed: &'a [u8; N]) -> Self {
        TieRule::Lot(seed)
    }
}

impl<'a> From<&'a Vec<u8>> for TieRule<'a> {
    fn from(seed: &'a Vec<u8>) -> Self {
        TieRule::Lot(seed)
    }
}

impl<'a> From<&TieRule<'a>> for TieRule<'a> {
    fn from(rule: &TieRule<'a>) -> Self {
        *rule
    }
}

/// Decides open ties by a [`TieRule`]. Cheap to create; holds only the rule.
#[derive(Debug, Clone)]
pub struct TieBreaker<'a> {
    rule: TieRule<'a>,
}

impl<'a> TieBreaker<'a> {
    /// A tie breaker for one count.
    pub fn new(rule: impl Into<TieRule<'a>>) -> Self {
        TieBreaker { rule: rule.into() }
    }

    /// Decides among `tied` (indices into `options`): the chosen index,
    /// how, and the draw when it was by lot. `None` if `tied` is empty or
    /// holds an index out of range of `options`.
    pub fn decide(
        &self,
        context: &str,
        k: u64,
        tied: &[usize],
        options: &[String],
    ) -> Option<(usize, TieMethod, Option<LotDraw>)> {
        match self.rule {
            TieRule::Lot(_) => {
                let (chosen, draw) = self.draw(context, k, tied, options)?;
                Some((chosen, TieMethod::Lot, Some(draw)))
            }
            TieRule::Order(order) => {
                if tied.iter().any(|&i| i >= options.len()) {
                    return None;
                }
                let place = |i: usize| {
                    let pos = order.iter().position(|o| *o == options[i]);
                    (pos.unwrap_or(usize::MAX), options[i].as_bytes())
                };
                let chosen = tied.iter().copied().min_by_key(|&i| place(i))?;
                Some((chosen, TieMethod::Order, None))
            }
        }
    }

    /// The raw hash for `(context, k)`.
    pub fn hash(&self, context: &str, k: u64) -> [u8; 32] {
        let seed = match self.rule {
            TieRule::Lot(seed) => seed,
            TieRule::Order(_) => &[],
        };
        let mut h = Sha256::new();
        h.update(seed);
        h.update(b"ballotbox-tie|");
        h.update(context.as_bytes());
        h.update(b"|");
        h.update(k.to_string().as_bytes());
        h.finalize().into()
    }

    /// Draws one of `tied` (indices into `options`). Returns the chosen
    /// option index and the record of the draw, or `None` if `tied` is
    /// empty or holds an index out of range of `options`.
    pub fn draw(
        &self,
        context: &str,
        k: u64,
        tied: &[usize],
        options: &[String],
    ) -> Option<(usize, LotDraw)> {
        if tied.is_empty() || tied.iter().any(|&i| i >= options.len()) {
            return None;
        }
        let mut sorted: Vec<usize> = tied.to_vec();
        sorted.sort_by(|&a, &b| options[a].as_bytes().cmp(options[b].as_bytes()));
        let hash = self.hash(context, k);
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        let r = u64::from_be_bytes(first);
        // len fits in u64 on every supported platform
        let index = (r % sorted.len() as u64) as usize;
        let chosen = sorted[index];
        Some((
            chosen,
            LotDraw {
                context: context.to_string(),
                k,
                candidates: sorted.iter().map(|&i| options[i].clone()).collect(),
                hash: to_hex(&hash),
                index,
            },
        ))
    }
}

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Error for a malformed hex seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hex seed {0:?}: expected an even number of hex digits (0-9, a-f)")]
pub struct HexError(pub String);

/// Parses a hex string (upper or lower case, optional `0x` prefix) into
/// bytes, for seeds given on a command line.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, HexError> {
    let body = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if !body.len().is_multiple_of(2) {
        return Err(HexError(s.to_string()));
    }
    let nibble = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    body.as_bytes()
        .chunks(2)
        .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => Ok((hi << 4) | lo),
            _ => Err(HexError(s.to_string())),
        })
        .collect()
}

/// Outcome of a look-back attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookback {
    /// Decided: the chosen option and the 1-based round that decided it.
    Decided { chosen: usize, round: u32 },
    /// Not decided: these options are still tied (the lot decides among
    /// them).
    Undecided(Vec<usize>),
}

/// Look-back tie-break (see the module documentation).
///
/// `history[i]` holds every option's votes at the end of round `i + 1`; pass
/// only the rounds *before* the one in which the tie occurs. With
/// `lowest = true` the option with the fewest votes is chosen (elimination),
/// otherwise the one with the most (order of surplus transfers).
pub(crate) fn lookback<T: Ord + Copy>(
    tied: &[usize],
    history: &[Vec<T>],
    lowest: bool,
) -> Lookback {
    let mut remaining: Vec<usize> = tied.to_vec();
    for (i, votes) in history.iter().enumerate().rev() {
        if remaining.len() <= 1 {
            break;
        }
        let values = remaining.iter().map(|&c| votes[c]);
        let extreme = if lowest { values.min() } else { values.max() };
        let Some(extreme) = extreme else { break };
        let next: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&c| votes[c] == extreme)
            .collect();
        if next.len() < remaining.len() {
            remaining = next;
            if remaining.len() == 1 {
                return Lookback::Decided {
                    chosen: remaining[0],
                    round: (i + 1) as u32,
                };
            }
        }
    }
    Lookback::Undecided(remaining)
}

/// Sorted (by option id) names of the given option indices.
pub(crate) fn sorted_names(indices: &[usize], options: &[String]) -> Vec<String> {
    let mut names: Vec<String> = indices.iter().map(|&i| options[i].clone()).collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    names
}

/// Where a tie occurs: what is decided, the lot context, and the round.
pub(crate) struct TieAt<'s> {
    pub purpose: &'s str,
    pub context: String,
    pub round: u32,
}

/// Breaks a tie among `tied` (at least two options) first by look-back
/// through `history`, then by lot. Returns the chosen option and the record.
pub(crate) fn break_tie<T: Ord + Copy>(
    tb: &TieBreaker<'_>,
    options: &[String],
    tied: &[usize],
    history: &[Vec<T>],
    lowest: bool,
    at: &TieAt<'_>,
) -> Option<(usize, TieRecord)> {
    let TieAt {
        purpose,
        ref context,
        round,
    } = *at;
    let names = sorted_names(tied, options);
    match lookback(tied, history, lowest) {
        Lookback::Decided { chosen, round: lb } => Some((
            chosen,
            TieRecord {
                purpose: purpose.to_string(),
                round: Some(round),
                tied: names,
                chosen: options[chosen].clone(),
                method: TieMethod::Lookback,
                lookback_round: Some(lb),
                lot: None,
            },
        )),
        Lookback::Undecided(remaining) => {
            let (chosen, method, lot) = tb.decide(context, 0, &remaining, options)?;
            Some((
                chosen,
                TieRecord {
                    purpose: purpose.to_string(),
                    round: Some(round),
                    tied: names,
                    chosen: options[chosen].clone(),
                    method,
                    lookback_round: None,
                    lot,
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hash_is_sha256_of_documented_message() {
        // Independent construction of the documented message.
        let seed = [1u8, 2, 3];
        let mut msg = vec![1u8, 2, 3];
        msg.extend_from_slice(b"ballotbox-tie|irv/eliminate/round-2|7");
        let expected: [u8; 32] = Sha256::digest(&msg).into();
        assert_eq!(
            TieBreaker::new(&seed).hash("irv/eliminate/round-2", 7),
            expected
        );
    }

    #[test]
    fn known_vector_for_auditors() {
        // Re-computable anywhere: SHA-256("ballotbox-tie|test|0") with an
        // empty seed. First 8 bytes big-endian, modulo 3, over ["a","b","c"].
        let tb = TieBreaker::new(b"");
        let h = tb.hash("test", 0);
        let expected: [u8; 32] = Sha256::digest(b"ballotbox-tie|test|0").into();
        assert_eq!(h, expected);
        let opts = names(&["c", "a", "b"]);
        let (chosen, draw) = tb.draw("test", 0, &[0, 1, 2], &opts).unwrap();
        let r = u64::from_be_bytes(h[..8].try_into().unwrap());
        assert_eq!(draw.index, (r % 3) as usize);
        assert_eq!(draw.candidates, names(&["a", "b", "c"]));
        assert_eq!(opts[chosen], draw.candidates[draw.index]);
        assert_eq!(draw.hash, to_hex(&h));
    }

    /// Known answers computed independently with Python's hashlib, using
    /// the module documentation's recipe (seed = bytes 0..32).
    #[test]
    fn known_answers_from_an_independent_implementation() {
        let seed: Vec<u8> = (0u8..32).collect();
        let tb = TieBreaker::new(&seed);
        let opts = names(&["Zed", "Amy", "Bob"]);
        let (chosen, d) = tb
            .draw("stv/exclude/stage-3", 0, &[0, 1, 2], &opts)
            .unwrap();
        assert_eq!(
            d.hash,
            "0f8783582fac03fc3e28317f24d2439a7ccf669f777c2a7efbeb5f272d88ccef"
        );
        assert_eq!((d.index, opts[chosen].as_str()), (0, "Amy"));
        let opts = names(&["x", "y", "z", "w", "v"]);
        let (chosen, d) = tb
            .draw("plurality/winners", 1, &[0, 1, 2, 3, 4], &opts)
            .unwrap();
        assert_eq!(
            d.hash,
            "6bbaed67db2004792f7468dab57227d2a062ad54dc94d02263a4923c4fcaabe0"
        );
        assert_eq!((d.index, opts[chosen].as_str()), (4, "z"));
    }

    #[test]
    fn draw_is_reproducible_and_independent_of_input_order() {
        let opts = names(&["x", "y", "z", "w"]);
        let tb = TieBreaker::new(b"seed");
        let a = tb.draw("ctx", 0, &[0, 1, 2, 3], &opts).unwrap();
        let b = tb.draw("ctx", 0, &[3, 2, 1, 0], &opts).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_can_choose_differently() {
        let opts = names(&["a", "b", "c", "d", "e"]);
        let all: Vec<usize> = (0..5).collect();
        let mut seen = std::collections::HashSet::new();
        for s in 0u8..50 {
            let tb = TieBreaker::new(std::slice::from_ref(&s));
            seen.insert(tb.draw("ctx", 0, &all, &opts).unwrap().0);
        }
        // 50 seeds over 5 options: all five should appear.
        assert_eq!(seen.len(), 5);
    }

    #[test]
    fn empty_or_out_of_range_draw_is_none() {
        assert!(TieBreaker::new(b"s").draw("c", 0, &[], &[]).is_none());
        let opts = names(&["a"]);
        assert!(TieBreaker::new(b"s").draw("c", 0, &[0, 1], &opts).is_none());
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(parse_hex("00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(parse_hex("0xABcd").unwrap(), vec![0xab, 0xcd]);
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
        assert_eq!(to_hex(&[0, 255, 16]), "00ff10");
    }

    #[test]
    fn lookback_picks_most_recent_difference() {
        // options 0,1 tied now; round 2 equal; round 1: 0 had fewer
        let history = vec![vec![3u64, 5], vec![6, 6]];
        assert_eq!(
            lookback(&[0, 1], &history, true),
            Lookback::Decided {
                chosen: 0,
                round: 1
            }
        );
        assert_eq!(
            lookback(&[0, 1], &history, false),
            Lookback::Decided {
                chosen: 1,
                round: 1
            }
        );
    }

    #[test]
    fn lookback_narrows_progressively() {
        // three tied now; round 2: 0 and 1 lowest (2 is out); round 1: 2 was
        // lowest of all but is no longer considered, 1 < 0.
        let history = vec![vec![4u64, 3, 1], vec![5, 5, 9]];
        assert_eq!(
            lookback(&[0, 1, 2], &history, true),
            Lookback::Decided {
                chosen: 1,
                round: 1
            }
        );
    }

    #[test]
    fn lookback_undecided_when_always_equal() {
        let history = vec![vec![2u64, 2, 1], vec![4, 4, 4]];
        assert_eq!(
            lookback(&[0, 1], &history, true),
            Lookback::Undecided(vec![0, 1])
        );
        assert_eq!(
            lookback(&[0, 1], &[] as &[Vec<u64>], true),
            Lookback::Undecided(vec![0, 1])
        );
    }
}
