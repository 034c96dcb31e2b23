//! Cryptography: service keys, canonical JSON and hashing. Passwords live in
//! `auth::password`.

pub mod canonical;
pub mod keys;
pub mod merkle;

pub use canonical::{canonical_json, sha256_hex};
pub use keys::{HmacKey, Keys, Signer};

/// Fills `buf` from the operating system's random source. Like `OsRng`
/// before it, panics if that source fails: no secret may come from
/// anything weaker, and the process cannot do its job without it.
pub fn fill_random(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random source failed");
}
