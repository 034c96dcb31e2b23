//! Request and response bodies of the user administration endpoints.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::model::{Role, User};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[validate(
        email(message = "must be a valid email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    pub email: String,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub display_name: String,
    #[validate(length(min = 1, message = "must name at least one role"))]
    pub roles: Vec<Role>,
    /// Optional: without it the user gets a single-use invitation token.
    #[validate(length(min = 12, max = 128, message = "must be 12 to 128 characters long"))]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    pub user: User,
    /// Present when no password was given: send it to the user to activate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRow {
    pub email: String,
    pub display_name: String,
    /// Defaults to `["voter"]`.
    pub roles: Option<Vec<Role>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Up to 10,000 rows, imported in one transaction.
    pub users: Vec<ImportRow>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportedUser {
    pub user: User,
    pub invitation_token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportError {
    pub index: usize,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    pub created: Vec<ImportedUser>,
    /// Emails that already had an account (left unchanged).
    pub existing: Vec<String>,
    pub errors: Vec<ImportError>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub display_name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    /// Only users holding this role.
    pub role: Option<Role>,
    /// Case-insensitive substring of the email or display name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}
