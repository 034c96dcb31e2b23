//! An election's questions and options as ballot validation needs them,
//! read in one indexed query and cached once the election left `draft`
//! (definitions never change after that).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use diesel::prelude::*;

use crate::db::schema::{options, questions};
use crate::db::DbConnection;
use crate::elections::{ElectionId, Method, OptionId, QuestionId};
use crate::error::ApiError;

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
);

/// Reads a definition with one join over the options' election index.
pub fn load(conn: &mut DbConnection, id: ElectionId) -> Result<Definition, ApiError> {
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
        ))
        .load(conn)?;
    let mut qs: Vec<QuestionDef> = Vec::new();
    for (qid, _, prompt, method, seats, min, max, blank, oid, _) in rows {
        if qs.last().is_none_or(|q| q.id != qid) {
            qs.push(QuestionDef {
                id: qid,
                prompt,
                method: method.parse().map_err(ApiError::internal)?,
                seats,
                min_selections: min,
                max_selections: max,
                allow_blank: blank,
                options: Vec::new(),
            });
        }
        if let Some(q) = qs.last_mut() {
            q.options.push(oid);
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
