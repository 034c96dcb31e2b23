//! What each request got, per voter, and the seeded voters.

use std::sync::Mutex;
use std::time::Duration;

use ballotbox::config::Settings;
use ballotbox::crypto::Keys;
use ballotbox::db::{self, DbUrl, PoolOptions};
use ballotbox::testkit;
use ballotbox::users::Role;

use crate::{Args, Res};

/// One request's outcome.
pub enum Outcome {
    /// 201 with this tracking code.
    Ok(String),
    /// An answer saying nothing was written (4xx, 503).
    Failed(u16),
    /// No answer, or one that does not say.
    Unknown,
}

#[derive(Default)]
struct Voter {
    receipt: Option<String>,
    any_unknown: bool,
    /// 409 "already voted": in, but without its receipt.
    voted_without_receipt: bool,
    refused: bool,
}

#[derive(Default)]
struct Counts {
    ok: usize,
    failed: usize,
    unknown: usize,
}

pub struct Ledger {
    voters: Mutex<Vec<Voter>>,
    counts: Mutex<Counts>,
}

pub struct Summary {
    pub ok: usize,
    pub failed: usize,
    pub unknown: usize,
    pub acked: Vec<String>,
    /// Voters not acknowledged whose ballot may be in: an attempt with no
    /// answer, or a 409 saying they already voted.
    pub unknown_voters: usize,
    /// Voters neither acknowledged nor refused for good.
    pub unsettled: usize,
}

impl Ledger {
    pub fn new(n: usize) -> Ledger {
        Ledger {
            voters: Mutex::new((0..n).map(|_| Voter::default()).collect()),
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Records an attempt for voter `v`; whether that voter is settled
    /// (acknowledged, or refused in a way a retry cannot change).
    pub fn record(&self, v: usize, outcome: &Outcome) -> bool {
        let (mut voters, mut counts) = match (self.voters.lock(), self.counts.lock()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return true,
        };
        let voter = &mut voters[v];
        match outcome {
            Outcome::Ok(code) => {
                counts.ok += 1;
                voter.receipt = Some(code.clone());
                true
            }
            Outcome::Failed(status) => {
                counts.failed += 1;
                match status {
                    503 | 429 | 408 => false,
                    409 => {
                        voter.voted_without_receipt = true;
                        true
                    }
                    _ => {
                        voter.refused = true;
                        true
                    }
                }
            }
            Outcome::Unknown => {
                counts.unknown += 1;
                voter.any_unknown = true;
                false
            }
        }
    }

    pub fn summary(&self) -> Summary {
        let voters = self
            .voters
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        let counts = self
            .counts
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        Summary {
            ok: counts.ok,
            failed: counts.failed,
            unknown: counts.unknown,
            acked: voters.iter().filter_map(|v| v.receipt.clone()).collect(),
            unknown_voters: voters
                .iter()
                .filter(|v| v.receipt.is_none() && (v.any_unknown || v.voted_without_receipt))
                .count(),
            unsettled: voters
                .iter()
                .filter(|v| v.receipt.is_none() && !v.refused && !v.voted_without_receipt)
                .count(),
        }
    }
}

/// The admin's token and each voter's (id, token).
pub struct Seeded {
    pub admin: String,
    pub voters: Vec<(uuid::Uuid, String)>,
}

/// Seeds an admin and `n` voters with sessions and tokens signed with the
/// server's key (read from its data folder, as the server wrote it).
pub fn seed(args: &Args, n: usize) -> Res<Seeded> {
    let mut settings = Settings::load().map_err(|e| e.to_string())?;
    settings.database.url = args.database_url.clone();
    settings.data.dir = args.data_dir.clone();
    let keys = Keys::load(&settings)?;
    let pool = db::build_pool(
        &DbUrl::parse(&args.database_url)?,
        &PoolOptions {
            size: 1,
            connect_timeout: Duration::from_secs(30),
            busy_timeout_ms: settings.database.sqlite_busy_timeout_ms,
        },
    )?;
    let mut c = testkit::fast_conn(&pool)?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let admin = testkit::users_with_tokens(
        &mut c,
        &keys,
        &settings.auth,
        &format!("cc-admin-{tag}-"),
        1,
        &[Role::Admin],
    )?;
    let voters = testkit::users_with_tokens(
        &mut c,
        &keys,
        &settings.auth,
        &format!("cc-voter-{tag}-"),
        n,
        &[Role::Voter],
    )?;
    Ok(Seeded {
        admin: admin.into_iter().next().ok_or("no admin")?.1,
        voters,
    })
}
