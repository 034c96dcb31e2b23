//! `ballotbox count` end to end: the binary gives the same results as the
//! library (and as the unit tests' published examples) on the same data,
//! and rejects malformed BLT files with the line number and a non-zero exit.

use ballotbox::tally::{self, Method};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A BLT file in the temp directory, removed on drop.
struct TempBlt(PathBuf);

impl TempBlt {
    fn new(name: &str, text: &str) -> TempBlt {
        let path = std::env::temp_dir().join(format!(
            "ballotbox-tally-cli-{}-{name}.blt",
            std::process::id()
        ));
        std::fs::write(&path, text).expect("write temp BLT");
        TempBlt(path)
    }
}

impl Drop for TempBlt {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str], file: Option<&TempBlt>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ballotbox"));
    cmd.args(args);
    if let Some(f) = file {
        cmd.arg(&f.0);
    }
    cmd.output().expect("run ballotbox")
}

fn count_json(method: &str, extra: &[&str], file: &TempBlt) -> Value {
    let mut args = vec!["count", "--method", method];
    args.extend_from_slice(extra);
    let out = run(&args, Some(file));
    assert!(
        out.status.success(),
        "{method}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "nothing on stderr on success");
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// The Tennessee capital example (Wikipedia) as BLT: 42 M>N>C>K, 26
/// N>C>K>M, 15 C>K>N>M, 17 K>C>N>M.
const TENNESSEE: &str = "\
# Tennessee capital, Wikipedia
4 1
42 1 2 3 4 0
26 2 3 4 1 0
15 3 4 2 1 0
17 4 3 2 1 0
0
\"Memphis\"
\"Nashville\"
\"Chattanooga\"
\"Knoxville\"
\"Tennessee capital\"
";

fn tennessee_lib() -> (Vec<String>, Vec<(Vec<u16>, u64)>) {
    let o: Vec<String> = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let b = vec![
        (vec![0, 1, 2, 3], 42),
        (vec![1, 2, 3, 0], 26),
        (vec![2, 3, 1, 0], 15),
        (vec![3, 2, 1, 0], 17),
    ];
    (o, b)
}

#[test]
fn tennessee_by_every_method_matches_the_library_and_the_articles() {
    let f = TempBlt::new("tennessee", TENNESSEE);
    let (o, b) = tennessee_lib();
    let seed = [0xab_u8, 0xcd];
    for m in Method::ALL {
        let got = count_json(m.as_str(), &["--seed", "abcd"], &f);
        assert_eq!(got["election"]["method"], m.as_str());
        assert_eq!(got["election"]["seed"], "abcd");
        assert_eq!(got["election"]["title"], "Tennessee capital");
        let input: Vec<(Vec<u16>, u64)> = match m {
            Method::Plurality => b.iter().map(|(r, c)| (vec![r[0]], *c)).collect(),
            _ => b.clone(),
        };
        let lib = tally::count(m, &o, 1, &input, &seed).expect("library count");
        let lib = serde_json::to_value(&lib).expect("to json");
        for key in ["winners", "tally", "rounds"] {
            assert_eq!(got[key], lib[key], "{m}: {key} differs from the library");
        }
    }
    // the published results
    let p = count_json("plurality", &[], &f);
    assert_eq!(p["winners"], json!(["Memphis"]));
    assert_eq!(
        p["tally"]["counts"],
        json!({"Memphis": 42, "Nashville": 26, "Chattanooga": 15, "Knoxville": 17})
    );
    let i = count_json("irv", &[], &f);
    assert_eq!(i["winners"], json!(["Knoxville"]));
    assert_eq!(i["rounds"][0]["eliminated"], json!(["Chattanooga"]));
    assert_eq!(i["rounds"][1]["eliminated"], json!(["Nashville"]));
    assert_eq!(
        i["rounds"][2]["votes"],
        json!({"Memphis": 42, "Knoxville": 58})
    );
    let bo = count_json("borda", &[], &f);
    assert_eq!(bo["winners"], json!(["Nashville"]));
    assert_eq!(
        bo["tally"]["points"],
        json!({"Memphis": 126, "Nashville": 194, "Chattanooga": 173, "Knoxville": 107})
    );
    let s = count_json("schulze", &[], &f);
    assert_eq!(s["winners"], json!(["Nashville"]));
    assert_eq!(s["tally"]["pairwise"]["Nashville"]["Memphis"], 58);
    let st = count_json("stv", &[], &f);
    assert_eq!(st["winners"], json!(["Knoxville"]));
    assert_eq!(st["tally"]["quota"], "51.00000");
    // approval of fully ranked ballots: everyone approved by all 100, a
    // four-way tie decided by lot
    let a = count_json("approval", &[], &f);
    assert_eq!(
        a["tally"]["ties"][0]["tied"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(a["tally"]["ties"][0]["method"], "lot");
    assert_eq!(a["winners"][0], a["tally"]["ties"][0]["chosen"]);
}

#[test]
fn default_seed_is_the_file_hash_and_results_are_reproducible() {
    let f = TempBlt::new("seed", TENNESSEE);
    let a = count_json("approval", &[], &f);
    let b = count_json("approval", &[], &f);
    assert_eq!(a, b);
    assert_eq!(a["election"]["seed_source"], "sha256-of-file");
    assert_eq!(a["election"]["seed"].as_str().map(str::len), Some(64));
    // some other seed picks a different winner of the four-way tie
    let first = a["winners"][0].clone();
    let differs = (0..40).any(|s| {
        let hex = format!("{s:02x}");
        count_json("approval", &["--seed", &hex], &f)["winners"][0] != first
    });
    assert!(differs, "the lot depends on the seed");
}

#[test]
fn food_election_stv_and_seats_override() {
    let f = TempBlt::new(
        "food",
        "5 3\n4 1 0\n2 2 1 0\n8 3 4 0\n4 3 5 0\n1 4 0\n1 5 0\n0\n\"Oranges\"\n\"Pears\"\n\"Chocolate\"\n\"Strawberries\"\n\"Bonbons\"\n\"Food\"\n",
    );
    let v = count_json("stv", &[], &f);
    assert_eq!(
        v["winners"],
        json!(["Chocolate", "Oranges", "Strawberries"])
    );
    assert_eq!(v["tally"]["quota"], "6.00000");
    let one = count_json("stv", &["--seats", "1"], &f);
    assert_eq!(one["election"]["seats"], 1);
    assert_eq!(one["tally"]["quota"], "11.00000");
    assert_eq!(one["winners"].as_array().map(Vec::len), Some(1));
}

#[test]
fn withdrawn_candidates_are_removed() {
    let f = TempBlt::new(
        "withdrawn",
        "3 1\n-2\n5 2 1 0\n4 3 0\n0\n\"A\"\n\"B\"\n\"C\"\n\"W\"\n",
    );
    let v = count_json("irv", &[], &f);
    assert_eq!(v["election"]["withdrawn"], json!(["B"]));
    assert_eq!(v["rounds"][0]["votes"], json!({"A": 5, "C": 4}));
    assert_eq!(v["winners"], json!(["A"]));
}

fn assert_rejected(name: &str, text: &str, line: usize, needle: &str) {
    let f = TempBlt::new(name, text);
    let out = run(&["count", "--method", "stv"], Some(&f));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: exit code; stderr {stderr}"
    );
    assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
    assert!(
        stderr.contains(&format!("line {line}:")),
        "{name}: stderr should name line {line}: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{name}: {stderr:?} should mention {needle:?}"
    );
}

#[test]
fn malformed_blt_files_are_rejected_with_the_line_number() {
    assert_rejected("empty", "", 1, "empty file");
    assert_rejected("header", "4\n0\n", 1, "<candidates> <seats>");
    assert_rejected(
        "no-terminator",
        "2 1\n3 1 2\n0\n\"A\"\n\"B\"\n",
        2,
        "must end with 0",
    );
    assert_rejected(
        "bad-candidate",
        "2 1\n3 1 2 0\n# c\n1 7 0\n0\n\"A\"\n\"B\"\n",
        4,
        "candidate 7 does not exist",
    );
    assert_rejected(
        "duplicate",
        "3 1\n1 1 2 1 0\n0\n\"A\"\n\"B\"\n\"C\"\n",
        2,
        "ranked twice",
    );
    assert_rejected(
        "equal-ranking",
        "3 1\n1 1=2 3 0\n0\n\"A\"\n\"B\"\n\"C\"\n",
        2,
        "equal rankings",
    );
    assert_rejected(
        "missing-names",
        "3 1\n1 1 0\n0\n\"A\"\n\"B\"\n",
        5,
        "expected 3 quoted candidate names",
    );
    assert_rejected("missing-end", "2 1\n1 1 0\n1 2 0\n", 3, "line \"0\"");
    assert_rejected(
        "garbage-weight",
        "2 1\n\n\nx 1 0\n0\n\"A\"\n\"B\"\n",
        4,
        "ballot weight",
    );
}

#[test]
fn other_errors_exit_non_zero_with_a_message() {
    let f = TempBlt::new("errs", TENNESSEE);
    // seats >= candidates
    let out = run(&["count", "--method", "stv", "--seats", "4"], Some(&f));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("number of seats"));
    // IRV is single-winner
    let out = run(&["count", "--method", "irv", "--seats", "2"], Some(&f));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one winner"));
    // bad seed
    let out = run(&["count", "--method", "stv", "--seed", "xyz"], Some(&f));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seed"));
    // unknown method (clap usage error)
    let out = run(&["count", "--method", "meek"], Some(&f));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("meek"));
    // missing file
    let out = run(
        &[
            "count",
            "--method",
            "stv",
            "/nonexistent/ballotbox-none.blt",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ballotbox-none.blt"));
    // no subcommand
    let out = run(&[], None);
    assert_eq!(out.status.code(), Some(2));
}
