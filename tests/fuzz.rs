//! Fuzzing without cargo-fuzz (it needs a nightly toolchain, which cannot be
//! fetched here): proptest harnesses over the BLT parser and counter and
//! over ballot validation, seeded from the committed corpus in
//! tests/fuzz/corpus. Request bodies are fuzzed against the running app in
//! tests/api/hostile.rs.
//!
//! Bounded: `BALLOTBOX_FUZZ_CASES` cases per harness (default 256); a longer
//! run is `BALLOTBOX_FUZZ_CASES=100000 cargo test --release --test fuzz`.
//! A failure is shrunk and its seed saved in tests/proptest-regressions/,
//! to be committed so that it is replayed on every run.

use std::path::Path;

use ballotbox::ballots::model::Answer;
use ballotbox::ballots::rules;
use ballotbox::elections::definition::{Definition, QuestionDef};
use ballotbox::elections::{ElectionId, Method, OptionId, QuestionId};
use ballotbox::tally::{self, blt};
use proptest::prelude::*;
use proptest::test_runner::Config;
use uuid::Uuid;

fn config() -> Config {
    let cases = std::env::var("BALLOTBOX_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::SourceParallel("proptest-regressions"),
        )),
        source_file: Some(file!()),
        ..Config::default()
    }
}

fn corpus(kind: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    let out: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("corpus file"))
        .collect();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

const METHODS: [Method; 6] = [
    Method::Plurality,
    Method::Approval,
    Method::Borda,
    Method::Irv,
    Method::Stv,
    Method::Schulze,
];

/// Parses, and when the file is valid counts it with every method: an error
/// is fine, a panic or a winner that is not a candidate is not.
fn parse_and_count(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let Ok(parsed) = blt::parse(&text) else {
        return;
    };
    // Bounded work per case: the counter is fuzzed, not benchmarked.
    if parsed.candidates.len() > 40 {
        return;
    }
    for method in METHODS {
        if let Ok(report) = blt::count_blt(&text, method, None, Some(b"fuzz")) {
            for w in &report.outcome.winners {
                assert!(
                    report.election.options.contains(w),
                    "{method:?}: winner {w:?} is not an option"
                );
            }
        }
    }
}

/// One edit of a byte string, as a coverage-free fuzzer would make it.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        Just(b" 0\n".to_vec()),
        Just(b"-1 ".to_vec()),
        Just(b"=".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"#".to_vec()),
        Just(b"/*".to_vec()),
        Just(b"1.5".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        Just(b"\0".to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), token).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    let len = bytes.len();
    match e {
        Edit::Flip(i, b) if len > 0 => bytes[i % len] ^= b | 1,
        Edit::Insert(i, t) => {
            let at = i % (len + 1);
            bytes.splice(at..at, t.iter().copied());
        }
        Edit::Delete(i, n) if len > 0 => {
            let at = i % len;
            bytes.drain(at..(at + n).min(len));
        }
        Edit::Duplicate(i, n) if len > 0 => {
            let at = i % len;
            let piece = bytes[at..(at + n).min(len)].to_vec();
            bytes.splice(at..at, piece);
        }
        Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
        _ => {}
    }
}

/// BLT files built from their grammar, with hostile values in each slot.
fn blt_text() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        0i64..12,
        Just(-1),
        Just(-7),
        Just(i64::from(u32::MAX) + 1),
        Just(i64::MAX),
    ];
    let ballot = (
        prop_oneof![1i64..5, Just(0), Just(-3), Just(1_000_000_000_000)],
        proptest::collection::vec(prop_oneof![1i64..8, number.clone()], 0..9),
        any::<bool>(),
    )
        .prop_map(|(w, prefs, tie)| {
            let sep = if tie { "=" } else { " " };
            let prefs: Vec<String> = prefs.iter().map(i64::to_string).collect();
            format!("{w} {} 0", prefs.join(sep))
        });
    (
        number.clone(),
        number,
        proptest::collection::vec(-8i64..0, 0..3),
        proptest::collection::vec(ballot, 0..30),
        proptest::collection::vec("[A-Za-z \"]{0,12}", 0..10),
        any::<bool>(),
    )
        .prop_map(|(c, s, withdrawn, ballots, names, end)| {
            let mut t = format!("{c} {s}\n");
            if !withdrawn.is_empty() {
                let w: Vec<String> = withdrawn.iter().map(i64::to_string).collect();
                t.push_str(&w.join(" "));
                t.push('\n');
            }
            for b in ballots {
                t.push_str(&b);
                t.push('\n');
            }
            if end {
                t.push_str("0\n");
            }
            for n in names {
                t.push_str(&format!("\"{n}\"\n"));
            }
            t
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn blt_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_and_count(&bytes);
    }

    #[test]
    fn blt_from_the_grammar_never_panics(text in blt_text()) {
        parse_and_count(text.as_bytes());
    }

    #[test]
    fn blt_corpus_mutations_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        let corpus = corpus("blt");
        let mut bytes = corpus[pick.index(corpus.len())].clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        parse_and_count(&bytes);
    }
}

/// Every committed BLT file parses without panicking, and the valid ones count.
#[test]
fn blt_corpus_replays() {
    for bytes in corpus("blt") {
        parse_and_count(&bytes);
    }
}

fn question() -> impl Strategy<Value = QuestionDef> {
    (
        prop::sample::select(METHODS.to_vec()),
        0i32..4,
        -1i32..4,
        -1i32..6,
        any::<bool>(),
        1usize..7,
    )
        .prop_map(|(method, seats, min, max, allow_blank, n)| QuestionDef {
            id: QuestionId(Uuid::new_v4()),
            prompt: "Q".into(),
            method,
            seats,
            min_selections: min,
            max_selections: max,
            allow_blank,
            options: (0..n).map(|_| OptionId(Uuid::new_v4())).collect(),
            labels: (0..n).map(|i| format!("Option {i}")).collect(),
        })
}

/// A selection: usually an option of the question, sometimes of another
/// question, sometimes no option at all.
#[derive(Debug, Clone)]
enum Pick {
    /// Option number, modulo the question's options.
    Own(usize),
    /// Question and option numbers, modulo their counts.
    Other(usize, usize),
    Stranger,
}

#[derive(Debug, Clone)]
struct AnswerPlan {
    /// Which question, modulo their number.
    question: usize,
    stranger_question: bool,
    picks: Vec<Pick>,
}

fn answer_plan() -> impl Strategy<Value = AnswerPlan> {
    let pick = prop_oneof![
        6 => any::<usize>().prop_map(Pick::Own),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(q, o)| Pick::Other(q, o)),
        1 => Just(Pick::Stranger),
    ];
    (
        any::<usize>(),
        prop::bool::weighted(0.05),
        proptest::collection::vec(pick, 0..8),
    )
        .prop_map(|(question, stranger_question, picks)| AnswerPlan {
            question,
            stranger_question,
            picks,
        })
}

fn answers_of(def: &Definition, plans: &[AnswerPlan]) -> Vec<Answer> {
    plans
        .iter()
        .map(|p| {
            let q = &def.questions[p.question % def.questions.len()];
            let question_id = if p.stranger_question {
                QuestionId(Uuid::new_v4())
            } else {
                q.id
            };
            let selections = p
                .picks
                .iter()
                .map(|pick| match pick {
                    Pick::Own(i) => q.options[i % q.options.len()],
                    Pick::Other(qi, oi) => {
                        let other = &def.questions[qi % def.questions.len()];
                        other.options[oi % other.options.len()]
                    }
                    Pick::Stranger => OptionId(Uuid::new_v4()),
                })
                .collect();
            Answer {
                question_id,
                selections,
            }
        })
        .collect()
}

/// Whatever the answers, validation answers Ok or field errors; an accepted
/// ballot stores content that decodes back to exactly the answers (in
/// question order), each question answered once, within its method's
/// limits, and the hash is that of the answers. Half the cases answer each
/// question once in order, so that many are accepted (checked at the end:
/// a harness that only ever sees refusals proves nothing).
#[test]
fn validation_accepts_only_what_it_stores_faithfully() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let accepted = AtomicUsize::new(0);
    let strategy = (
        proptest::collection::vec(question(), 1..5),
        proptest::collection::vec(answer_plan(), 0..7),
        any::<bool>(),
    );
    let config = config();
    let cases = config.cases as usize;
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |(questions, mut plans, aligned)| {
        let def = Definition {
            election_id: ElectionId(Uuid::new_v4()),
            questions,
        };
        if aligned {
            plans.resize_with(def.questions.len(), || AnswerPlan {
                question: 0,
                stranger_question: false,
                picks: Vec::new(),
            });
            for (i, p) in plans.iter_mut().enumerate() {
                p.question = i;
                // Distinct options of the question, as many as it takes.
                let q = &def.questions[i];
                let hi = match q.method {
                    Method::Plurality => q.seats.max(1),
                    _ => q.max_selections,
                };
                let lo = if p.picks.is_empty() && q.allow_blank {
                    0
                } else {
                    q.min_selections.max(1)
                };
                let k = (p.picks.len() as i32).clamp(lo.min(hi.max(0)), hi.max(0)) as usize;
                p.picks = (0..k.min(q.options.len())).map(Pick::Own).collect();
            }
        }
        let answers = answers_of(&def, &plans);
        let Ok(valid) = rules::validate(&def, &answers) else {
            return Ok(());
        };
        accepted.fetch_add(1, Ordering::Relaxed);
        prop_assert_eq!(answers.len(), def.questions.len());
        let decoded = rules::decode(&def, &valid.content).expect("stored content decodes");
        for (q, d) in def.questions.iter().zip(&decoded) {
            let given = answers
                .iter()
                .find(|a| a.question_id == q.id)
                .expect("answered");
            prop_assert_eq!(&given.selections, &d.selections);
            let n = d.selections.len() as i32;
            prop_assert!(n > 0 || q.allow_blank);
            prop_assert!(n <= q.max_selections.max(q.seats).max(1));
            let mut distinct = d.selections.clone();
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(distinct.len(), d.selections.len());
        }
        prop_assert_eq!(
            valid.ballot_hash,
            rules::ballot_hash(def.election_id, &decoded, &valid.salt)
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let accepted = accepted.into_inner();
    assert!(
        accepted * 20 >= cases,
        "only {accepted} of {cases} ballots accepted: the generator is too hostile to test acceptance"
    );
}

proptest! {
    #![proptest_config(config())]

    /// Stored content from a database reader's hands: decoding never panics.
    #[test]
    fn decoding_arbitrary_content_never_panics(
        questions in proptest::collection::vec(question(), 0..4),
        content in prop_oneof!["[0-9,;]{0,40}", ".{0,40}"],
    ) {
        let def = Definition { election_id: ElectionId(Uuid::new_v4()), questions };
        let _ = rules::decode(&def, &content);
    }
}

/// The tally's own entry point, fed aggregated ballots the parser never
/// produces (empty rankings, positions out of range, repeats).
#[test]
fn tally_count_refuses_or_counts_hostile_rankings() {
    proptest!(config(), |(
        n in 0usize..6,
        seats in 0u32..4,
        ballots in proptest::collection::vec(
            (proptest::collection::vec(0u16..8, 0..8), 0u64..1_000), 0..20),
    )| {
        let options: Vec<String> = (0..n).map(|i| format!("O{i}")).collect();
        for method in METHODS {
            if let Ok(outcome) = tally::count(method, &options, seats, &ballots, b"fuzz") {
                for w in &outcome.winners {
                    prop_assert!(options.contains(w));
                }
            }
        }
    });
}
