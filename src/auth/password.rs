//! argon2id password hashing with a random salt per hash (PHC strings).

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::config::AuthSettings;
use crate::error::ApiError;

/// Passwords are 12 to 128 characters, never truncated.
pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// The password rule, as a field error for `field`.
pub fn check_password(field: &str, password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(ApiError::invalid(
            field,
            format!("must be {MIN_LEN} to {MAX_LEN} characters long"),
        ));
    }
    Ok(())
}

/// argon2id with the configured cost.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: Params,
}

impl Hasher {
    pub fn new(settings: &AuthSettings) -> Result<Self, String> {
        let params = Params::new(
            settings.argon2_m_cost,
            settings.argon2_t_cost,
            settings.argon2_p_cost,
            None,
        )
        .map_err(|e| format!("argon2 parameters: {e}"))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// A PHC string with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, ApiError> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `phc` (any argon2 variant and parameters).
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        self.argon2()
            .verify_password(password.as_bytes(), phc)
            .is_ok()
    }

    /// Whether `phc` was made with other parameters than the configured ones.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let expected = format!(
            "$argon2id$v=19$m={},t={},p={}$",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        );
        !phc.starts_with(&expected)
    }
}

/// Hashing and verifying on the blocking pool, at most one per core at once
/// (more wait), so a flood of logins cannot starve ballot casting.
pub struct Passwords {
    hasher: Hasher,
    permits: tokio::sync::Semaphore,
    /// Verified against when the account does not exist, so that timing does
    /// not tell which accounts exist.
    dummy: String,
}

impl Passwords {
    pub fn new(settings: &AuthSettings) -> Result<Self, String> {
        let hasher = Hasher::new(settings)?;
        let dummy = hasher
            .hash(&super::tokens::random_token())
            .map_err(|e| e.to_string())?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            hasher,
            permits: tokio::sync::Semaphore::new(cores),
            dummy,
        })
    }

    /// A fresh PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let hasher = self.hasher.clone();
        actix_web::web::block(move || hasher.hash(&password)).await?
    }

    /// Verifies against `phc`, or against the dummy hash when there is none
    /// (always false then, at the same cost).
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let hasher = self.hasher.clone();
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.clone());
        let ok = actix_web::web::block(move || hasher.verify(&password, &phc)).await?;
        Ok(ok && real)
    }

    pub fn needs_rehash(&self, phc: &str) -> bool {
        self.hasher.needs_rehash(phc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> Hasher {
        Hasher {
            params: Params::new(19456, 2, 1, None).unwrap(),
        }
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let h = hasher();
        let a = h.hash("correct horse battery").unwrap();
        let b = h.hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(h.verify("correct horse battery", &a));
        assert!(!h.verify("correct horse batterY", &a));
        assert!(!h.needs_rehash(&a));
        assert!(h.needs_rehash("$argon2id$v=19$m=4096,t=3,p=1$abc$def"));
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", &"é".repeat(12)).is_ok());
        assert!(check_password("password", &"a".repeat(129)).is_err());
        assert!(check_password("password", &"a".repeat(128)).is_ok());
    }
}
