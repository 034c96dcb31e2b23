//! Wire types of the mail endpoints.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{MailId, MailKind, MailRow, MailStatus};
use crate::db::types::Time;
use crate::elections::ElectionId;

/// One message as admins see it: never its body or its token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Mail {
    pub id: MailId,
    pub to: String,
    pub kind: MailKind,
    pub status: MailStatus,
    pub election_id: Option<ElectionId>,
    pub attempts: i32,
    /// The last SMTP answer or connection error, if any.
    pub last_error: Option<String>,
    pub created_at: Time,
    pub sent_at: Option<Time>,
}

impl Mail {
    pub fn from_row(row: MailRow) -> Option<Self> {
        Some(Self {
            id: row.id,
            to: row.to_addr,
            kind: MailKind::parse(&row.kind)?,
            status: MailStatus::from_stored(&row.status),
            election_id: row.election_id,
            attempts: row.attempts,
            last_error: row.last_error,
            created_at: row.created_at,
            sent_at: row.sent_at,
        })
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MailFilter {
    /// Only this election's messages.
    pub election_id: Option<ElectionId>,
    pub status: Option<MailStatus>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// How many reminders were queued.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Queued {
    pub queued: usize,
}
