//! Elections: definition, lifecycle, questions, voter rolls and schedules.

pub mod model;

pub use model::ElectionId;
