//! Request and response bodies of the auth endpoints.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::users::User;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The `device_token` of an earlier login from this device: it is then
    /// held only by its own failures, not by the account's lock.
    #[serde(default)]
    pub device_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    pub invitation_token: String,
    /// 12 to 128 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 12 to 128 characters.
    pub new_password: String,
}

/// A new access token (at most 15 minutes) and refresh token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Login only: keep it on this device and send it with later logins
    /// (opaque, long-lived, stored hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    pub user: User,
}
