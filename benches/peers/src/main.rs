//! `tally-peers PEER FILE.blt`: reads a BLT file of ranked ballots (the
//! plain `weight c1 c2 ... 0` lines that scripts/bench writes), counts it
//! by instant-runoff with one peer crate, and prints the winner. The time
//! and peak memory are measured from outside (`/usr/bin/time`), as for
//! `ballotbox count`, so both sides pay for reading the file.
//!
//! PEER: `ranked_voting` (0.3.0) or `tallystick` (0.4.3, irv).

use std::io::BufRead;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(peer), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: tally-peers ranked_voting|tallystick FILE.blt");
        return ExitCode::from(2);
    };
    let (names, ballots) = match read(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tally-peers: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let winner = match peer.as_str() {
        "ranked_voting" => ranked_voting_winner(&names, &ballots),
        "tallystick" => tallystick_winner(&names, &ballots),
        _ => Err(format!("unknown peer {peer}")),
    };
    match winner {
        Ok(w) => {
            println!("{w}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tally-peers: {e}");
            ExitCode::from(1)
        }
    }
}

type Ballots = Vec<(u32, Vec<usize>)>;

/// The candidate names and each ballot line (weight, 0-based ranking).
fn read(path: &str) -> Result<(Vec<String>, Ballots), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut lines = std::io::BufReader::new(file).lines();
    let mut next = || -> Result<String, String> {
        lines
            .next()
            .ok_or("unexpected end of file")?
            .map_err(|e| e.to_string())
    };
    let header = next()?;
    let n: usize = header
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .ok_or("bad header")?;
    let mut ballots = Vec::new();
    loop {
        let line = next()?;
        let nums: Vec<usize> = line
            .split_whitespace()
            .map(|t| t.parse().map_err(|_| format!("bad token {t}")))
            .collect::<Result<_, _>>()?;
        match nums.split_first() {
            Some((0, _)) => break,
            Some((&w, rest)) => {
                let ranking = rest.iter().take_while(|&&c| c != 0).map(|c| c - 1).collect();
                ballots.push((u32::try_from(w).map_err(|e| e.to_string())?, ranking));
            }
            None => continue,
        }
    }
    let names = (0..n)
        .map(|_| next().map(|l| l.trim().trim_matches('"').to_string()))
        .collect::<Result<_, _>>()?;
    Ok((names, ballots))
}

fn ranked_voting_winner(names: &[String], ballots: &Ballots) -> Result<String, String> {
    use ranked_voting::{Builder, VoteRules};
    let mut b = Builder::new(&VoteRules::default())
        .and_then(|b| b.candidates(names))
        .map_err(|e| format!("{e:?}"))?;
    for (w, ranking) in ballots {
        let choices: Vec<Vec<String>> = ranking.iter().map(|&c| vec![names[c].clone()]).collect();
        b.add_vote(&choices, *w).map_err(|e| format!("{e:?}"))?;
    }
    let result = ranked_voting::run_election(&b).map_err(|e| format!("{e:?}"))?;
    Ok(result.winners.unwrap_or_default().join(","))
}

fn tallystick_winner(names: &[String], ballots: &Ballots) -> Result<String, String> {
    use tallystick::irv::Tally;
    let mut t = Tally::<&str, u64>::with_candidates(
        tallystick::Transfer::Meek,
        names.iter().map(String::as_str).collect(),
    );
    for (w, ranking) in ballots {
        t.add_weighted(ranking.iter().map(|&c| names[c].as_str()).collect(), u64::from(*w));
    }
    Ok(t.tally_winners()
        .into_vec()
        .into_iter()
        .map(|c| c.candidate.to_string())
        .collect::<Vec<_>>()
        .join(","))
}
