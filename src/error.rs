//! The domain error: what services, repos, the CLI and the password hasher
//! return. It knows no HTTP; `http::errors` maps it to a status and an
//! RFC 9457 problem document, once. Internal causes are for the log, never
//! for the client.

use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of an input.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why an operation was refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The input is malformed (not merely invalid: see `Validation`).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No live session behind the caller's token.
    #[error("unauthorized")]
    Unauthorized,
    /// Login failed: one answer whether the email or the password was wrong.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid invitation")]
    InvalidInvitation,
    /// The caller's roles do not allow this.
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data no longer matches what was committed (a `409`).
    #[error("integrity: {0}")]
    Integrity(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database cannot be reached or is too busy.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn conflict(detail: impl Into<String>) -> Self {
        AppError::Conflict(detail.into())
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        AppError::BadRequest(detail.into())
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }
    /// A validation failure of a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }
}

/// A request's input as parsed, or why it could not be. A service takes it
/// and opens it only after confirming the caller, so that who may call is
/// answered before what was sent: 401 and 403 come before 400 and 422.
#[derive(Debug)]
pub struct Input<T>(Result<T, AppError>);

impl<T> Input<T> {
    pub fn new(parsed: Result<T, AppError>) -> Self {
        Input(parsed)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Input<U> {
        Input(self.0.map(f))
    }

    /// The input, or the error that parsing it gave.
    pub fn open(self) -> Result<T, AppError> {
        self.0
    }

    /// The input by reference (for a task that may run twice).
    pub fn get(&self) -> Result<&T, AppError> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

impl<T> From<T> for Input<T> {
    fn from(value: T) -> Self {
        Input(Ok(value))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => AppError::NotFound,
            E::DatabaseError(K::UniqueViolation, _) => {
                AppError::conflict("This conflicts with an existing record.")
            }
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                AppError::Unavailable(info.message().to_string())
            }
            // SQLite reports a lock it waited on past its busy timeout this way.
            E::DatabaseError(_, ref info)
                if info.message().contains("database is locked")
                    || info.message().contains("database is busy") =>
            {
                AppError::Unavailable(info.message().to_string())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        AppError::Validation(field_errors(&errors, ""))
    }
}

/// Flattens validator's nested errors into `field` paths (`questions[0].prompt`).
pub fn field_errors(errors: &validator::ValidationErrors, prefix: &str) -> Vec<FieldError> {
    use validator::ValidationErrorsKind as Kind;
    let mut out = Vec::new();
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for (field, kind) in errors.errors() {
        let path = join(field);
        match kind {
            Kind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("invalid ({})", e.code));
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            Kind::Struct(inner) => out.extend(field_errors(inner, &path)),
            Kind::List(items) => {
                for (i, inner) in items {
                    out.extend(field_errors(inner, &format!("{path}[{i}]")));
                }
            }
        }
    }
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}
