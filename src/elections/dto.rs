//! Request bodies of the election endpoints.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::model::{ElectionState, Eligibility, Method, Notify};
use crate::db::types::Time;
use crate::users::UserId;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionInput {
    pub label: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    pub prompt: String,
    #[schema(value_type = String, example = "plurality")]
    pub method: Method,
    /// Winners: 1 unless stv, approval or plurality (default 1).
    pub seats: Option<i32>,
    /// Defaults: 1 (0 for approval).
    pub min_selections: Option<i32>,
    /// Defaults: `seats` for plurality, the number of options otherwise.
    pub max_selections: Option<i32>,
    /// Whether an empty answer is accepted (default false).
    pub allow_blank: Option<bool>,
    /// 2 to 500 options with distinct labels.
    pub options: Vec<OptionInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateElectionRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub eligibility: Eligibility,
    pub opens_at: Option<Time>,
    pub closes_at: Option<Time>,
    pub questions: Vec<QuestionInput>,
    /// Notices by mail to the eligible voters (default: none).
    #[serde(default)]
    pub notify: Option<Notify>,
}

/// Any field of the create body; `questions` replaces them all. A PATCH
/// disarms a schedule: schedule again after editing.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateElectionRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub eligibility: Option<Eligibility>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub opens_at: Option<Option<Time>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closes_at: Option<Option<Time>>,
    pub questions: Option<Vec<QuestionInput>>,
    pub notify: Option<Notify>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ElectionFilter {
    pub state: Option<ElectionState>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Exactly one of the two lists, up to 10,000 entries.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddVotersRequest {
    pub user_ids: Option<Vec<UserId>>,
    pub emails: Option<Vec<String>>,
}
