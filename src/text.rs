//! A rule for free text that every feature shares.

/// PostgreSQL cannot store U+0000 in `text` (a statement carrying it fails),
/// while SQLite stores it silently: text holding it is refused on input, with
/// the same 422 on both backends, before any query.
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// The field error's message for [`has_nul`].
pub const NUL_MESSAGE: &str = "must not contain NUL (U+0000) characters";
