//! Validation of an election definition: every rule across fields, reported
//! as one `422` with one error per field path (`questions[0].seats`).

use std::collections::HashMap;

use super::definition::QuestionDef;
use super::dto::{CreateElectionRequest, QuestionInput};
use super::model::{Eligibility, Method, OptionId, QuestionId};
use crate::db::types::Time;
use crate::error::{AppError, FieldError};
use crate::text::{has_nul, NUL_MESSAGE};

pub const MAX_QUESTIONS: usize = 100;
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 500;

/// An election definition that passed validation.
#[derive(Debug, Clone)]
pub struct ElectionSpec {
    pub title: String,
    pub description: String,
    pub eligibility: Eligibility,
    pub opens_at: Option<Time>,
    pub closes_at: Option<Time>,
    /// With fresh ids, defaults filled in.
    pub questions: Vec<QuestionDef>,
}

/// Whether the method elects several winners when asked.
pub fn takes_seats(method: Method) -> bool {
    matches!(method, Method::Stv | Method::Approval | Method::Plurality)
}

/// Validates a whole definition at time `now`.
pub fn validate(req: &CreateElectionRequest, now: Time) -> Result<ElectionSpec, AppError> {
    let mut errors = Vec::new();
    let mut err = |field: String, message: &str| errors.push(FieldError::new(field, message));
    let title = req.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        err("title".into(), "must be 1 to 200 characters");
    } else if has_nul(&title) {
        err("title".into(), NUL_MESSAGE);
    }
    if req.description.chars().count() > 10_000 {
        err("description".into(), "must be at most 10,000 characters");
    } else if has_nul(&req.description) {
        err("description".into(), NUL_MESSAGE);
    }
    if let (Some(o), Some(c)) = (req.opens_at, req.closes_at) {
        if c <= o {
            err("closes_at".into(), "must be after opens_at");
        }
    }
    if req.closes_at.is_some_and(|c| c <= now) {
        err("closes_at".into(), "must be in the future");
    }
    if req.questions.is_empty() {
        err("questions".into(), "must hold at least one question");
    }
    if req.questions.len() > MAX_QUESTIONS {
        err("questions".into(), "must hold at most 100 questions");
    }
    let mut questions = Vec::new();
    for (i, q) in req.questions.iter().enumerate() {
        let (spec, problems) = question(i, q);
        errors.extend(problems);
        questions.push(spec);
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        errors.dedup();
        return Err(AppError::Validation(errors));
    }
    Ok(ElectionSpec {
        title,
        description: req.description.clone(),
        eligibility: req.eligibility,
        opens_at: req.opens_at,
        closes_at: req.closes_at,
        questions,
    })
}

fn question(i: usize, q: &QuestionInput) -> (QuestionDef, Vec<FieldError>) {
    let mut errors = Vec::new();
    let path = |f: &str| format!("questions[{i}].{f}");
    let prompt = q.prompt.trim().to_string();
    if prompt.is_empty() || prompt.chars().count() > 1000 {
        errors.push(FieldError::new(
            path("prompt"),
            "must be 1 to 1000 characters",
        ));
    } else if has_nul(&prompt) {
        errors.push(FieldError::new(path("prompt"), NUL_MESSAGE));
    }
    let n = q.options.len();
    if n < MIN_OPTIONS {
        errors.push(FieldError::new(
            path("options"),
            "must hold at least 2 options",
        ));
    }
    if n > MAX_OPTIONS {
        errors.push(FieldError::new(
            path("options"),
            "must hold at most 500 options",
        ));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let labels: Vec<String> = q
        .options
        .iter()
        .map(|o| o.label.trim().to_string())
        .collect();
    for (j, label) in labels.iter().enumerate() {
        let field = path(&format!("options[{j}].label"));
        if label.is_empty() || label.chars().count() > 500 {
            errors.push(FieldError::new(field, "must be 1 to 500 characters"));
        } else if has_nul(label) {
            errors.push(FieldError::new(field, NUL_MESSAGE));
        } else if let Some(first) = seen.insert(label.to_lowercase(), j) {
            errors.push(FieldError::new(
                field,
                format!("duplicates the label of option {first}"),
            ));
        }
    }
    let seats = q.seats.unwrap_or(1);
    if seats < 1 {
        errors.push(FieldError::new(path("seats"), "must be at least 1"));
    } else if seats > 1 && !takes_seats(q.method) {
        errors.push(FieldError::new(
            path("seats"),
            format!("{} elects one winner: seats must be 1", q.method),
        ));
    } else if n >= MIN_OPTIONS && seats as usize >= n {
        errors.push(FieldError::new(
            path("seats"),
            "must be below the number of options",
        ));
    }
    let default_max = if q.method == Method::Plurality {
        seats.max(1)
    } else {
        n as i32
    };
    let min = q.min_selections.unwrap_or(1);
    let max = q.max_selections.unwrap_or(default_max);
    if min < 0 {
        errors.push(FieldError::new(
            path("min_selections"),
            "must not be negative",
        ));
    }
    if max < 1 {
        errors.push(FieldError::new(
            path("max_selections"),
            "must be at least 1",
        ));
    } else if max as usize > n && n >= MIN_OPTIONS {
        errors.push(FieldError::new(
            path("max_selections"),
            "must not exceed the number of options",
        ));
    } else if q.method == Method::Plurality && max > seats.max(1) {
        errors.push(FieldError::new(
            path("max_selections"),
            "plurality allows at most `seats` selections",
        ));
    }
    if min > max {
        errors.push(FieldError::new(
            path("min_selections"),
            "must not exceed max_selections",
        ));
    }
    (
        QuestionDef {
            id: QuestionId::new(),
            prompt,
            method: q.method,
            seats,
            min_selections: min,
            max_selections: max,
            allow_blank: q.allow_blank.unwrap_or(false),
            options: labels.iter().map(|_| OptionId::new()).collect(),
            labels,
        },
        errors,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elections::dto::OptionInput;

    fn q(method: Method, labels: &[&str]) -> QuestionInput {
        QuestionInput {
            prompt: "Who?".into(),
            method,
            seats: None,
            min_selections: None,
            max_selections: None,
            allow_blank: None,
            options: labels
                .iter()
                .map(|l| OptionInput {
                    label: l.to_string(),
                })
                .collect(),
        }
    }

    fn req(questions: Vec<QuestionInput>) -> CreateElectionRequest {
        CreateElectionRequest {
            title: "Board".into(),
            description: String::new(),
            eligibility: Eligibility::Roll,
            opens_at: None,
            closes_at: None,
            questions,
        }
    }

    fn fields(r: Result<ElectionSpec, AppError>) -> Vec<String> {
        match r {
            Err(AppError::Validation(e)) => e.into_iter().map(|f| f.field).collect(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_in_per_method() {
        let spec = validate(
            &req(vec![
                q(Method::Plurality, &["a", "b"]),
                q(Method::Irv, &["a", "b", "c"]),
            ]),
            Time::now(),
        )
        .unwrap();
        assert_eq!(
            (
                spec.questions[0].seats,
                spec.questions[0].min_selections,
                spec.questions[0].max_selections
            ),
            (1, 1, 1)
        );
        assert_eq!(
            (
                spec.questions[1].min_selections,
                spec.questions[1].max_selections
            ),
            (1, 3)
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        let now = Time::now();
        assert_eq!(fields(validate(&req(vec![]), now)), ["questions"]);
        let mut r = req(vec![q(Method::Plurality, &["a"])]);
        r.title = "  ".into();
        assert_eq!(fields(validate(&r, now)), ["questions[0].options", "title"]);
        assert_eq!(
            fields(validate(&req(vec![q(Method::Approval, &["a", "A "])]), now)),
            ["questions[0].options[1].label"]
        );
        let mut seats = q(Method::Stv, &["a", "b"]);
        seats.seats = Some(2);
        assert_eq!(
            fields(validate(&req(vec![seats.clone()]), now)),
            ["questions[0].seats"]
        );
        seats.seats = Some(0);
        assert_eq!(
            fields(validate(&req(vec![seats]), now)),
            ["questions[0].seats"]
        );
        let mut irv = q(Method::Irv, &["a", "b", "c"]);
        irv.seats = Some(2);
        assert_eq!(
            fields(validate(&req(vec![irv]), now)),
            ["questions[0].seats"]
        );
        let mut minmax = q(Method::Approval, &["a", "b", "c"]);
        minmax.min_selections = Some(3);
        minmax.max_selections = Some(2);
        assert_eq!(
            fields(validate(&req(vec![minmax]), now)),
            ["questions[0].min_selections"]
        );
        let mut times = req(vec![q(Method::Borda, &["a", "b"])]);
        times.opens_at = Some(Time(now.0 + chrono::Duration::hours(2)));
        times.closes_at = Some(Time(now.0 + chrono::Duration::hours(1)));
        assert_eq!(fields(validate(&times, now)), ["closes_at"]);
    }
}
