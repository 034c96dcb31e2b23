//! What an election asks: its questions, how each is answered and counted,
//! and its options. One type, [`QuestionDef`], for validation of a new
//! election, ballot validation, counting, exports and `ballotbox verify`;
//! the wire form (`model::Question`) and the rows are converted from and to
//! it here. Read in one indexed query and cached once the election left
//! `draft` (definitions never change after that).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use super::model::{ElectionId, Method, OptionId, OptionRow, Question, QuestionId, QuestionRow};
use crate::db::schema::{options, questions};
use crate::db::DbConnection;
use crate::error::AppError;

/// One question: its rules and its options in position order.
#[derive(Debug, Clone)]
pub struct QuestionDef {
    pub id: QuestionId,
    pub prompt: String,
    pub method: Method,
    pub seats: i32,
    pub min_selections: i32,
    pub max_selections: i32,
    pub allow_blank: bool,
    /// Option ids in position order.
    pub options: Vec<OptionId>,
    /// The option labels, in the same order as `options`.
    pub labels: Vec<String>,
}

impl QuestionDef {
    /// The question row at `position` of an election.
    pub fn row(&self, election: ElectionId, position: usize) -> QuestionRow {
        QuestionRow {
            id: self.id,
            election_id: election,
            position: position as i32,
            prompt: self.prompt.clone(),
            method: self.method.as_str().to_string(),
            seats: self.seats,
            min_selections: self.min_selections,
            max_selections: self.max_selections,
            allow_blank: self.allow_blank,
        }
    }

    /// The option rows, positions from 0.
    pub fn option_rows(&self, election: ElectionId) -> Vec<OptionRow> {
        self.options
            .iter()
            .zip(&self.labels)
            .enumerate()
            .map(|(position, (id, label))| OptionRow {
                id: *id,
                question_id: self.id,
                election_id: election,
                position: position as i32,
                label: label.clone(),
            })
            .collect()
    }
}

/// From the wire form (as an export holds it): options in position order.
impl From<&Question> for QuestionDef {
    fn from(q: &Question) -> Self {
        let mut options = q.options.clone();
        options.sort_by_key(|o| o.position);
        QuestionDef {
            id: q.id,
            prompt: q.prompt.clone(),
            method: q.method,
            seats: q.seats,
            min_selections: q.min_selections,
            max_selections: q.max_selections,
            allow_blank: q.allow_blank,
            options: options.iter().map(|o| o.id).collect(),
            labels: options.into_iter().map(|o| o.label).collect(),
        }
    }
}

/// Questions in position order.
#[derive(Debug, Clone)]
pub struct Definition {
    pub election_id: ElectionId,
    pub questions: Vec<QuestionDef>,
}

type Row = (
    QuestionId,
    i32,
    String,
    String,
    i32,
    i32,
    i32,
    bool,
    OptionId,
    i32,
    String,
);

/// Reads a definition with one join over the options' election index.
pub fn load(conn: &mut DbConnection, id: ElectionId) -> Result<Definition, AppError> {
    let rows: Vec<Row> = options::table
        .inner_join(questions::table)
        .filter(options::election_id.eq(id))
        .order((questions::position.asc(), options::position.asc()))
        .select((
            questions::id,
            questions::position,
            questions::prompt,
            questions::method,
            questions::seats,
            questions::min_selections,
            questions::max_selections,
            questions::allow_blank,
            options::id,
            options::position,
            options::label,
        ))
        .load(conn)?;
    let mut qs: Vec<QuestionDef> = Vec::new();
    for (qid, _, prompt, method, seats, min, max, blank, oid, _, label) in rows {
        if qs.last().is_none_or(|q| q.id != qid) {
            qs.push(QuestionDef {
                id: qid,
                prompt,
                method: method.parse().map_err(AppError::internal)?,
                seats,
                min_selections: min,
                max_selections: max,
                allow_blank: blank,
                options: Vec::new(),
                labels: Vec::new(),
            });
        }
        if let Some(q) = qs.last_mut() {
            q.options.push(oid);
            q.labels.push(label);
        }
    }
    Ok(Definition {
        election_id: id,
        questions: qs,
    })
}

/// Definitions of elections past `draft`, shared by all workers.
#[derive(Default)]
pub struct DefinitionCache {
    map: RwLock<HashMap<ElectionId, Arc<Definition>>>,
}

impl DefinitionCache {
    pub fn get(&self, id: ElectionId) -> Option<Arc<Definition>> {
        self.map.read().ok()?.get(&id).cloned()
    }

    /// Caches a definition; only call for elections that left `draft`.
    pub fn put(&self, def: Definition) -> Arc<Definition> {
        let def = Arc::new(def);
        if let Ok(mut map) = self.map.write() {
            // Bounded: a long-running server sees few live elections at once.
            if map.len() > 1024 {
                map.clear();
            }
            map.insert(def.election_id, def.clone());
        }
        def
    }
}
