//! Elections: definition, lifecycle, questions, voter rolls and schedules.

pub mod dto;
pub mod handlers;
pub mod model;
pub mod repo;
pub mod rules;
pub mod scheduler;
pub mod service;

pub use model::{
    ElectionId, ElectionRow, ElectionState, Eligibility, Method, OptionId, QuestionId,
};
