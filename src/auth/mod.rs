//! Authentication: passwords now; tokens and sessions build on it.

pub mod password;
