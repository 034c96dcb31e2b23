//! Outbox rows and the kinds and states of a message.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::mail_outbox;
use crate::db::types::Time;
use crate::elections::ElectionId;
use crate::users::UserId;

crate::uuid_id!(
    /// A queued message's id (also its `Message-ID`'s left part).
    MailId
);

/// What a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Invitation,
    Reminder,
    ElectionOpened,
    ResultsPublished,
}

impl MailKind {
    pub const ALL: [MailKind; 4] = [
        MailKind::Invitation,
        MailKind::Reminder,
        MailKind::ElectionOpened,
        MailKind::ResultsPublished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::Reminder => "reminder",
            MailKind::ElectionOpened => "election_opened",
            MailKind::ResultsPublished => "results_published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a message stands, as admins see it (a claimed message in flight is
/// still `queued`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MailStatus {
    Queued,
    Sent,
    Failed,
    Bounced,
}

impl MailStatus {
    /// The stored states this API state covers.
    pub fn stored(self) -> &'static [&'static str] {
        match self {
            MailStatus::Queued => &[QUEUED, SENDING],
            MailStatus::Sent => &[SENT],
            MailStatus::Failed => &[FAILED],
            MailStatus::Bounced => &[BOUNCED],
        }
    }

    pub fn from_stored(s: &str) -> Self {
        match s {
            SENT => MailStatus::Sent,
            FAILED => MailStatus::Failed,
            BOUNCED => MailStatus::Bounced,
            _ => MailStatus::Queued,
        }
    }
}

pub const QUEUED: &str = "queued";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
pub const BOUNCED: &str = "bounced";

/// A `mail_outbox` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct MailRow {
    pub id: MailId,
    pub kind: String,
    pub to_addr: String,
    pub user_id: Option<UserId>,
    pub election_id: Option<ElectionId>,
    pub locale: String,
    /// The invitation token, sealed (see `outbox::Sealer`).
    pub secret_sealed: Option<Vec<u8>>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: Time,
    pub claimed_until: Option<Time>,
    pub created_at: Time,
    pub sent_at: Option<Time>,
}
