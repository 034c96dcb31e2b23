//! Ballot validation per method, the compact stored form, the ballot hash
//! and tracking codes. Pure: no I/O.

use std::collections::HashSet;

use serde_json::json;

use super::model::Answer;
use crate::crypto::{canonical_json, sha256_hex};
use crate::elections::definition::{Definition, QuestionDef};
use crate::elections::{ElectionId, Method, OptionId};
use crate::error::{AppError, FieldError};

/// A ballot that passed validation.
#[derive(Debug, Clone)]
pub struct ValidBallot {
    /// Option positions per question (questions in position order), `;`
    /// between questions and `,` between selections: what is stored.
    pub content: String,
    /// SHA-256 (hex) of the RFC 8785 form of `{"election_id", "answers",
    /// "salt"}`, answers sorted by question id, selections in ballot order.
    pub ballot_hash: String,
    /// 128 random bits drawn for this ballot, so that nobody can hash every
    /// possible answer and match it while the election is open.
    pub salt: String,
}

fn error(i: usize, q: &QuestionDef, message: &str) -> FieldError {
    FieldError::new(
        format!("answers[{i}].selections"),
        format!("question {} ({}): {message}", q.id, q.prompt),
    )
}

/// Checks one answer per question and each answer against its method.
pub fn validate(def: &Definition, answers: &[Answer]) -> Result<ValidBallot, AppError> {
    let mut errors = Vec::new();
    let mut by_question: Vec<Option<(usize, &Answer)>> = vec![None; def.questions.len()];
    for (i, a) in answers.iter().enumerate() {
        match def.questions.iter().position(|q| q.id == a.question_id) {
            None => errors.push(FieldError::new(
                format!("answers[{i}].question_id"),
                format!("{} is not a question of this election", a.question_id),
            )),
            Some(qi) if by_question[qi].is_some() => errors.push(FieldError::new(
                format!("answers[{i}].question_id"),
                format!("question {} is answered twice", a.question_id),
            )),
            Some(qi) => by_question[qi] = Some((i, a)),
        }
    }
    for (q, slot) in def.questions.iter().zip(&by_question) {
        if slot.is_none() {
            errors.push(FieldError::new(
                "answers",
                format!("question {} ({}) has no answer", q.id, q.prompt),
            ));
        }
    }
    let mut parts = Vec::with_capacity(def.questions.len());
    for (q, slot) in def.questions.iter().zip(&by_question) {
        let Some((i, a)) = slot else { continue };
        match check_answer(q, &a.selections) {
            Ok(positions) => parts.push(positions),
            Err(message) => errors.push(error(*i, q, &message)),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let content = parts
        .iter()
        .map(|p| {
            p.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(";");
    let salt = salt();
    Ok(ValidBallot {
        content,
        ballot_hash: ballot_hash(def.election_id, answers, &salt),
        salt,
    })
}

/// The option positions of a valid answer, or why it is not valid.
fn check_answer(q: &QuestionDef, selections: &[OptionId]) -> Result<Vec<u16>, String> {
    if selections.is_empty() {
        return if q.allow_blank {
            Ok(Vec::new())
        } else {
            Err("a blank answer is not allowed".into())
        };
    }
    let mut seen = HashSet::with_capacity(selections.len());
    let mut positions = Vec::with_capacity(selections.len());
    for s in selections {
        let Some(p) = q.options.iter().position(|o| o == s) else {
            return Err(format!("{s} is not an option of this question"));
        };
        if !seen.insert(p) {
            return Err(format!("{s} is selected twice"));
        }
        positions.push(p as u16);
    }
    let n = selections.len() as i32;
    let (min, max) = (q.min_selections.max(1), q.max_selections);
    match q.method {
        Method::Plurality if q.seats <= 1 && n != 1 => {
            Err("plurality takes exactly one selection".into())
        }
        Method::Plurality if n > q.seats => {
            Err(format!("plurality takes at most {} selections", q.seats))
        }
        _ if n < min || n > max => {
            Err(format!("takes between {min} and {max} selections, got {n}"))
        }
        _ => Ok(positions),
    }
}

/// `ballot_hash` as API.md (v2) defines it; the server, the tally's
/// integrity check and `ballotbox verify` all hash through this. An empty
/// salt is a ballot cast before v2, hashed as v1 did (without one).
pub fn ballot_hash(election_id: ElectionId, answers: &[Answer], salt: &str) -> String {
    let mut sorted: Vec<&Answer> = answers.iter().collect();
    sorted.sort_by_key(|a| a.question_id.to_string());
    let doc = if salt.is_empty() {
        json!({"election_id": election_id, "answers": sorted})
    } else {
        json!({"election_id": election_id, "answers": sorted, "salt": salt})
    };
    sha256_hex(&canonical_json(&doc))
}

/// 32 hex characters: 128 bits from the operating system's generator.
pub fn salt() -> String {
    let mut bytes = [0u8; 16];
    crate::crypto::fill_random(&mut bytes);
    hex::encode(bytes)
}

/// Decodes stored content back to answers (question and option ids).
pub fn decode(def: &Definition, content: &str) -> Option<Vec<Answer>> {
    let parts: Vec<&str> = if def.questions.is_empty() {
        Vec::new()
    } else {
        content.split(';').collect()
    };
    if parts.len() != def.questions.len() {
        return None;
    }
    def.questions
        .iter()
        .zip(parts)
        .map(|(q, part)| {
            let selections = if part.is_empty() {
                Vec::new()
            } else {
                part.split(',')
                    .map(|p| {
                        p.parse::<usize>()
                            .ok()
                            .and_then(|i| q.options.get(i).copied())
                    })
                    .collect::<Option<Vec<_>>>()?
            };
            Some(Answer {
                question_id: q.id,
                selections,
            })
        })
        .collect()
}

/// Crockford's base32 alphabet: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 16 characters, 80 random bits.
pub fn tracking_code() -> String {
    let mut bytes = [0u8; 10];
    crate::crypto::fill_random(&mut bytes);
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    (0..16)
        .rev()
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elections::QuestionId;

    fn def(method: Method, n: usize, seats: i32, min: i32, max: i32, blank: bool) -> Definition {
        Definition {
            election_id: ElectionId::new(),
            questions: vec![QuestionDef {
                id: QuestionId::new(),
                prompt: "Q".into(),
                method,
                seats,
                min_selections: min,
                max_selections: max,
                allow_blank: blank,
                options: (0..n).map(|_| OptionId::new()).collect(),
                labels: (0..n).map(|i| format!("option {i}")).collect(),
            }],
        }
    }

    fn answer(d: &Definition, picks: &[usize]) -> Vec<Answer> {
        vec![Answer {
            question_id: d.questions[0].id,
            selections: picks.iter().map(|&i| d.questions[0].options[i]).collect(),
        }]
    }

    #[test]
    fn each_method_accepts_what_api_md_allows_and_nothing_else() {
        let p = def(Method::Plurality, 3, 1, 1, 1, false);
        assert!(validate(&p, &answer(&p, &[1])).is_ok());
        assert!(validate(&p, &answer(&p, &[0, 1])).is_err());
        assert!(validate(&p, &answer(&p, &[])).is_err());
        let pm = def(Method::Plurality, 4, 2, 1, 2, false);
        assert!(validate(&pm, &answer(&pm, &[0, 3])).is_ok());
        assert!(validate(&pm, &answer(&pm, &[0, 1, 2])).is_err());
        let a = def(Method::Approval, 4, 1, 2, 3, true);
        assert!(validate(&a, &answer(&a, &[])).is_ok(), "blank allowed");
        assert!(validate(&a, &answer(&a, &[0])).is_err());
        assert!(validate(&a, &answer(&a, &[0, 2, 3])).is_ok());
        assert!(validate(&a, &answer(&a, &[0, 1, 2, 3])).is_err());
        let r = def(Method::Irv, 4, 1, 1, 4, false);
        assert!(validate(&r, &answer(&r, &[2])).is_ok(), "partial ranking");
        assert!(validate(&r, &answer(&r, &[2, 2])).is_err(), "repeat");
        let other = def(Method::Irv, 4, 1, 1, 4, false);
        let mut foreign = answer(&r, &[0]);
        foreign[0].selections.push(other.questions[0].options[0]);
        assert!(
            validate(&r, &foreign).is_err(),
            "option of another question"
        );
        assert!(validate(&r, &[]).is_err(), "unanswered question");
        let twice = [answer(&r, &[0]), answer(&r, &[1])].concat();
        assert!(validate(&r, &twice).is_err(), "answered twice");
    }

    #[test]
    fn content_round_trips_and_the_hash_ignores_answer_order() {
        let mut d = def(Method::Borda, 5, 1, 1, 5, true);
        let mut q2 = d.questions[0].clone();
        q2.id = QuestionId::new();
        d.questions.push(q2);
        let answers = vec![
            Answer {
                question_id: d.questions[0].id,
                selections: vec![d.questions[0].options[3], d.questions[0].options[0]],
            },
            Answer {
                question_id: d.questions[1].id,
                selections: vec![],
            },
        ];
        let v = validate(&d, &answers).unwrap();
        assert_eq!(v.content, "3,0;");
        assert_eq!(decode(&d, &v.content).unwrap(), answers);
        let reversed: Vec<Answer> = answers.iter().rev().cloned().collect();
        assert_eq!(
            ballot_hash(d.election_id, &reversed, &v.salt),
            v.ballot_hash
        );
        // Each ballot draws its own salt: the same answers hash apart.
        let again = validate(&d, &answers).unwrap();
        assert_eq!(again.salt.len(), 32);
        assert_ne!(again.salt, v.salt);
        assert_ne!(again.ballot_hash, v.ballot_hash);
    }

    #[test]
    fn tracking_codes_are_16_unambiguous_characters() {
        let codes: HashSet<String> = (0..1000).map(|_| tracking_code()).collect();
        assert_eq!(codes.len(), 1000);
        for c in &codes {
            assert_eq!(c.len(), 16);
            assert!(c.chars().all(|ch| ALPHABET.contains(&(ch as u8))), "{c}");
        }
    }
}
