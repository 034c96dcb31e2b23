//! What the tally checks before it counts, and what it signs besides the
//! counts: every stored ballot still hashes to its `ballot_hash`, the
//! ballots still make the Merkle root fixed at close (so none was edited,
//! added or removed behind the service's back), and the election definition
//! the results are about is pinned by its digest.

use serde_json::json;

use super::count::Counter;
use super::repo;
use crate::crypto::merkle::{leaf_hash, RootBuilder};
use crate::crypto::{canonical_json, sha256_hex};
use crate::db::DbConnection;
use crate::elections::definition::Definition;
use crate::elections::model::Election;
use crate::elections::ElectionId;
use crate::error::AppError;

/// Tracking codes named in a failure (the audit event and the problem).
const NAMED: usize = 10;

/// The canonical form of what an election asks, as `election_digest`
/// hashes it: questions and options in position order.
pub fn definition_document(e: &Election) -> serde_json::Value {
    let questions: Vec<serde_json::Value> = e
        .questions
        .iter()
        .map(|q| {
            let mut options = q.options.clone();
            options.sort_by_key(|o| o.position);
            json!({
                "id": q.id,
                "prompt": q.prompt,
                "method": q.method,
                "seats": q.seats,
                "min_selections": q.min_selections,
                "max_selections": q.max_selections,
                "allow_blank": q.allow_blank,
                "options": options.iter().map(|o| json!({
                    "id": o.id, "label": o.label, "position": o.position,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "id": e.id,
        "title": e.title,
        "description": e.description,
        "questions": questions,
    })
}

/// `election_digest`: SHA-256 (hex) of the RFC 8785 form of
/// [`definition_document`].
pub fn election_digest(e: &Election) -> String {
    sha256_hex(&canonical_json(&definition_document(e)))
}

/// Why the stored ballots cannot be tallied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityFailure {
    /// Ballots whose content no longer hashes to their `ballot_hash`, or
    /// cannot be read (the first [`NAMED`]).
    pub bad_ballots: Vec<String>,
    pub bad_count: u64,
    /// The root fixed at close, and what the stored ballots make now.
    pub fixed_root: String,
    pub recomputed_root: String,
    /// The root recorded in the `election.closed` event, when it differs
    /// from the one on the election row.
    pub audited_root: Option<String>,
}

impl IntegrityFailure {
    pub fn details(&self) -> serde_json::Value {
        json!({
            "bad_ballots": self.bad_count,
            "tracking_codes": self.bad_ballots,
            "merkle_root_fixed": self.fixed_root,
            "merkle_root_recomputed": self.recomputed_root,
            "merkle_root_audited": self.audited_root,
        })
    }

    /// A sentence for the problem document (tracking codes are public from
    /// close on, so naming them leaks nothing).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.bad_count > 0 {
            parts.push(format!(
                "{} stored ballot(s) do not match their ballot_hash (tracking code {})",
                self.bad_count,
                self.bad_ballots.join(", ")
            ));
        }
        if self.recomputed_root != self.fixed_root {
            parts.push(format!(
                "the stored ballots make Merkle root {}, not {} fixed at close",
                self.recomputed_root, self.fixed_root
            ));
        }
        if let Some(audited) = &self.audited_root {
            parts.push(format!(
                "the election.closed event recorded Merkle root {audited}, the election row holds {}",
                self.fixed_root
            ));
        }
        format!("The tally was refused: {}.", parts.join("; "))
    }
}

/// Recomputes `ballot_hash` from stored content without building JSON
/// values: the RFC 8785 form of `{"answers":[{"question_id","selections"}],
/// "election_id","salt"}` (no `salt` for a ballot from before v2, whose salt
/// is empty) is written straight into a reused buffer (member names
/// in sorted order, answers sorted by question id; ids are hyphenated
/// lower-case UUIDs, which need no escaping). A million ballots cost well
/// under a second this way. Must agree with
/// [`crate::ballots::rules::ballot_hash`]; a test
/// holds them together.
pub struct ContentHasher<'a> {
    def: &'a Definition,
    /// Question indexes in the order of their ids' text.
    by_id: Vec<usize>,
    /// Each question's id and option ids, as text.
    ids: Vec<String>,
    options: Vec<Vec<String>>,
    election: String,
    buf: Vec<u8>,
}

impl<'a> ContentHasher<'a> {
    pub fn new(def: &'a Definition) -> Self {
        let mut by_id: Vec<usize> = (0..def.questions.len()).collect();
        by_id.sort_by_key(|&i| def.questions[i].id.to_string());
        Self {
            def,
            by_id,
            ids: def.questions.iter().map(|q| q.id.to_string()).collect(),
            options: def
                .questions
                .iter()
                .map(|q| q.options.iter().map(|o| o.to_string()).collect())
                .collect(),
            election: def.election_id.to_string(),
            buf: Vec::with_capacity(1024),
        }
    }

    /// The hash of stored content under its salt, or None when the content
    /// cannot be decoded.
    pub fn hash(&mut self, content: &str, salt: &str) -> Option<String> {
        let n = self.def.questions.len();
        let parts: Vec<&str> = if n > 0 {
            content.split(';').collect()
        } else {
            Vec::new()
        };
        if parts.len() != n {
            return None;
        }
        let buf = &mut self.buf;
        buf.clear();
        buf.extend_from_slice(b"{\"answers\":[");
        for (k, &qi) in self.by_id.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"question_id\":\"");
            buf.extend_from_slice(self.ids[qi].as_bytes());
            buf.extend_from_slice(b"\",\"selections\":[");
            if !parts[qi].is_empty() {
                for (j, p) in parts[qi].split(',').enumerate() {
                    let option = self.options[qi].get(p.parse::<usize>().ok()?)?;
                    if j > 0 {
                        buf.push(b',');
                    }
                    buf.push(b'"');
                    buf.extend_from_slice(option.as_bytes());
                    buf.push(b'"');
                }
            }
            buf.extend_from_slice(b"]}");
        }
        buf.extend_from_slice(b"],\"election_id\":\"");
        buf.extend_from_slice(self.election.as_bytes());
        if !salt.is_empty() {
            // Server-drawn hex: nothing to escape.
            buf.extend_from_slice(b"\",\"salt\":\"");
            buf.extend_from_slice(salt.as_bytes());
        }
        buf.extend_from_slice(b"\"}");
        Some(sha256_hex(buf))
    }
}

/// Reads every ballot once, in tracking-code order: checks its hash,
/// rebuilds the Merkle root and feeds the counter. `Ok(Err(_))` when the
/// ballots fail the check (nothing may then be counted or signed).
pub fn check_and_count(
    conn: &mut DbConnection,
    id: ElectionId,
    def: &Definition,
    fixed_root: &str,
    counter: &mut Counter<'_>,
) -> Result<Result<(), IntegrityFailure>, AppError> {
    let mut root = RootBuilder::new();
    let mut hasher = ContentHasher::new(def);
    let mut bad = Vec::new();
    let mut bad_count = 0u64;
    repo::for_each_ballot(conn, id, |b| -> Result<(), AppError> {
        let matches = hasher
            .hash(&b.content, &b.salt)
            .is_some_and(|h| h == b.ballot_hash);
        // Unreadable content is not counted; the tally is refused anyway.
        if !matches || counter.add_content(&b.content).is_err() {
            bad_count += 1;
            if bad.len() < NAMED {
                bad.push(b.tracking_code.clone());
            }
        }
        root.push(leaf_hash(&b.tracking_code, &b.ballot_hash));
        Ok(())
    })?;
    let recomputed_root = hex::encode(root.root());
    let audited_root = crate::audit::repo::find_last(conn, id, "election.closed")?
        .and_then(|row| serde_json::from_str::<serde_json::Value>(&row.details).ok())
        .and_then(|d| d["merkle_root"].as_str().map(str::to_string))
        .filter(|r| r != fixed_root);
    if bad_count == 0 && recomputed_root == fixed_root && audited_root.is_none() {
        return Ok(Ok(()));
    }
    Ok(Err(IntegrityFailure {
        bad_ballots: bad,
        bad_count,
        fixed_root: fixed_root.to_string(),
        recomputed_root,
        audited_root,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ballots::model::Answer;
    use crate::ballots::rules;
    use crate::elections::definition::QuestionDef;
    use crate::elections::{ElectionId, Method, OptionId, QuestionId};

    #[test]
    fn the_fast_hash_is_the_ballot_hash_of_api_md() {
        let q = |method, n: usize, blank| QuestionDef {
            id: QuestionId::new(),
            prompt: "Q \"quoted\"".into(),
            method,
            seats: 1,
            min_selections: 1,
            max_selections: n as i32,
            allow_blank: blank,
            options: (0..n).map(|_| OptionId::new()).collect(),
            labels: (0..n).map(|i| format!("L{i}")).collect(),
        };
        let def = Definition {
            election_id: ElectionId::new(),
            questions: vec![
                q(Method::Plurality, 3, false),
                q(Method::Irv, 5, true),
                q(Method::Approval, 4, true),
            ],
        };
        let mut hasher = ContentHasher::new(&def);
        for content in ["0;4,2,0;1,3", "2;;", "1;3;0,1,2,3", "0;0,1,2,3,4;2"] {
            let answers: Vec<Answer> = rules::decode(&def, content).unwrap();
            for salt in [String::new(), rules::salt()] {
                assert_eq!(
                    hasher.hash(content, &salt).as_deref(),
                    Some(rules::ballot_hash(def.election_id, &answers, &salt).as_str()),
                    "{content} {salt}"
                );
            }
        }
        for bad in ["0;1", "9;1;1", "x;1;1", "0;1;1;1"] {
            assert_eq!(hasher.hash(bad, ""), None, "{bad}");
        }
    }
}
