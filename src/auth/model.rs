//! Session, refresh-token, invitation and throttle rows.

use diesel::prelude::*;

use crate::db::schema::{invitations, login_throttle, refresh_tokens, sessions};
use crate::db::types::Time;
use crate::users::UserId;

crate::uuid_id!(
    /// A login session; every access token carries it as `sid`.
    SessionId
);
crate::uuid_id!(
    /// One refresh token of a rotation family.
    RefreshTokenId
);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: Time,
    pub expires_at: Time,
    pub revoked_at: Option<Time>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: RefreshTokenId,
    pub user_id: UserId,
    pub family_id: SessionId,
    pub token_hash: String,
    pub created_at: Time,
    pub expires_at: Time,
    pub revoked_at: Option<Time>,
    pub replaced_by: Option<RefreshTokenId>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct InvitationRow {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: Time,
    pub expires_at: Time,
    pub used_at: Option<Time>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_throttle)]
pub struct ThrottleRow {
    pub key: String,
    pub count: i32,
    pub window_start: Time,
    pub locked_until: Option<Time>,
}
