//! Who is calling, as the database sees them now. A verified access token
//! only names a user and a session; [`AuthCheck::check`] confirms that
//! session and the caller's roles against the database, as the first step of
//! every service function that needs the caller, on the connection that
//! function already holds (one hop to the blocking pool per request). So
//! logout, a password change, disabling a user or removing a role takes
//! effect on the very next request.

use super::repo;
use super::tokens::Claims;
use super::SessionId;
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::users::{Role, UserId};

/// The caller once checked: a live session and its roles now.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub session: SessionId,
    pub roles: Vec<Role>,
}

impl AuthUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A verified token and the roles of which the caller must hold one (none:
/// any signed-in user), still to be checked against the database.
#[derive(Debug, Clone)]
pub struct AuthCheck {
    user: UserId,
    session: SessionId,
    any_of: &'static [Role],
}

impl AuthCheck {
    pub fn new(claims: &Claims, any_of: &'static [Role]) -> Self {
        Self {
            user: claims.sub,
            session: claims.sid,
            any_of,
        }
    }

    /// 401 without a live session, 403 without one of the roles.
    pub fn check(&self, conn: &mut DbConnection) -> Result<AuthUser, AppError> {
        let user = check_session(conn, self.user, self.session)?;
        if !self.any_of.is_empty() && !self.any_of.iter().any(|r| user.has(*r)) {
            return Err(AppError::Forbidden);
        }
        Ok(user)
    }
}

/// The session is live, belongs to the token's user, the user is enabled;
/// roles as they are now.
fn check_session(
    conn: &mut DbConnection,
    uid: UserId,
    sid: SessionId,
) -> Result<AuthUser, AppError> {
    let rows = repo::find_session_facts(conn, sid)?;
    let now = Time::now();
    let Some((owner, revoked, expires, disabled, _)) = rows.first() else {
        return Err(AppError::Unauthorized);
    };
    if *owner != uid || revoked.is_some() || *expires <= now || *disabled {
        return Err(AppError::Unauthorized);
    }
    let mut roles: Vec<Role> = rows
        .iter()
        .filter_map(|r| r.4.as_deref().and_then(Role::parse))
        .collect();
    roles.sort();
    Ok(AuthUser {
        id: uid,
        session: sid,
        roles,
    })
}
