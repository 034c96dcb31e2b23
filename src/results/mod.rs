//! Results: the tally of a closed election into one signed results
//! document, reading it, and the streamed exports (JSON, CSV, BLT) that let
//! anyone recount and check it offline with `ballotbox verify`.

pub mod count;
pub mod dto;
pub mod export;
pub mod handlers;
pub mod integrity;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{QuestionResult, ResultsDocument, ResultsSignature};
