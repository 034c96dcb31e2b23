//! Cryptography: service keys, canonical JSON and hashing. Passwords live in
//! `auth::password`.

pub mod canonical;
pub mod keys;
pub mod merkle;

pub use canonical::{canonical_json, sha256_hex};
pub use keys::{HmacKey, Keys, Signer};
