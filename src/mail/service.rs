//! The mail rules: what admins see of the outbox, reminders, and the
//! notices that the lifecycle queues.

use super::dto::{Mail, MailFilter, Queued};
use super::model::{MailId, MailKind};
use super::outbox::Outbox;
use super::repo;
use crate::auth::AuthCheck;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::elections::model::{ElectionState, Eligibility};
use crate::elections::{repo as elections_repo, ElectionId};
use crate::error::AppError;
use crate::paging::{Page, PageParams};

/// Lists the outbox, by id (time order), for admins.
pub async fn list(
    pool: &DbPool,
    admin: &AuthCheck,
    filter: MailFilter,
) -> Result<Page<Mail>, AppError> {
    let page = PageParams {
        limit: filter.limit,
        cursor: filter.cursor,
    };
    let limit = page.limit();
    let after = page.after_as::<MailId>()?;
    let admin = admin.clone();
    db::run(pool, move |c| {
        admin.check(c)?;
        let statuses = filter.status.map(|s| s.stored());
        let rows = repo::list(c, filter.election_id, statuses, after, limit + 1)?;
        let items = rows.into_iter().filter_map(Mail::from_row).collect();
        Ok(Page::from_rows(items, limit, |m: &Mail| m.id.to_string()))
    })
    .await
}

/// Queues one reminder to every eligible voter who has not voted, in an
/// open election.
pub async fn remind(
    pool: &DbPool,
    outbox: Option<&Outbox>,
    admin: &AuthCheck,
    id: ElectionId,
) -> Result<Queued, AppError> {
    let (admin, outbox) = (admin.clone(), outbox.cloned());
    db::run(pool, move |c| {
        let actor = admin.check(c)?.id;
        write_tx(c, |c| {
            let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
            if row.state() != ElectionState::Open {
                return Err(crate::elections::lifecycle::wrong_state(
                    &row,
                    "sent reminders (only an open election is)",
                ));
            }
            let Some(outbox) = outbox else {
                return Err(AppError::conflict(
                    "Mail is not configured on this server (mail.smtp_url).",
                ));
            };
            let to = repo::recipients(c, id, row.eligibility() == Eligibility::AllVoters, true)?;
            let queued = outbox.announce(c, MailKind::Reminder, id, &to)?;
            // No count in the log: it would be the turnout at that moment.
            crate::audit::record(
                c,
                Some(actor),
                "mail.reminders_queued",
                Some(id),
                serde_json::json!({}),
            )?;
            Ok(Queued { queued })
        })
    })
    .await
}

/// Inside the transition's transaction: queues the notice of `kind` to every
/// eligible voter when the election asked for it.
pub fn on_transition(
    c: &mut DbConnection,
    outbox: Option<&Outbox>,
    id: ElectionId,
    kind: MailKind,
) -> Result<(), AppError> {
    let Some(outbox) = outbox else {
        return Ok(());
    };
    let (on_open, on_publish) = repo::notify_flags(c, id)?;
    let wanted = match kind {
        MailKind::ElectionOpened => on_open,
        MailKind::ResultsPublished => on_publish,
        _ => false,
    };
    if !wanted {
        return Ok(());
    }
    let row = elections_repo::find_election(c, id)?.ok_or(AppError::NotFound)?;
    let to = repo::recipients(c, id, row.eligibility() == Eligibility::AllVoters, false)?;
    outbox.announce(c, kind, id, &to)?;
    Ok(())
}
