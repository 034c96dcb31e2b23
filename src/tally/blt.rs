//! The BLT ballot file format (as read by OpenSTV, Droop and OpenTally), and
//! counting a BLT file by any method.
//!
//! # Format
//!
//! ```text
//! 4 2                 first line: number of candidates, number of seats
//! -3                  optional: withdrawn candidates, as negative numbers
//! 3 1 2 0             ballot lines: weight, preferences..., 0
//! (b7) 1 4 0          an optional "(id)" ballot-id prefix is accepted and ignored
//! 2 4 0
//! 0                   a line "0" ends the ballots
//! "Ann"               one quoted name per candidate, in number order
//! "Bob"
//! "Cat"
//! "Dan"
//! "Example election"  a quoted title (may be omitted)
//! ```
//!
//! - Candidates are numbered from 1. Weights are positive integers (the
//!   number of identical ballots). A line `1 0` is a blank ballot.
//! - Withdrawn-candidate lines may only come before the first ballot; one
//!   line may list several (`-2 -5`).
//! - `#` starts a comment to the end of the line (outside quoted names);
//!   blank lines are ignored anywhere; Windows line ends are accepted.
//! - Several quoted names may share a line.
//! - Not supported, and rejected with a clear message: equal rankings
//!   (`2=3`, an OpenSTV extension), skipped rankings (`-` inside a ballot),
//!   fractional weights, Droop's `/* */` comments and `=` options.
//!
//! Every malformed input is a [`BltError`] carrying the 1-based line number.
//!
//! # Counting
//!
//! [`count_blt`] parses, removes withdrawn candidates (a ballot then skips
//! them; a ballot left empty counts as blank), and counts by the chosen
//! method. Option ids are the candidate names. Plurality counts each
//! ballot's first preference; approval approves every candidate the ballot
//! ranks; the other methods use the ranking. `seats` overrides the file's
//! number of seats. Without a seed, the seed is the SHA-256 of the file's
//! bytes (`text.as_bytes()`), so a count is reproducible from the file alone.

use crate::tally::{self, Aggregator, Method, Outcome, TallyError};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A parsed BLT file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blt {
    /// Every candidate's name, in candidate-number order (withdrawn ones
    /// included).
    pub candidates: Vec<String>,
    /// Seats from the first line.
    pub seats: u32,
    /// Withdrawn candidates, 0-based, sorted.
    pub withdrawn: Vec<usize>,
    /// The ballot lines.
    pub ballots: Vec<BltBallot>,
    /// The title, if given.
    pub title: Option<String>,
}

/// One ballot line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BltBallot {
    /// 1-based line number in the file.
    pub line: usize,
    /// Number of ballots.
    pub weight: u64,
    /// Preferences as 0-based candidate numbers (withdrawn ones included).
    pub ranking: Vec<u16>,
}

/// A malformed BLT file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct BltError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, BltError> {
    Err(BltError {
        line,
        message: message.into(),
    })
}

/// Removes a `#` comment (outside double quotes).
fn strip_comment(line: &str) -> &str {
    let mut in_quotes = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '#' if !in_quotes => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Parses a non-negative integer token, with a message naming `what`.
fn parse_uint(tok: &str, line: usize, what: &str) -> Result<u64, BltError> {
    if tok.bytes().all(|b| b.is_ascii_digit()) && !tok.is_empty() {
        return tok
            .parse::<u64>()
            .or_else(|_| err(line, format!("{what} {tok:?} is too large")));
    }
    if tok.contains('=') {
        return err(
            line,
            format!("equal rankings ({tok:?}) are not supported; rank candidates strictly"),
        );
    }
    if tok == "-" {
        return err(line, "skipped rankings (\"-\") are not supported");
    }
    if tok.starts_with("/*") {
        return err(line, "/* */ comments are not supported; use #");
    }
    if tok.contains('.') && tok.replace('.', "").bytes().all(|b| b.is_ascii_digit()) {
        return err(
            line,
            format!("{what} {tok:?} is not an integer (fractional weights are not supported)"),
        );
    }
    err(line, format!("expected {what}, found {tok:?}"))
}

/// Splits a line of quoted strings into the strings.
fn quoted_strings(text: &str, line: usize) -> Result<Vec<String>, BltError> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(after) = rest.strip_prefix('"') else {
            let tok = rest.split_whitespace().next().unwrap_or(rest);
            return err(
                line,
                format!("expected a quoted name, found {tok:?} (is the ballot list not ended by a line \"0\"?)"),
            );
        };
        let Some(end) = after.find('"') else {
            return err(line, "unterminated quoted name (missing closing \")");
        };
        out.push(after[..end].to_string());
        rest = after[end + 1..].trim_start();
    }
    Ok(out)
}

/// Parses BLT text.
pub fn parse(text: &str) -> Result<Blt, BltError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, strip_comment(l).trim()))
        .filter(|(_, l)| !l.is_empty());
    let last_line = text.lines().count().max(1);

    // header
    let Some((hline, header)) = lines.next() else {
        return err(1, "empty file: expected \"<candidates> <seats>\"");
    };
    let toks: Vec<&str> = header.split_whitespace().collect();
    if toks.len() != 2 {
        return err(
            hline,
            format!("expected \"<candidates> <seats>\" on the first line, found {header:?}"),
        );
    }
    let ncand = parse_uint(toks[0], hline, "the number of candidates")?;
    let seats = parse_uint(toks[1], hline, "the number of seats")?;
    if ncand == 0 || ncand > u64::from(u16::MAX) + 1 {
        return err(
            hline,
            format!("the number of candidates must be between 1 and 65536, found {ncand}"),
        );
    }
    let ncand = ncand as usize;
    let Ok(seats) = u32::try_from(seats) else {
        return err(hline, format!("the number of seats {seats} is too large"));
    };

    // withdrawn candidates and ballots
    let mut withdrawn: Vec<usize> = Vec::new();
    let mut is_withdrawn = vec![false; ncand];
    let mut ballots: Vec<BltBallot> = Vec::new();
    let mut ended = false;
    let mut seen = vec![0usize; ncand]; // seen[c] == line: c ranked on this line
    for (lno, l) in lines.by_ref() {
        if l.starts_with('-') {
            if !ballots.is_empty() {
                return err(
                    lno,
                    "withdrawn candidates (negative numbers) must come before the first ballot",
                );
            }
            for tok in l.split_whitespace() {
                let Some(num) = tok.strip_prefix('-') else {
                    return err(
                        lno,
                        format!(
                            "expected a withdrawn candidate as a negative number, found {tok:?}"
                        ),
                    );
                };
                let c = parse_uint(num, lno, "a withdrawn candidate number")?;
                if c == 0 || c > ncand as u64 {
                    return err(
                        lno,
                        format!("withdrawn candidate -{c} is not a candidate (1 to {ncand})"),
                    );
                }
                let c = (c - 1) as usize;
                if !is_withdrawn[c] {
                    is_withdrawn[c] = true;
                    withdrawn.push(c);
                }
            }
            continue;
        }
        if l.starts_with('"') {
            return err(
                lno,
                "found a quoted name before the line \"0\" that must end the ballots",
            );
        }
        let mut body = l;
        if let Some(after) = body.strip_prefix('(') {
            let Some(end) = after.find(')') else {
                return err(lno, "ballot id \"(...\" is missing its closing \")\"");
            };
            body = after[end + 1..].trim_start();
        }
        let toks: Vec<&str> = body.split_whitespace().collect();
        let Some((&wtok, prefs)) = toks.split_first() else {
            return err(lno, "ballot id without a ballot");
        };
        let weight = parse_uint(wtok, lno, "a ballot weight")?;
        if weight == 0 {
            if prefs.is_empty() && body.len() == l.len() {
                ended = true;
                break;
            }
            return err(
                lno,
                "a ballot weight must be at least 1 (a line \"0\" alone ends the ballots)",
            );
        }
        let Some((&last, ranked)) = prefs.split_last() else {
            return err(lno, "ballot line must end with 0");
        };
        let mut ranking = Vec::with_capacity(ranked.len());
        for &tok in ranked {
            let c = parse_uint(tok, lno, "a candidate number")?;
            if c == 0 {
                return err(lno, "0 ends a ballot, but more preferences follow it");
            }
            if c > ncand as u64 {
                return err(lno, format!("candidate {c} does not exist (1 to {ncand})"));
            }
            let c = (c - 1) as usize;
            if seen[c] == lno {
                return err(lno, format!("candidate {} is ranked twice", c + 1));
            }
            seen[c] = lno;
            ranking.push(c as u16);
        }
        if parse_uint(last, lno, "a candidate number or the final 0")? != 0 {
            return err(lno, "ballot line must end with 0");
        }
        ballots.push(BltBallot {
            line: lno,
            weight,
            ranking,
        });
    }
    if !ended {
        return err(
            last_line,
            "unexpected end of file: the ballots must be ended by a line \"0\"",
        );
    }
    withdrawn.sort_unstable();

    // names and title
    let mut strings: Vec<(usize, String)> = Vec::new();
    for (lno, l) in lines {
        for s in quoted_strings(l, lno)? {
            strings.push((lno, s));
        }
    }
    if strings.len() < ncand {
        return err(
            last_line,
            format!(
                "unexpected end of file: expected {ncand} quoted candidate names, found {}",
                strings.len()
            ),
        );
    }
    if strings.len() > ncand + 1 {
        let (lno, s) = &strings[ncand + 1];
        return err(
            *lno,
            format!("unexpected {s:?} after the title (the file declares {ncand} candidates)"),
        );
    }
    let mut candidates: Vec<String> = Vec::with_capacity(ncand);
    let mut names = std::collections::HashSet::with_capacity(ncand);
    for (lno, name) in &strings[..ncand] {
        if name.trim().is_empty() {
            return err(*lno, "empty candidate name");
        }
        if !names.insert(name.as_str()) {
            return err(*lno, format!("duplicate candidate name {name:?}"));
        }
        candidates.push(name.clone());
    }
    let title = strings.get(ncand).map(|(_, s)| s.clone());
    Ok(Blt {
        candidates,
        seats,
        withdrawn,
        ballots,
        title,
    })
}

impl Blt {
    /// The option ids for counting: the names of the candidates not
    /// withdrawn, in candidate order.
    pub fn options(&self) -> Vec<String> {
        let out = self.is_withdrawn();
        (0..self.candidates.len())
            .filter(|&c| !out[c])
            .map(|c| self.candidates[c].clone())
            .collect()
    }

    fn is_withdrawn(&self) -> Vec<bool> {
        let mut out = vec![false; self.candidates.len()];
        for &c in &self.withdrawn {
            if let Some(slot) = out.get_mut(c) {
                *slot = true;
            }
        }
        out
    }

    /// The ballots aggregated for `method`, with withdrawn candidates
    /// removed and candidates renumbered to index [`Blt::options`]:
    /// the first preference for plurality, the ranked set for approval, the
    /// ranking otherwise. Sorted by content.
    pub fn aggregate(&self, method: Method) -> Result<Vec<(Vec<u16>, u64)>, TallyError> {
        let out = self.is_withdrawn();
        let mut new_index: Vec<Option<u16>> = vec![None; self.candidates.len()];
        let mut next: u16 = 0;
        for (slot, &gone) in new_index.iter_mut().zip(&out) {
            if !gone {
                *slot = Some(next);
                next = next.wrapping_add(1);
            }
        }
        let mut agg = Aggregator::new();
        let mut content: Vec<u16> = Vec::new();
        for b in &self.ballots {
            content.clear();
            content.extend(
                b.ranking
                    .iter()
                    .filter_map(|&c| new_index.get(usize::from(c)).copied().flatten()),
            );
            if method == Method::Plurality {
                content.truncate(1);
            }
            agg.add_many(&content, b.weight)?;
        }
        Ok(agg.into_sorted_pairs())
    }
}

/// Error from [`count_blt`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// The file is malformed.
    #[error("malformed BLT file: {0}")]
    Parse(#[from] BltError),
    /// The counting input is impossible (e.g. seats >= candidates).
    #[error("cannot count: {0}")]
    Tally(#[from] TallyError),
}

/// Facts about the counted file, reported with the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElectionInfo {
    /// The file's title.
    pub title: Option<String>,
    /// Method used.
    pub method: Method,
    /// Seats filled (the file's, or the override).
    pub seats: u32,
    /// Candidates counted (withdrawn removed), in order.
    pub options: Vec<String>,
    /// Withdrawn candidates.
    pub withdrawn: Vec<String>,
    /// Ballots in the file, blank included.
    pub ballots: u64,
    /// The tie-break seed, hex.
    pub seed: String,
    /// `"given"` or `"sha256-of-file"`.
    pub seed_source: String,
}

/// A counted BLT file: `{"election": {...}, "winners", "tally", "rounds"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BltReport {
    /// Facts about the file and the count.
    pub election: ElectionInfo,
    /// The outcome (its fields appear at the top level).
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Parses and counts BLT text (see the module documentation).
pub fn count_blt(
    text: &str,
    method: Method,
    seats: Option<u32>,
    seed: Option<&[u8]>,
) -> Result<BltReport, CountError> {
    let blt = parse(text)?;
    let seats = seats.unwrap_or(blt.seats);
    let options = blt.options();
    let ballots = blt.aggregate(method)?;
    let (seed_bytes, seed_source): (Vec<u8>, &str) = match seed {
        Some(s) => (s.to_vec(), "given"),
        None => (Sha256::digest(text.as_bytes()).to_vec(), "sha256-of-file"),
    };
    let outcome = tally::count(method, &options, seats, &ballots, &seed_bytes)?;
    Ok(BltReport {
        election: ElectionInfo {
            title: blt.title.clone(),
            method,
            seats,
            withdrawn: blt
                .withdrawn
                .iter()
                .map(|&c| blt.candidates[c].clone())
                .collect(),
            options,
            ballots: ballots.iter().map(|b| b.1).sum(),
            seed: tally::ties::to_hex(&seed_bytes),
            seed_source: seed_source.to_string(),
        },
        outcome,
    })
}

/// [`count_blt`] as a JSON value.
pub fn count_blt_json(
    text: &str,
    method: Method,
    seats: Option<u32>,
    seed: Option<&[u8]>,
) -> Result<serde_json::Value, CountError> {
    let report = count_blt(text, method, seats, seed)?;
    // Serializing these plain data types to a Value cannot fail (string
    // keys only); map the impossible error rather than panic.
    serde_json::to_value(&report)
        .map_err(|_| CountError::Tally(TallyError::Internal("blt: JSON conversion failed")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::Tally;

    const SAMPLE: &str = "4 2\n-3\n3 1 2 0\n(b7) 1 4 0\n2 4 0\n1 0\n0\n\"Ann\"\n\"Bob\"\n\"Cat\"\n\"Dan\"\n\"Example election\"\n";

    #[test]
    fn parses_the_documented_example() {
        let b = parse(SAMPLE).unwrap();
        assert_eq!(b.candidates, vec!["Ann", "Bob", "Cat", "Dan"]);
        assert_eq!(b.seats, 2);
        assert_eq!(b.withdrawn, vec![2]);
        assert_eq!(b.title.as_deref(), Some("Example election"));
        assert_eq!(
            b.ballots,
            vec![
                BltBallot {
                    line: 3,
                    weight: 3,
                    ranking: vec![0, 1]
                },
                BltBallot {
                    line: 4,
                    weight: 1,
                    ranking: vec![3]
                },
                BltBallot {
                    line: 5,
                    weight: 2,
                    ranking: vec![3]
                },
                BltBallot {
                    line: 6,
                    weight: 1,
                    ranking: vec![]
                },
            ]
        );
        assert_eq!(b.options(), vec!["Ann", "Bob", "Dan"]);
        assert_eq!(
            b.aggregate(Method::Stv).unwrap(),
            vec![(vec![], 1), (vec![0, 1], 3), (vec![2], 3)]
        );
    }

    #[test]
    fn comments_blank_lines_crlf_bom_and_shared_name_lines() {
        let text = "\u{feff}# a comment\r\n\r\n3 1   # header\r\n2 1 3 0\r\n\r\n1 2 0 # tail\r\n0\r\n\"A #1\" \"B\"\r\n\"C\"\r\n\"T\"\r\n\r\n";
        let b = parse(text).unwrap();
        assert_eq!(b.candidates, vec!["A #1", "B", "C"]);
        assert_eq!(b.ballots.len(), 2);
        assert_eq!(b.ballots[1].line, 6);
        assert_eq!(b.title.as_deref(), Some("T"));
    }

    #[test]
    fn title_may_be_omitted() {
        let b = parse("2 1\n1 1 0\n0\n\"A\"\n\"B\"\n").unwrap();
        assert_eq!(b.title, None);
    }

    fn line_of(text: &str) -> (usize, String) {
        let e = parse(text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn malformed_files_give_line_numbers() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty file"),
            ("3\n", 1, "<candidates> <seats>"),
            ("x 1\n", 1, "number of candidates"),
            ("0 1\n0\n", 1, "between 1 and 65536"),
            ("2 1\n1 1 2\n0\n\"A\"\n\"B\"\n", 2, "must end with 0"),
            (
                "2 1\n1 1 3 0\n0\n\"A\"\n\"B\"\n",
                2,
                "candidate 3 does not exist",
            ),
            ("2 1\n1 1 1 0\n0\n\"A\"\n\"B\"\n", 2, "ranked twice"),
            (
                "2 1\n1 1 0 2 0\n0\n\"A\"\n\"B\"\n",
                2,
                "more preferences follow",
            ),
            ("2 1\n1 1=2 0\n0\n\"A\"\n\"B\"\n", 2, "equal rankings"),
            ("2 1\n1 1 - 2 0\n0\n\"A\"\n\"B\"\n", 2, "skipped rankings"),
            ("2 1\n1.5 1 0\n0\n\"A\"\n\"B\"\n", 2, "fractional weights"),
            (
                "2 1\n\n\n1 1 0\nabc 1 0\n0\n\"A\"\n\"B\"\n",
                5,
                "ballot weight",
            ),
            (
                "2 1\n1 1 0\n-2\n0\n\"A\"\n\"B\"\n",
                3,
                "before the first ballot",
            ),
            ("2 1\n-3\n1 1 0\n0\n\"A\"\n\"B\"\n", 2, "not a candidate"),
            ("2 1\n1 1 0\n\"A\"\n\"B\"\n", 3, "before the line \"0\""),
            ("2 1\n1 1 0\n", 2, "ended by a line \"0\""),
            (
                "2 1\n1 1 0\n0\n\"A\"\n",
                4,
                "expected 2 quoted candidate names",
            ),
            ("2 1\n1 1 0\n0\nA\n\"B\"\n", 4, "expected a quoted name"),
            ("2 1\n1 1 0\n0\n\"A\n\"B\"\n", 4, "unterminated"),
            (
                "2 1\n1 1 0\n0\n\"A\"\n\"A\"\n",
                5,
                "duplicate candidate name",
            ),
            (
                "2 1\n1 1 0\n0\n\"A\"\n\"B\"\n\"T\"\n\"extra\"\n",
                7,
                "after the title",
            ),
            ("2 1\n0 1 0\n0\n\"A\"\n\"B\"\n", 2, "at least 1"),
            (
                "2 1\n99999999999999999999 1 0\n0\n\"A\"\n\"B\"\n",
                2,
                "too large",
            ),
            ("2 1\n(x 1 1 0\n0\n\"A\"\n\"B\"\n", 2, "closing"),
            (
                "2 1\n/* c */ 1 1 0\n0\n\"A\"\n\"B\"\n",
                2,
                "comments are not supported",
            ),
        ];
        for (text, line, msg) in cases {
            let (l, m) = line_of(text);
            assert_eq!(l, *line, "{text:?}: {m}");
            assert!(m.contains(msg), "{text:?}: {m:?} should mention {msg:?}");
        }
    }

    #[test]
    fn count_blt_removes_withdrawn_and_reports() {
        let r = count_blt(SAMPLE, Method::Stv, None, None).unwrap();
        assert_eq!(r.election.withdrawn, vec!["Cat"]);
        assert_eq!(r.election.options, vec!["Ann", "Bob", "Dan"]);
        assert_eq!(r.election.ballots, 7);
        assert_eq!(r.election.seed_source, "sha256-of-file");
        assert_eq!(
            r.election.seed,
            crate::tally::ties::to_hex(&Sha256::digest(SAMPLE.as_bytes()))
        );
        let Tally::Stv(t) = &r.outcome.tally else {
            panic!("stv tally")
        };
        assert_eq!(t.blank, 1);
        assert_eq!(t.valid, 6);
        // quota floor(6/3)+1 = 3: Ann 3 and Dan 3 elected at stage 1
        assert_eq!(t.quota.to_string(), "3.00000");
        assert_eq!(r.outcome.winners, vec!["Ann", "Dan"]);
        let v = count_blt_json(SAMPLE, Method::Stv, None, Some(b"x")).unwrap();
        assert_eq!(v["election"]["seed"], "78");
        assert_eq!(v["election"]["seed_source"], "given");
        assert_eq!(v["winners"], serde_json::json!(["Ann", "Dan"]));
    }

    #[test]
    fn seats_override_and_tally_errors() {
        let r = count_blt(SAMPLE, Method::Plurality, Some(1), None).unwrap();
        assert_eq!(r.election.seats, 1);
        assert_eq!(r.outcome.winners.len(), 1);
        assert_eq!(
            count_blt(SAMPLE, Method::Stv, Some(3), None),
            Err(CountError::Tally(TallyError::TooManySeats {
                seats: 3,
                options: 3
            }))
        );
        // the error message is readable
        let e = count_blt("2 1\n1 1 3 0\n0\n\"A\"\n\"B\"\n", Method::Irv, None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed BLT file: line 2: candidate 3 does not exist (1 to 2)"
        );
    }

    #[test]
    fn plurality_uses_first_preferences_and_approval_all() {
        let text = "3 1\n2 1 2 0\n1 2 3 0\n0\n\"A\"\n\"B\"\n\"C\"\n";
        let p = count_blt(text, Method::Plurality, None, None).unwrap();
        let Tally::Counts(c) = &p.outcome.tally else {
            panic!()
        };
        assert_eq!(c.counts.get("B"), Some(&1));
        let a = count_blt(text, Method::Approval, None, None).unwrap();
        let Tally::Counts(c) = &a.outcome.tally else {
            panic!()
        };
        assert_eq!(c.counts.get("B"), Some(&3));
        assert_eq!(c.counts.get("C"), Some(&1));
    }

    proptest::proptest! {
        /// Arbitrary text never panics the parser or the counter.
        #[test]
        fn never_panics_on_garbage(text in "[-0-9 \"#()=.\n a-z]{0,200}") {
            let _ = parse(&text);
            let _ = count_blt(&text, Method::Stv, None, None);
        }

        /// Well-formed random files parse back to what was written.
        #[test]
        fn round_trips_generated_files(
            n in 2usize..6,
            lines in proptest::collection::vec((1u64..5, proptest::collection::vec(1usize..6, 0..6)), 0..10)
        ) {
            let mut text = format!("{n} 1\n");
            let mut expected = Vec::new();
            for (i, (w, prefs)) in lines.iter().enumerate() {
                let mut seen = std::collections::HashSet::new();
                let r: Vec<usize> = prefs.iter().copied().filter(|&p| p <= n && seen.insert(p)).collect();
                text.push_str(&w.to_string());
                for p in &r { text.push_str(&format!(" {p}")); }
                text.push_str(" 0\n");
                expected.push(BltBallot { line: i + 2, weight: *w, ranking: r.iter().map(|&p| (p - 1) as u16).collect() });
            }
            text.push_str("0\n");
            for c in 0..n { text.push_str(&format!("\"C{c}\"\n")); }
            text.push_str("\"T\"\n");
            let b = parse(&text).unwrap();
            proptest::prop_assert_eq!(b.ballots, expected);
            proptest::prop_assert_eq!(b.candidates.len(), n);
        }
    }
}
