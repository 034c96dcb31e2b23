//! Elections, cut by concern: `definition` (what an election asks, one type
//! for every feature), `visibility` (who sees which election), `service`
//! (drafting), `lifecycle` (the transitions and the one shape of an admin's
//! change), `roll` (voter rolls) and `scheduler` (the timer).

pub mod definition;
pub mod dto;
pub mod handlers;
pub mod lifecycle;
pub mod model;
pub mod repo;
pub mod roll;
pub mod rules;
pub mod scheduler;
pub mod service;
pub mod visibility;

pub use model::{
    ElectionId, ElectionRow, ElectionState, Eligibility, Method, OptionId, QuestionId,
};
