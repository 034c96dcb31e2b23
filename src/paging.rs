//! Cursor paging shared by every list: `?limit=` (default 50, at most 500)
//! and an opaque `?cursor=`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::AppError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PageParams {
    /// Items per page: default 50, at most 500 (larger values are clamped).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// The decoded cursor text, if any.
    pub fn after(&self) -> Result<Option<String>, AppError> {
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) => URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(Some)
                .ok_or_else(bad_cursor),
        }
    }

    /// The decoded cursor as a typed position (an id).
    pub fn after_as<T: std::str::FromStr>(&self) -> Result<Option<T>, AppError> {
        self.after()?
            .map(|c| c.parse::<T>().map_err(|_| bad_cursor()))
            .transpose()
    }
}

fn bad_cursor() -> AppError {
    AppError::invalid("cursor", "is not a cursor from this API")
}

/// Encodes a position as an opaque cursor.
pub fn cursor(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position.as_bytes())
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says
    /// that there is a next page.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, position: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| cursor(&position(r)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}
