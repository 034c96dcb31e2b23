//! Casting a ballot, and what voters and auditors may learn about it.

use std::sync::Arc;

use serde_json::json;

use super::board::BoardCache;
use super::model::{
    Answer, BallotId, BallotRow, BoardEntry, BoardPage, MyBallot, ParticipationRow, Receipt,
    ReceiptCheck, SignedReceipt, Turnout,
};
use super::seal::{Remembered, SealKey, MAX_KEY_LEN};
use super::{repo, rules};
use crate::auth::AuthCheck;
use crate::crypto::Keys;
use crate::crypto::{canonical_json, sha256_hex};
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::elections::definition::{self, Definition, DefinitionCache};
use crate::elections::visibility::{can_see, Viewer};
use crate::elections::{
    repo as elections_repo, ElectionId, ElectionRow, ElectionState, Eligibility,
};
use crate::error::{AppError, Input};
use crate::paging::{cursor, PageParams};
use crate::users::{Role, UserId};

/// The election's definition, from the cache once it left `draft`.
fn definition_on(
    conn: &mut DbConnection,
    definitions: &DefinitionCache,
    id: ElectionId,
) -> Result<Arc<Definition>, AppError> {
    if let Some(def) = definitions.get(id) {
        return Ok(def);
    }
    let row = elections_repo::find_election(conn, id)?.ok_or(AppError::NotFound)?;
    let def = definition::load(conn, id)?;
    Ok(if row.state() == ElectionState::Draft {
        Arc::new(def)
    } else {
        definitions.put(def)
    })
}

/// Whether a voter may cast in this election (the roll, or all voters).
fn eligible(conn: &mut DbConnection, row: &ElectionRow, voter: UserId) -> Result<bool, AppError> {
    Ok(match row.eligibility() {
        Eligibility::AllVoters => true,
        Eligibility::Roll => elections_repo::is_on_roll(conn, row.id, voter)?,
    })
}

/// Casts a ballot. Everything runs in one task on the blocking pool with one
/// pooled connection: the session check (roles from the database), then one
/// transaction that holds the election row (FOR SHARE on PostgreSQL, the
/// write lock on SQLite) and checks, in the contract's order, that the
/// caller may see the election (404), is eligible (403), has not voted and
/// the election is open and before `closes_at` (409); only then reads the
/// body (400, 422), signs the receipt and writes the participation and the
/// ballot.
pub async fn cast(
    pool: &DbPool,
    casting: &Casting,
    voter: &AuthCheck,
    election: ElectionId,
    answers: Input<Vec<Answer>>,
    idempotency_key: Option<String>,
) -> Result<Receipt, AppError> {
    let request = Arc::new(CastRequest {
        voter: voter.clone(),
        election,
        answers,
        idempotency_key,
    });
    // One retry: two simultaneous requests under one key race to insert;
    // the loser then finds the winner's participation and its receipt.
    for attempt in 0..2 {
        let (casting, req) = (casting.clone(), request.clone());
        match db::run(pool, move |c| cast_on(c, &casting, &req)).await {
            Err(AppError::Conflict(_)) if attempt == 0 && request.idempotency_key.is_some() => {
                continue
            }
            result => return result,
        }
    }
    Err(already_voted())
}

/// What casting needs besides the pool: the keys that sign receipts and
/// seal idempotency records, and the definitions of elections past draft.
#[derive(Clone)]
pub struct Casting {
    pub keys: Arc<Keys>,
    pub definitions: Arc<DefinitionCache>,
}

struct CastRequest {
    voter: AuthCheck,
    election: ElectionId,
    answers: Input<Vec<Answer>>,
    idempotency_key: Option<String>,
}

fn cast_on(c: &mut DbConnection, state: &Casting, req: &CastRequest) -> Result<Receipt, AppError> {
    let voter = req.voter.check(c)?;
    let (election, voter_id) = (req.election, voter.id);
    let is_staff = voter.has(Role::Admin) || voter.has(Role::Auditor);
    // Everything after the caller check runs in the one write transaction,
    // in the contract's order: who may cast here (404, 403), whether the
    // election takes this ballot (409), and only then what was sent (400,
    // 422). A caller who may not vote learns nothing about the questions.
    write_tx(c, |c| {
        let row =
            elections_repo::find_election_for_share(c, election)?.ok_or(AppError::NotFound)?;
        // Voters cannot see drafts: the id is not theirs to probe.
        if row.state() == ElectionState::Draft && !is_staff {
            return Err(AppError::NotFound);
        }
        if !eligible(c, &row, voter_id)? {
            return Err(AppError::Forbidden);
        }
        if req
            .idempotency_key
            .as_ref()
            .is_some_and(|k| k.is_empty() || k.len() > MAX_KEY_LEN)
        {
            return Err(AppError::bad_request(
                "Idempotency-Key must be 1 to 255 characters.",
            ));
        }
        let seal = match req.idempotency_key.as_deref() {
            Some(k) => Some(
                SealKey::derive(&state.keys.jwt.secret, election, voter_id, k)
                    .ok_or_else(|| AppError::internal("cannot derive the idempotency key"))?,
            ),
            None => None,
        };
        // Already voted: a keyed retry of the cast that went in gets the
        // first receipt again; anything else is 409 before the body is read.
        if let Some(p) = repo::find_participation(c, election, voter_id)? {
            return match (&seal, p.idempotency_key_hash, p.idempotency_sealed) {
                (Some(seal), Some(h), Some(sealed)) if h == seal.lookup => {
                    let remembered = seal
                        .open(&sealed)
                        .ok_or_else(|| AppError::internal("unreadable seal"))?;
                    if remembered.request_hash != request_hash_of(req.answers.get()?) {
                        return Err(AppError::invalid(
                            "Idempotency-Key",
                            "was used with a different request body",
                        ));
                    }
                    Ok(remembered.receipt)
                }
                _ => Err(already_voted()),
            };
        }
        if row.state() != ElectionState::Open {
            return Err(AppError::conflict(format!(
                "The election is {}; it does not accept ballots.",
                row.state
            )));
        }
        if row.closes_at.is_some_and(|c| c <= Time::now()) {
            return Err(AppError::conflict(
                "The election closed; the ballot arrived after closes_at.",
            ));
        }
        let answers = req.answers.get()?;
        let def = definition_on(c, &state.definitions, election)?;
        let valid = rules::validate(&def, answers)?;
        let now = Time::now();
        let cast_at = now.to_rfc3339();
        let tracking_code = rules::tracking_code();
        let signed = SignedReceipt {
            election_id: election,
            tracking_code: &tracking_code,
            ballot_hash: &valid.ballot_hash,
            cast_at: &cast_at,
        };
        let receipt = Receipt {
            election_id: election,
            signature: state.keys.signer.sign_b64(&canonical_json(&signed)),
            tracking_code: tracking_code.clone(),
            ballot_hash: valid.ballot_hash.clone(),
            cast_at: cast_at.clone(),
            kid: state.keys.signer.kid.clone(),
        };
        let sealed = match &seal {
            Some(k) => Some(
                k.seal(&Remembered {
                    request_hash: request_hash_of(answers),
                    receipt: receipt.clone(),
                })
                .ok_or_else(|| AppError::internal("cannot seal the receipt"))?,
            ),
            None => None,
        };
        repo::insert_participation(
            c,
            &ParticipationRow {
                election_id: election,
                voter_id,
                cast_at: now,
                idempotency_key_hash: seal.as_ref().map(|s| s.lookup.clone()),
                idempotency_sealed: sealed,
            },
        )
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => already_voted(),
            other => other.into(),
        })?;
        repo::insert_ballot(
            c,
            &BallotRow {
                id: BallotId(uuid::Uuid::new_v4()),
                election_id: election,
                tracking_code,
                ballot_hash: receipt.ballot_hash.clone(),
                content: valid.content,
                salt: valid.salt,
            },
        )?;
        Ok(receipt)
    })
}

/// What a keyed cast remembers of its request, to tell a retry from a
/// different ballot sent under the same key.
fn request_hash_of(answers: &[Answer]) -> String {
    sha256_hex(&canonical_json(&json!({ "answers": answers })))
}

fn already_voted() -> AppError {
    AppError::conflict("You have already voted in this election.")
}

/// Whether the caller voted (never what).
pub async fn my_ballot(
    pool: &DbPool,
    user: &AuthCheck,
    id: ElectionId,
) -> Result<MyBallot, AppError> {
    let user = user.clone();
    db::run(pool, move |c| {
        let me = user.check(c)?;
        let (viewer, uid) = (Viewer::of(&me)?, me.id);
        let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        if !can_see(c, viewer, &row)? {
            return Err(AppError::NotFound);
        }
        let p = repo::find_participation(c, id, uid)?;
        Ok(MyBallot {
            has_voted: p.is_some(),
            cast_at: p.map(|p| p.cast_at),
        })
    })
    .await
}

/// Eligible, voted and ballots; voters only once results are published.
pub async fn turnout(pool: &DbPool, user: &AuthCheck, id: ElectionId) -> Result<Turnout, AppError> {
    let user = user.clone();
    db::run(pool, move |c| {
        let viewer = Viewer::of(&user.check(c)?)?;
        let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        if !can_see(c, viewer, &row)? {
            return Err(AppError::NotFound);
        }
        if matches!(viewer, Viewer::Voter(_)) && row.state() != ElectionState::Published {
            return Err(AppError::NotFound);
        }
        let eligible = match row.eligibility() {
            Eligibility::Roll => elections_repo::roll_size(c, id)?,
            Eligibility::AllVoters => crate::users::repo::count_with_role(c, Role::Voter)?,
        };
        let (voted, ballots) = repo::count_voted_and_ballots(c, id)?;
        Ok(Turnout {
            eligible,
            voted,
            ballots,
        })
    })
    .await
}

/// Whether the board is out: from `closed` on. While voting runs it is
/// withheld whole, so that nobody watches ballots arrive one by one and
/// pairs each new tracking code with the voter whose `has_voted` flipped.
fn board_is_published(row: &ElectionRow) -> bool {
    matches!(
        row.state(),
        ElectionState::Closed | ElectionState::Tallied | ElectionState::Published
    )
}

/// A page of the board, from `closed` on (409 before).
pub async fn board(
    pool: &DbPool,
    user: &AuthCheck,
    id: ElectionId,
    page: PageParams,
) -> Result<BoardPage, AppError> {
    let limit = page.limit();
    let after = page.after()?;
    let user = user.clone();
    db::run(pool, move |c| {
        let viewer = Viewer::of(&user.check(c)?)?;
        let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        if !can_see(c, viewer, &row)? {
            return Err(AppError::NotFound);
        }
        if !board_is_published(&row) {
            return Err(AppError::conflict(format!(
                "The election is {}; the board is published whole when voting ends.",
                row.state
            )));
        }
        let mut rows = repo::ballot_page(c, id, after.as_deref(), limit + 1)?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| cursor(&r.tracking_code))
        } else {
            None
        };
        Ok(BoardPage {
            items: rows
                .into_iter()
                .map(|b| BoardEntry {
                    tracking_code: b.tracking_code,
                    ballot_hash: b.ballot_hash,
                })
                .collect(),
            next_cursor,
            merkle_root: row.merkle_root,
        })
    })
    .await
}

/// Whether a tracking code is on the board; once the election closed, with
/// the ballot's salt and its inclusion proof. While it is open the answer
/// carries only the salted hash, which tells nothing of the ballot.
pub async fn check_receipt(
    pool: &DbPool,
    cache: Arc<BoardCache>,
    user: &AuthCheck,
    id: ElectionId,
    code: String,
) -> Result<ReceiptCheck, AppError> {
    let user = user.clone();
    db::run(pool, move |c| {
        let viewer = Viewer::of(&user.check(c)?)?;
        let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        if !can_see(c, viewer, &row)? {
            return Err(AppError::NotFound);
        }
        let (hash, salt) = repo::find_ballot_hash(c, id, &code)?.ok_or(AppError::NotFound)?;
        let mut check = ReceiptCheck {
            included: true,
            ballot_hash: hash,
            salt: None,
            leaf_index: None,
            tree_size: None,
            inclusion_proof: None,
            merkle_root: None,
        };
        if let (true, Some(root)) = (board_is_published(&row), row.merkle_root) {
            check.salt = Some(salt);
            let board = cache.get_or_load(c, id)?;
            let index = board
                .codes
                .binary_search(&code)
                .map_err(|_| AppError::NotFound)?;
            let proof = board.tree.proof(index).ok_or(AppError::NotFound)?;
            check.leaf_index = Some(index as u64);
            check.tree_size = Some(board.codes.len() as u64);
            check.inclusion_proof = Some(proof.iter().map(hex::encode).collect());
            check.merkle_root = Some(root);
        }
        Ok(check)
    })
    .await
}
