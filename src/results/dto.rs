//! Query parameters of the export.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::elections::QuestionId;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The whole tally bundle, for `ballotbox verify`.
    #[default]
    Json,
    /// One row per ballot, one column per question.
    Csv,
    /// One ranked question as a BLT ballot file, for `ballotbox count`.
    Blt,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Blt => "blt",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (default), `csv` or `blt`.
    #[param(value_type = Option<String>, example = "json")]
    pub format: Option<ExportFormat>,
    /// The ranked question to export as BLT (required with `format=blt`,
    /// refused otherwise).
    #[param(value_type = Option<String>, format = Uuid)]
    pub question: Option<QuestionId>,
}
