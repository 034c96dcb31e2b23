//! Election rows and ids.

crate::uuid_id!(
    /// An election's id.
    ElectionId
);
