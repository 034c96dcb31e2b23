//! argon2id password hashing with a random salt per hash (PHC strings).

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::config::AuthSettings;
use crate::error::AppError;

/// Passwords are 12 to 128 characters, never truncated.
pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// The password rule, as a field error for `field`.
pub fn check_password(field: &str, password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(AppError::invalid(
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
    pub fn hash(&self, password: &str) -> Result<String, AppError> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(AppError::internal)
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

type Job = Box<dyn FnOnce(&Hasher) + Send>;

/// Hashing and verifying on a few dedicated threads, one per core, at a
/// lower OS priority (nice 10): logins get every idle cycle, but when ballots
/// and logins compete for the CPU, casting goes first, so a login storm
/// cannot starve it. Fixed threads also bound argon2's memory (19 MiB per
/// hash in flight) instead of leaving it in every blocking thread's arena.
pub struct Passwords {
    hasher: Hasher,
    jobs: std::sync::mpsc::Sender<Job>,
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
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..cores {
            let (queue, hasher) = (queue.clone(), hasher.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    // Ends when the sender (the `Passwords`) is dropped.
                    loop {
                        let next = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(&hasher),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| format!("cannot start the password threads: {e}"))?;
        }
        Ok(Self {
            hasher,
            jobs,
            dummy,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Hasher) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |h| {
                let _ = done.send(work(h));
            }))
            .map_err(AppError::internal)?;
        result.await.map_err(AppError::internal)
    }

    /// A fresh PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move |h| h.hash(&password)).await?
    }

    /// Verifies against `phc`, or against the dummy hash when there is none
    /// (always false then, at the same cost).
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, AppError> {
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.clone());
        let ok = self.run(move |h| h.verify(&password, &phc)).await?;
        Ok(ok && real)
    }

    pub fn needs_rehash(&self, phc: &str) -> bool {
        self.hasher.needs_rehash(phc)
    }
}

/// Lowers the calling thread's scheduling priority (Linux: per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, 10) != 0 {
            log::debug!("could not lower the password threads' priority");
        }
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
