//! Voter rolls: who may vote in a roll election. Voters join in draft or
//! while open, and leave only in draft.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::dto::AddVotersRequest;
use super::lifecycle::Change;
use super::model::{ElectionId, ElectionState, RollEntry, RollReport, RollRow};
use super::repo;
use crate::auth::AuthCheck;
use crate::db::types::Time;
use crate::db::{self, DbPool};
use crate::error::{AppError, Input};
use crate::paging::{Page, PageParams};
use crate::users::{repo as users_repo, User, UserId};

/// Entries one roll change may carry.
pub const MAX_ROLL_CHANGE: usize = 10_000;

/// Whether a roll change names voters by email (else by id); at most
/// [`MAX_ROLL_CHANGE`] of them.
fn by_email(req: &AddVotersRequest) -> Result<bool, AppError> {
    let by_email = match (&req.user_ids, &req.emails) {
        (Some(_), None) => false,
        (None, Some(_)) => true,
        _ => {
            return Err(AppError::invalid(
                "user_ids",
                "give exactly one of user_ids or emails",
            ))
        }
    };
    let n = req.user_ids.as_ref().map_or(0, Vec::len) + req.emails.as_ref().map_or(0, Vec::len);
    if n > MAX_ROLL_CHANGE {
        return Err(AppError::invalid(
            if by_email { "emails" } else { "user_ids" },
            "at most 10,000 per request",
        ));
    }
    Ok(by_email)
}

/// Adds voters to a roll (draft or open), by ids or emails, in one transaction.
pub async fn add_voters(
    pool: &DbPool,
    admin: &AuthCheck,
    id: ElectionId,
    req: Input<AddVotersRequest>,
) -> Result<RollReport, AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        let req = req.open()?;
        let by_email = by_email(&req)?;
        let change = Change {
            id,
            actor,
            allowed: &[ElectionState::Draft, ElectionState::Open],
            action: "given new voters",
            event: "roll.added",
        };
        change.apply(c, |c, _| {
            let mut report = RollReport {
                added: 0,
                already: 0,
                unknown: Vec::new(),
                not_voters: Vec::new(),
            };
            // (as given, resolved id)
            let mut resolved: Vec<(String, UserId)> = Vec::new();
            if by_email {
                for email in req.emails.iter().flatten() {
                    let norm = crate::users::model::normalize_email(email);
                    match users_repo::find_by_email(c, &norm)? {
                        Some(u) => resolved.push((email.clone(), u.id)),
                        None => report.unknown.push(email.clone()),
                    }
                }
            } else {
                for uid in req.user_ids.iter().flatten() {
                    match users_repo::find_by_id(c, *uid)? {
                        Some(u) => resolved.push((uid.to_string(), u.id)),
                        None => report.unknown.push(uid.to_string()),
                    }
                }
            }
            let ids: Vec<UserId> = resolved.iter().map(|r| r.1).collect();
            let voters: HashSet<UserId> = repo::voters_among(c, &ids)?.into_iter().collect();
            let mut present: HashSet<UserId> =
                repo::on_roll_among(c, id, &ids)?.into_iter().collect();
            let now = Time::now();
            let mut added_ids = Vec::new();
            for (given, uid) in resolved {
                if !voters.contains(&uid) {
                    report.not_voters.push(given);
                } else if !present.insert(uid) {
                    report.already += 1;
                } else {
                    repo::insert_roll(
                        c,
                        &RollRow {
                            election_id: id,
                            user_id: uid,
                            added_at: now,
                        },
                    )?;
                    added_ids.push(uid);
                    report.added += 1;
                }
            }
            let details = (report.added > 0).then(|| json!({"user_ids": added_ids}));
            Ok((report, details))
        })
    })
    .await
}

/// Removes a voter from a draft's roll.
pub async fn remove_voter(
    pool: &DbPool,
    admin: &AuthCheck,
    id: ElectionId,
    user: UserId,
) -> Result<(), AppError> {
    let admin = admin.clone();
    db::run(pool, move |c| {
        let change = Change {
            id,
            actor: admin.check(c)?.id,
            allowed: &[ElectionState::Draft],
            action: "changed (voters leave a roll only in draft)",
            event: "roll.removed",
        };
        change.apply(c, |c, _| {
            if repo::delete_roll(c, id, user)? == 0 {
                return Err(AppError::NotFound);
            }
            Ok(((), Some(json!({"user_id": user}))))
        })
    })
    .await
}

/// Lists the roll with cursor paging.
pub async fn list_roll(
    pool: &DbPool,
    staff: &AuthCheck,
    id: ElectionId,
    page: PageParams,
) -> Result<Page<RollEntry>, AppError> {
    let limit = page.limit();
    let after = page.after_as::<UserId>()?;
    let staff = staff.clone();
    db::run(pool, move |c| {
        staff.check(c)?;
        repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
        let rows = repo::list_roll(c, id, after, limit + 1)?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.0).collect();
        let mut users: HashMap<UserId, User> = crate::users::service::load_users(c, &ids)?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let items = rows
            .into_iter()
            .filter_map(|(uid, has_voted)| {
                users.remove(&uid).map(|user| RollEntry { user, has_voted })
            })
            .collect();
        Ok(Page::from_rows(items, limit, |e: &RollEntry| {
            e.user.id.to_string()
        }))
    })
    .await
}
