//! The BLT ballot file format (as read by OpenSTV, Droop and OpenTally), and
//! counting a BLT file by any method.
//!
//! # Format
//!
//! ```text
//! 4 2                 first line: number of candidates, number of seats
//! -3                  optional: withdrawn candidates, as negative numbers
//! [withdrawn 4]       optional (Droop): more withdrawn candidates
//! [tie 2 1 4 3]       optional (Droop): the tie-breaking order
//! 3 1 2 0             ballot lines: weight, preferences..., 0
//! (b7) 1 4 0          an optional "(id)" ballot-id prefix is accepted and ignored
//! 2 4 0
//! 0                   a line "0" ends the ballots
//! "Ann"               one quoted name per candidate, in number order
//! "Bob"
//! "Cat"
//! "Dan"
//! "Example election"  a quoted title (may be omitted)
//! "Source"            optional (Droop): where the ballots come from
//! "Comment"           optional (Droop): a comment
//! ```
//!
//! - Candidates are numbered from 1. Weights are positive integers (the
//!   number of identical ballots). A line `1 0` is a blank ballot.
//! - Withdrawn-candidate lines and `[...]` options may only come before the
//!   first ballot; one line may list several (`-2 -5`); an option may span
//!   lines up to its closing `]`.
//! - `[tie ...]` lists every candidate once; a tie that the method's own
//!   rules leave open is then decided for the tied candidate listed first
//!   (eliminated, excluded, transferred first or elected, by the tie's
//!   purpose), as Droop does, instead of by lot.
//! - `#` starts a comment to the end of the line (outside quoted names);
//!   blank lines are ignored anywhere; Windows line ends are accepted.
//! - Several quoted names may share a line.
//! - Not supported, and rejected with a clear message: equal rankings
//!   (`2=3`, an OpenSTV extension), skipped rankings (`-` inside a ballot),
//!   fractional weights, Droop's `/* */` comments, and Droop's `[nick]`,
//!   `[droop]` and `[undeclared]` options (they change what the ballots
//!   mean in ways this counter does not follow).
//! - Error messages quote at most 40 characters of the input; lines longer
//!   than 4 MiB are refused.
//!
//! Every malformed input is a [`BltError`] carrying the 1-based line number.
//!
//! # Counting
//!
//! [`count_blt_from`] reads the file as a stream (only the aggregated
//! ballots are held, never the lines), removes withdrawn candidates (a ballot then skips
//! them; a ballot left empty counts as blank), and counts by the chosen
//! method. Option ids are the candidate names. Plurality counts each
//! ballot's first preference; approval approves every candidate the ballot
//! ranks; the other methods use the ranking. `seats` overrides the file's
//! number of seats. Without a seed, the seed is the SHA-256 of the file's
//! bytes (`text.as_bytes()`), so a count is reproducible from the file alone.

use crate::tally::ties::TieRule;
use crate::tally::{self, Aggregator, Method, Outcome, TallyError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Read;

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
    /// `[tie ...]`: every candidate (0-based) in tie-breaking order.
    pub tie_order: Option<Vec<usize>>,
    /// The ballot lines.
    pub ballots: Vec<BltBallot>,
    /// The title, if given.
    pub title: Option<String>,
    /// Droop's source string after the title, if given.
    pub source: Option<String>,
    /// Droop's comment string after the source, if given.
    pub comment: Option<String>,
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

fn bad(line: usize, message: impl Into<String>) -> BltError {
    BltError {
        line,
        message: message.into(),
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, BltError> {
    Err(bad(line, message))
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
            .or_else(|_| err(line, format!("{what} {} is too large", quote_short(tok))));
    }
    if tok.contains('=') {
        return err(
            line,
            format!(
                "equal rankings ({}) are not supported; rank candidates strictly",
                quote_short(tok)
            ),
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
            format!(
                "{what} {} is not an integer (fractional weights are not supported)",
                quote_short(tok)
            ),
        );
    }
    err(line, format!("expected {what}, found {}", quote_short(tok)))
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
                format!(
                    "expected a quoted name, found {} (is the ballot list not ended by a line \"0\"?)",
                    quote_short(tok)
                ),
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

/// Longest piece of the input quoted back in an error message: a hostile
/// file must not come back whole on stderr.
const QUOTE_MAX: usize = 40;

/// `{:?}` of `s`, cut to [`QUOTE_MAX`] characters.
fn quote_short(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &s[..cut], s.len()),
    }
}

/// Whatever precedes the ballots: the first line, then any withdrawn
/// candidates and Droop options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BltHeader {
    /// Number of candidates, withdrawn ones included.
    pub candidates: usize,
    /// Seats from the first line.
    pub seats: u32,
    /// Withdrawn candidates, 0-based, sorted.
    pub withdrawn: Vec<usize>,
    /// `[tie ...]`: every candidate (0-based) in tie-breaking order.
    pub tie_order: Option<Vec<usize>>,
}

/// Whatever follows the ballots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BltNames {
    /// Every candidate's name, in candidate-number order.
    pub candidates: Vec<String>,
    /// The title, if given.
    pub title: Option<String>,
    /// Droop's optional second string after the title (the election's source).
    pub source: Option<String>,
    /// Droop's optional third string after the title (a comment).
    pub comment: Option<String>,
}

/// A BLT file that could not be read: malformed, or an I/O failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file is malformed.
    #[error(transparent)]
    Malformed(#[from] BltError),
    /// Reading failed.
    #[error("cannot read: {0}")]
    Io(String),
}

/// Bytes read at a time.
const BLOCK: usize = 1 << 20;

/// Longest line accepted: a ranking of all 65,536 candidates fits; a
/// hostile file cannot make the reader hold more.
const LINE_MAX: usize = 4 << 20;

/// Lines of a BLT stream, read a block at a time and hashed as they are
/// read (the default tie-break seed is the SHA-256 of the file's bytes).
struct Lines<R> {
    input: R,
    buf: Vec<u8>,
    /// `buf[start..end]` is read and not yet handed out.
    start: usize,
    end: usize,
    eof: bool,
    line: usize,
    hasher: Sha256,
}

impl<R: Read> Lines<R> {
    fn new(input: R) -> Lines<R> {
        Lines {
            input,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            line: 0,
            hasher: Sha256::new(),
        }
    }

    /// Reads more input after what is left in the buffer.
    fn fill(&mut self) -> Result<(), ReadError> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buf.len() {
            if self.buf.len() >= LINE_MAX {
                return Err(bad(self.line + 1, "line longer than 4 MiB").into());
            }
            let grown = (self.buf.len() * 2).clamp(BLOCK, LINE_MAX);
            self.buf.resize(grown, 0);
        }
        let n = loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Io(e.to_string())),
            }
        };
        self.hasher.update(&self.buf[self.end..self.end + n]);
        self.end += n;
        self.eof = n == 0;
        Ok(())
    }

    /// The next line as a range of `buf`, without its line end, with its
    /// 1-based number; `None` at the end of the input.
    fn raw(&mut self) -> Result<Option<(usize, usize, usize)>, ReadError> {
        let mut searched = self.start;
        loop {
            if let Some(i) = self.buf[searched..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                let (s, e) = (self.start, searched + i);
                self.start = e + 1;
                return Ok(Some(self.number(s, e)));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let (s, e) = (self.start, self.end);
                self.start = self.end;
                return Ok(Some(self.number(s, e)));
            }
            let done = self.end - self.start;
            self.fill()?;
            searched = self.start + done;
        }
    }

    fn number(&mut self, mut s: usize, e: usize) -> (usize, usize, usize) {
        self.line += 1;
        if self.line == 1 && self.buf[s..e].starts_with("\u{feff}".as_bytes()) {
            s += 3;
        }
        (self.line, s, e)
    }

    /// Line `lno` in `buf[s..e]` as text, its comment removed and trimmed.
    fn text(&self, lno: usize, s: usize, e: usize) -> Result<&str, BltError> {
        let text = std::str::from_utf8(&self.buf[s..e]).map_err(|_| bad(lno, "not UTF-8 text"))?;
        Ok(strip_comment(text).trim())
    }

    /// The next line that is not blank once its comment is removed, as
    /// trimmed text with its 1-based number; `None` at the end of the input.
    fn next(&mut self) -> Result<Option<(usize, &str)>, ReadError> {
        loop {
            let Some((lno, s, e)) = self.raw()? else {
                return Ok(None);
            };
            if !self.text(lno, s, e)?.is_empty() {
                return Ok(Some((lno, self.text(lno, s, e)?)));
            }
        }
    }

    /// Reads to the end (so that the hash covers every byte); the number of
    /// the last line and the hash.
    fn finish(mut self) -> Result<(usize, [u8; 32]), ReadError> {
        while self.raw()?.is_some() {}
        Ok((self.line.max(1), self.hasher.finalize().into()))
    }
}

/// The fast path for the common ballot line `W C1 C2 ... 0`: plain decimal
/// numbers separated by blanks. `None` sends the line to [`ballot_line`],
/// which accepts the rarer forms and words every error.
fn fast_ballot_line(
    l: &[u8],
    ncand: usize,
    seen: &mut [usize],
    lno: usize,
    ranking: &mut Vec<u16>,
) -> Option<Option<u64>> {
    let parsed = fast_parse(l, ncand, seen, lno, ranking);
    if parsed.is_none() {
        // Unmark, for the full parser that reads the line next.
        for &c in ranking.iter() {
            seen[usize::from(c)] = 0;
        }
        ranking.clear();
    }
    parsed
}

fn fast_parse(
    l: &[u8],
    ncand: usize,
    seen: &mut [usize],
    lno: usize,
    ranking: &mut Vec<u16>,
) -> Option<Option<u64>> {
    fn number(l: &[u8], i: &mut usize) -> Option<u64> {
        while *i < l.len() && (l[*i] == b' ' || l[*i] == b'\t') {
            *i += 1;
        }
        let start = *i;
        let mut v: u64 = 0;
        while *i < l.len() && l[*i].is_ascii_digit() {
            v = v.checked_mul(10)?.checked_add(u64::from(l[*i] - b'0'))?;
            *i += 1;
        }
        let ends = *i == l.len() || l[*i] == b' ' || l[*i] == b'\t';
        (*i > start && ends).then_some(v)
    }
    let mut i = 0;
    let weight = number(l, &mut i)?;
    if weight == 0 {
        return (i == l.len()).then_some(None);
    }
    ranking.clear();
    loop {
        let c = number(l, &mut i)?;
        if c == 0 {
            return (i == l.len()).then_some(Some(weight));
        }
        let c = usize::try_from(c).ok()?.checked_sub(1)?;
        if c >= ncand || seen[c] == lno {
            return None;
        }
        seen[c] = lno;
        ranking.push(c as u16);
    }
}

/// One ballot line in any accepted form: `Some(weight)` with the ranking in
/// `ranking`, or `None` for the line "0" that ends the ballots.
fn ballot_line(
    l: &str,
    lno: usize,
    ncand: usize,
    seen: &mut [usize],
    ranking: &mut Vec<u16>,
) -> Result<Option<u64>, BltError> {
    if let Some(fast) = fast_ballot_line(l.as_bytes(), ncand, seen, lno, ranking) {
        return Ok(fast);
    }
    if l.starts_with('-') || l.starts_with('[') {
        return err(
            lno,
            "withdrawn candidates and [options] must come before the first ballot",
        );
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
    let mut toks = body.split_whitespace();
    let Some(wtok) = toks.next() else {
        return err(lno, "ballot id without a ballot");
    };
    let weight = parse_uint(wtok, lno, "a ballot weight")?;
    let prefs: Vec<&str> = toks.collect();
    if weight == 0 {
        if prefs.is_empty() && body.len() == l.len() {
            return Ok(None);
        }
        return err(
            lno,
            "a ballot weight must be at least 1 (a line \"0\" alone ends the ballots)",
        );
    }
    let Some((&last, ranked)) = prefs.split_last() else {
        return err(lno, "ballot line must end with 0");
    };
    ranking.clear();
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
    Ok(Some(weight))
}

/// A candidate number in a withdrawn line or an option, 0-based.
fn candidate_number(tok: &str, lno: usize, ncand: usize, what: &str) -> Result<usize, BltError> {
    let c = parse_uint(tok, lno, what)?;
    if c == 0 || c > ncand as u64 {
        return err(lno, format!("{what} {c} is not a candidate (1 to {ncand})"));
    }
    Ok((c - 1) as usize)
}

/// Reads a BLT stream: the header, then every ballot line in turn through
/// `ballot(header, line, weight, ranking)` (rankings are 0-based candidate
/// numbers, withdrawn ones included), then the names. Nothing but the
/// current line is held, so memory does not grow with the file. Returns the
/// header, the names and the SHA-256 of every byte read.
pub fn read<R: Read>(
    input: R,
    mut ballot: impl FnMut(&BltHeader, usize, u64, &[u16]) -> Result<(), BltError>,
) -> Result<(BltHeader, BltNames, [u8; 32]), ReadError> {
    let mut lines = Lines::new(input);

    // header
    let Some((hline, header)) = lines.next()? else {
        lines.finish()?;
        return Err(bad(
            1,
            "empty file: expected \"<candidates> <seats>\"".to_string(),
        )
        .into());
    };
    let toks: Vec<&str> = header.split_whitespace().collect();
    if toks.len() != 2 {
        return Err(bad(
            hline,
            format!(
                "expected \"<candidates> <seats>\" on the first line, found {}",
                quote_short(header)
            ),
        )
        .into());
    }
    let ncand = parse_uint(toks[0], hline, "the number of candidates")?;
    let seats = parse_uint(toks[1], hline, "the number of seats")?;
    if ncand == 0 || ncand > u64::from(u16::MAX) + 1 {
        return Err(bad(
            hline,
            format!("the number of candidates must be between 1 and 65536, found {ncand}"),
        )
        .into());
    }
    let ncand = ncand as usize;
    let Ok(seats) = u32::try_from(seats) else {
        return Err(bad(hline, format!("the number of seats {seats} is too large")).into());
    };

    // withdrawn candidates and options, up to the first ballot line
    let mut head = BltHeader {
        candidates: ncand,
        seats,
        withdrawn: Vec::new(),
        tie_order: None,
    };
    let mut is_withdrawn = vec![false; ncand];
    let mut seen = vec![0usize; ncand]; // seen[c] == line: c ranked on this line
    let mut ranking: Vec<u16> = Vec::with_capacity(16);
    let mut option: Option<(usize, String, Vec<String>)> = None;
    let mut first_ballot: Option<Option<u64>> = None;
    let mut first_line = 0;
    while let Some((lno, l)) = lines.next()? {
        if let Some((oline, name, mut args)) = option.take() {
            if option_tokens(l, lno, &mut args)? {
                apply_option(&mut head, &mut is_withdrawn, oline, &name, &args)?;
            } else {
                option = Some((oline, name, args));
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix('[') {
            let mut words = rest.split_whitespace();
            let first = words.next().unwrap_or("");
            let closed = first.ends_with(']');
            let name = first.trim_end_matches(']').to_string();
            let mut args = Vec::new();
            if closed || option_tokens(&rest[first.len()..], lno, &mut args)? {
                apply_option(&mut head, &mut is_withdrawn, lno, &name, &args)?;
            } else {
                option = Some((lno, name, args));
            }
            continue;
        }
        if l.starts_with('-') {
            for tok in l.split_whitespace() {
                let Some(num) = tok.strip_prefix('-') else {
                    return Err(bad(
                        lno,
                        format!(
                            "expected a withdrawn candidate as a negative number, found {}",
                            quote_short(tok)
                        ),
                    )
                    .into());
                };
                let c = candidate_number(num, lno, ncand, "withdrawn candidate")?;
                is_withdrawn[c] = true;
            }
            continue;
        }
        head.withdrawn = (0..ncand).filter(|&c| is_withdrawn[c]).collect();
        first_ballot = Some(ballot_line(l, lno, ncand, &mut seen, &mut ranking)?);
        first_line = lno;
        break;
    }
    if let Some((oline, name, _)) = option {
        return Err(bad(
            oline,
            format!("option [{name} ...] is missing its closing \"]\""),
        )
        .into());
    }

    // ballots: the fast path reads the raw bytes; any other line goes
    // through the text checks and the full parser
    let mut ended = false;
    if let Some(first) = first_ballot {
        match first {
            None => ended = true,
            Some(w) => ballot(&head, first_line, w, &ranking)?,
        }
        while !ended {
            let Some((lno, s, e)) = lines.raw()? else {
                break;
            };
            let bytes = lines.buf[s..e].trim_ascii();
            let parsed = match fast_ballot_line(bytes, ncand, &mut seen, lno, &mut ranking) {
                Some(parsed) => parsed,
                None => {
                    let l = lines.text(lno, s, e)?;
                    if l.is_empty() {
                        continue;
                    }
                    ballot_line(l, lno, ncand, &mut seen, &mut ranking)?
                }
            };
            match parsed {
                None => ended = true,
                Some(w) => ballot(&head, lno, w, &ranking)?,
            }
        }
    }
    if !ended {
        let (last, _) = lines.finish()?;
        return Err(bad(
            last,
            "unexpected end of file: the ballots must be ended by a line \"0\"".to_string(),
        )
        .into());
    }

    // names, the title, Droop's source and comment strings
    let mut strings: Vec<(usize, String)> = Vec::new();
    while let Some((lno, l)) = lines.next()? {
        for s in quoted_strings(l, lno)? {
            if strings.len() == ncand + 3 {
                return Err(bad(lno, format!(
                        "unexpected {} after the title, source and comment (the file declares {ncand} candidates)",
                        quote_short(&s)
                    )).into());
            }
            strings.push((lno, s));
        }
    }
    let (last, hash) = lines.finish()?;
    if strings.len() < ncand {
        return Err(bad(
            last,
            format!(
                "unexpected end of file: expected {ncand} quoted candidate names, found {}",
                strings.len()
            ),
        )
        .into());
    }
    let mut names = BltNames::default();
    let mut unique = std::collections::HashSet::with_capacity(ncand);
    let mut rest = strings.into_iter();
    for (lno, name) in rest.by_ref().take(ncand) {
        if name.trim().is_empty() {
            return Err(bad(lno, "empty candidate name").into());
        }
        if !unique.insert(name.clone()) {
            return Err(bad(
                lno,
                format!("duplicate candidate name {}", quote_short(&name)),
            )
            .into());
        }
        names.candidates.push(name);
    }
    names.title = rest.next().map(|(_, s)| s);
    names.source = rest.next().map(|(_, s)| s);
    names.comment = rest.next().map(|(_, s)| s);
    Ok((head, names, hash))
}

/// Adds an option's argument tokens from `text` to `args`; whether its
/// closing "]" was found (nothing may follow it on the line).
fn option_tokens(text: &str, lno: usize, args: &mut Vec<String>) -> Result<bool, BltError> {
    let mut toks = text.split_whitespace();
    while let Some(tok) = toks.next() {
        if let Some(arg) = tok.strip_suffix(']') {
            if !arg.is_empty() {
                args.push(arg.to_string());
            }
            if toks.next().is_some() {
                return err(
                    lno,
                    "nothing may follow an option's closing \"]\" on its line",
                );
            }
            return Ok(true);
        }
        args.push(tok.to_string());
    }
    Ok(false)
}

/// Applies a Droop option line: `[withdrawn ...]` and `[tie ...]` take
/// candidate numbers; the others (`[nick]`, `[droop]`, `[undeclared]`)
/// change what the file means in ways this counter does not follow, so they
/// are refused rather than ignored.
fn apply_option(
    head: &mut BltHeader,
    is_withdrawn: &mut [bool],
    lno: usize,
    name: &str,
    args: &[String],
) -> Result<(), BltError> {
    let ncand = head.candidates;
    match name {
        "withdrawn" => {
            for a in args {
                is_withdrawn[candidate_number(a, lno, ncand, "[withdrawn] candidate")?] = true;
            }
            Ok(())
        }
        "tie" => {
            let mut listed = vec![false; ncand];
            let mut order = Vec::with_capacity(ncand);
            for a in args {
                let c = candidate_number(a, lno, ncand, "[tie] candidate")?;
                if std::mem::replace(&mut listed[c], true) {
                    return err(lno, format!("[tie] lists candidate {} twice", c + 1));
                }
                order.push(c);
            }
            if order.len() != ncand {
                return err(
                    lno,
                    format!(
                        "[tie] must list each of the {ncand} candidates once, found {}",
                        order.len()
                    ),
                );
            }
            head.tie_order = Some(order);
            Ok(())
        }
        _ => err(
            lno,
            format!(
                "option [{}] is not supported (only [withdrawn ...] and [tie ...])",
                name.chars().take(QUOTE_MAX).collect::<String>()
            ),
        ),
    }
}

/// Parses BLT text whole, keeping every ballot line (for tests and small
/// files; counting streams with [`read`] instead).
pub fn parse(text: &str) -> Result<Blt, BltError> {
    let mut ballots = Vec::new();
    let read = read(text.as_bytes(), |_, line, weight, ranking| {
        ballots.push(BltBallot {
            line,
            weight,
            ranking: ranking.to_vec(),
        });
        Ok(())
    });
    let (head, names, _) = match read {
        Ok(r) => r,
        Err(ReadError::Malformed(e)) => return Err(e),
        Err(ReadError::Io(m)) => return err(0, m),
    };
    Ok(Blt {
        candidates: names.candidates,
        seats: head.seats,
        withdrawn: head.withdrawn,
        tie_order: head.tie_order,
        ballots,
        title: names.title,
        source: names.source,
        comment: names.comment,
    })
}

impl Blt {
    /// The option ids for counting: the names of the candidates not
    /// withdrawn, in candidate order.
    pub fn options(&self) -> Vec<String> {
        options_of(&self.candidates, &self.withdrawn)
    }

    /// The ballots aggregated for `method`, with withdrawn candidates
    /// removed and candidates renumbered to index [`Blt::options`]:
    /// the first preference for plurality, the ranked set for approval, the
    /// ranking otherwise. Sorted by content.
    pub fn aggregate(&self, method: Method) -> Result<Vec<(Vec<u16>, u64)>, TallyError> {
        let mut agg = Aggregator::new();
        let mut renumber = Renumber::new(self.candidates.len(), &self.withdrawn, method);
        for b in &self.ballots {
            agg.add_many(renumber.apply(&b.ranking), b.weight)?;
        }
        Ok(agg.into_sorted_pairs())
    }
}

/// The names of the candidates not withdrawn, in candidate order.
fn options_of(candidates: &[String], withdrawn: &[usize]) -> Vec<String> {
    candidates
        .iter()
        .enumerate()
        .filter(|(c, _)| withdrawn.binary_search(c).is_err())
        .map(|(_, name)| name.clone())
        .collect()
}

/// Turns a file's ranking into counting content: withdrawn candidates
/// skipped, the others renumbered, only the first kept for plurality.
struct Renumber {
    new_index: Vec<Option<u16>>,
    first_only: bool,
    /// Nothing withdrawn and every preference kept: rankings pass as they are.
    identity: bool,
    content: Vec<u16>,
}

impl Renumber {
    fn new(candidates: usize, withdrawn: &[usize], method: Method) -> Renumber {
        let mut next: u16 = 0;
        let new_index = (0..candidates)
            .map(|c| {
                if withdrawn.binary_search(&c).is_ok() {
                    return None;
                }
                let i = next;
                next = next.wrapping_add(1);
                Some(i)
            })
            .collect();
        let first_only = method == Method::Plurality;
        Renumber {
            new_index,
            first_only,
            identity: withdrawn.is_empty() && !first_only,
            content: Vec::with_capacity(16),
        }
    }

    fn apply<'a>(&'a mut self, ranking: &'a [u16]) -> &'a [u16] {
        if self.identity {
            return ranking;
        }
        self.content.clear();
        let kept = ranking
            .iter()
            .filter_map(|&c| self.new_index.get(usize::from(c)).copied().flatten());
        if self.first_only {
            self.content.extend(kept.take(1));
        } else {
            self.content.extend(kept);
        }
        &self.content
    }
}

/// Error from [`count_blt`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// The file is malformed.
    #[error("malformed BLT file: {0}")]
    Parse(#[from] BltError),
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The counting input is impossible (e.g. seats >= candidates).
    #[error("cannot count: {0}")]
    Tally(#[from] TallyError),
}

impl From<ReadError> for CountError {
    fn from(e: ReadError) -> CountError {
        match e {
            ReadError::Malformed(e) => CountError::Parse(e),
            ReadError::Io(m) => CountError::Io(m),
        }
    }
}

/// Facts about the counted file, reported with the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElectionInfo {
    /// The file's title.
    pub title: Option<String>,
    /// Droop's source string, when the file has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Droop's comment string, when the file has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Method used.
    pub method: Method,
    /// Seats filled (the file's, or the override).
    pub seats: u32,
    /// Candidates counted (withdrawn removed), in order.
    pub options: Vec<String>,
    /// Withdrawn candidates.
    pub withdrawn: Vec<String>,
    /// `[tie ...]`: the counted candidates in the file's tie-breaking
    /// order, when it gives one (ties are then broken by it, not by lot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tie_order: Option<Vec<String>>,
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
    count_blt_from(text.as_bytes(), method, seats, seed)
}

/// Counts a BLT stream without holding its lines: memory is the
/// aggregated ballots (one entry per distinct ranking) plus a constant.
pub fn count_blt_from<R: Read>(
    input: R,
    method: Method,
    seats: Option<u32>,
    seed: Option<&[u8]>,
) -> Result<BltReport, CountError> {
    let mut agg = Aggregator::new();
    let mut renumber: Option<Renumber> = None;
    let (head, names, file_hash) = read(input, |head, line, weight, ranking| {
        let r =
            renumber.get_or_insert_with(|| Renumber::new(head.candidates, &head.withdrawn, method));
        agg.add_many(r.apply(ranking), weight)
            .map_err(|e| bad(line, e.to_string()))
    })?;
    let seats = seats.unwrap_or(head.seats);
    let options = options_of(&names.candidates, &head.withdrawn);
    let tie_order: Option<Vec<String>> = head.tie_order.as_ref().map(|order| {
        order
            .iter()
            .filter(|c| head.withdrawn.binary_search(c).is_err())
            .map(|&c| names.candidates[c].clone())
            .collect()
    });
    let total = agg.total();
    let ballots = agg.into_pairs();
    let (seed_bytes, seed_source): (Vec<u8>, &str) = match seed {
        Some(s) => (s.to_vec(), "given"),
        None => (file_hash.to_vec(), "sha256-of-file"),
    };
    let ties = match &tie_order {
        Some(order) => TieRule::Order(order),
        None => TieRule::Lot(&seed_bytes),
    };
    let outcome = tally::count_with(method, &options, seats, &ballots, &ties)?;
    Ok(BltReport {
        election: ElectionInfo {
            title: names.title,
            source: names.source,
            comment: names.comment,
            method,
            seats,
            withdrawn: head
                .withdrawn
                .iter()
                .map(|&c| names.candidates[c].clone())
                .collect(),
            options,
            tie_order,
            ballots: total,
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
                "2 1\n1 1 0\n0\n\"A\"\n\"B\"\n\"T\"\n\"S\"\n\"C\"\n\"extra\"\n",
                9,
                "after the title, source and comment",
            ),
            (
                "2 1\n[nick a b]\n1 1 0\n0\n\"A\"\n\"B\"\n",
                2,
                "[nick] is not supported",
            ),
            (
                "2 1\n[tie 1]\n1 1 0\n0\n\"A\"\n\"B\"\n",
                2,
                "each of the 2 candidates",
            ),
            ("2 1\n[tie 1 1]\n1 1 0\n0\n\"A\"\n\"B\"\n", 2, "twice"),
            (
                "2 1\n[tie 1 3]\n1 1 0\n0\n\"A\"\n\"B\"\n",
                2,
                "not a candidate",
            ),
            ("2 1\n[withdrawn 1\n2\n", 2, "missing its closing"),
            (
                "2 1\n[tie 2 1] 1\n1 1 0\n0\n\"A\"\n\"B\"\n",
                2,
                "nothing may follow",
            ),
            (
                "2 1\n1 1 0\n[tie 1 2]\n0\n\"A\"\n\"B\"\n",
                3,
                "before the first ballot",
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

    #[test]
    fn droop_options_and_strings_after_the_title() {
        let text = "3 1\n[withdrawn 2]\n[tie 3\n 1 2]\n1 2 3 0\n1 1 0\n0\n\"A\" \"B\" \"C\"\n\"T\"\n\"Source\"\n\"Comment\"\n";
        let b = parse(text).unwrap();
        assert_eq!(b.withdrawn, vec![1]);
        assert_eq!(b.tie_order, Some(vec![2, 0, 1]));
        assert_eq!(b.title.as_deref(), Some("T"));
        assert_eq!(b.source.as_deref(), Some("Source"));
        assert_eq!(b.comment.as_deref(), Some("Comment"));
        // B withdrawn: A 1, C 1, a tie that the [tie] order gives to C
        let r = count_blt(text, Method::Plurality, None, None).unwrap();
        assert_eq!(r.election.withdrawn, vec!["B"]);
        assert_eq!(
            r.election.tie_order,
            Some(vec!["C".to_string(), "A".to_string()])
        );
        assert_eq!(r.outcome.winners, vec!["C"]);
        let Tally::Counts(c) = &r.outcome.tally else {
            panic!("counts")
        };
        assert_eq!(c.ties[0].method, crate::tally::TieMethod::Order);
        assert_eq!(c.ties[0].lot, None);
        // IRV: the first listed of the tied is the one eliminated
        let r = count_blt(text, Method::Irv, None, None).unwrap();
        assert_eq!(r.outcome.winners, vec!["A"]);
        // the same ties without [tie] are drawn by lot
        let plain = text.replace("[tie 3\n 1 2]\n", "");
        let r = count_blt(&plain, Method::Plurality, None, None).unwrap();
        let Tally::Counts(c) = &r.outcome.tally else {
            panic!("counts")
        };
        assert_eq!(c.ties[0].method, crate::tally::TieMethod::Lot);
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_line() {
        let text: &[u8] = b"2 1\n1 1 0\n0\n\"A\"\n\xff\"B\"\n";
        let e = count_blt_from(text, Method::Irv, None, None).unwrap_err();
        assert_eq!(e, CountError::Parse(bad(5, "not UTF-8 text")));
    }

    #[test]
    fn errors_quote_at_most_a_short_piece_of_the_input() {
        let long = "x".repeat(1_000_000);
        for text in [
            format!("{long} 1\n"),
            format!("2 1\n1 1 0\n0\n{long}\n"),
            format!("2 1\n1 1 0\n0\n\"A\"\n\"{long}\"\n\"{long}\"\n\"T\"\n\"S\"\n\"C\"\n"),
        ] {
            let e = parse(&text).unwrap_err();
            assert!(
                e.message.len() < 200,
                "{} bytes: {}",
                e.message.len(),
                &e.message[..200]
            );
        }
    }

    /// A reader that hands out its bytes a few at a time, as a pipe might.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_stream_of_many_lines_is_counted_without_holding_them() {
        // 3 million ballot lines generated on the fly: only the aggregate
        // (two distinct rankings) is held.
        struct Gen(u64, Vec<u8>);
        impl std::io::Read for Gen {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.1.is_empty() {
                    if self.0 == 0 {
                        return Ok(0);
                    }
                    self.0 -= 1;
                    self.1 = match self.0 {
                        0 => b"0\n\"A\"\n\"B\"\n".to_vec(),
                        n if n % 2 == 0 => b"1 1 2 0\n".to_vec(),
                        _ => b"2 2 0\n".to_vec(),
                    };
                }
                let n = buf.len().min(self.1.len());
                buf[..n].copy_from_slice(&self.1[..n]);
                self.1.drain(..n);
                Ok(n)
            }
        }
        let mut input = std::io::BufReader::new(Gen(3_000_001, b"2 1\n".to_vec()));
        let r = count_blt_from(&mut input, Method::Plurality, None, None).unwrap();
        assert_eq!(r.election.ballots, 4_500_000);
        let Tally::Counts(c) = &r.outcome.tally else {
            panic!("counts")
        };
        assert_eq!(c.counts.get("B"), Some(&3_000_000));
    }

    proptest::proptest! {
        /// Counting a stream read in small pieces gives what counting the
        /// whole text gives, seed included.
        #[test]
        fn streaming_matches_whole_text(text in "[0-9 \n\"AB#]{0,120}", chunk in 1usize..7) {
            let whole = count_blt(&text, Method::Stv, None, None);
            let streamed = count_blt_from(
                std::io::BufReader::with_capacity(3, Trickle(text.as_bytes(), chunk)),
                Method::Stv,
                None,
                None,
            );
            proptest::prop_assert_eq!(whole, streamed);
        }

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
