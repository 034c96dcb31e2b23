//! What the phases share: the seeded voters, the admin's HTTP calls, the
//! server's memory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballotbox::auth::password::Hasher;
use ballotbox::config::Settings;
use ballotbox::crypto::Keys;
use ballotbox::db::{self, DbPool, DbUrl, PoolOptions};
use ballotbox::testkit;
use ballotbox::users::Role;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{Args, Res, OPTIONS, PASSWORD};

/// A seeded voter: the session their tokens are bound to.
#[derive(Clone)]
pub(crate) struct Voter {
    pub(crate) id: Uuid,
    pub(crate) email: String,
    pub(crate) session: Uuid,
}

/// The ids a ballot needs.
#[derive(Clone)]
pub(crate) struct ElectionInfo {
    pub(crate) id: String,
    pub(crate) question: String,
    pub(crate) options: Vec<String>,
}

/// Everything the phases share.
pub(crate) struct Bench {
    pub(crate) args: Args,
    pub(crate) settings: Settings,
    keys: Keys,
    pub(crate) url: DbUrl,
    pub(crate) pool: DbPool,
    pub(crate) http: reqwest::Client,
    pub(crate) rt: tokio::runtime::Runtime,
    admin_token: String,
    pub(crate) voters: Arc<Vec<Voter>>,
    pub(crate) tag: String,
}

impl Bench {
    pub(crate) fn setup(args: Args) -> Res<Self> {
        let mut settings = Settings::load().map_err(|e| e.to_string())?;
        settings.database.url = args.database_url.clone();
        if let Some(dir) = &args.data_dir {
            let secret = dir.join("keys").join("jwt-secret");
            if args.jwt_secret.is_none() && !secret.exists() {
                return Err(format!(
                    "{} does not exist: start the server first, or pass --jwt-secret",
                    secret.display()
                )
                .into());
            }
            settings.data.dir = dir.clone();
        }
        if let Some(s) = &args.jwt_secret {
            settings.keys.jwt_secret = s.clone();
        }
        let keys = Keys::load(&settings)?;
        let url = DbUrl::parse(&args.database_url)?;
        let pool = db::build_pool(
            &url,
            &PoolOptions {
                size: 2,
                connect_timeout: Duration::from_secs(30),
                busy_timeout_ms: settings.database.sqlite_busy_timeout_ms,
            },
        )?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .timeout(Duration::from_secs(120))
            .build()?;
        let tag = format!("{:08x}", rand::thread_rng().gen::<u32>());
        let mut b = Self {
            args,
            settings,
            keys,
            url,
            pool,
            http,
            rt,
            admin_token: String::new(),
            voters: Arc::new(Vec::new()),
            tag,
        };
        b.seed()?;
        Ok(b)
    }

    /// A pool for seeding; its connections get durability off
    /// (`testkit::fast_conn`): seeding is not measured.
    pub(crate) fn seeding_pool(&self, size: u32) -> Res<DbPool> {
        let pool = db::build_pool(
            &self.url,
            &PoolOptions {
                size,
                connect_timeout: Duration::from_secs(30),
                busy_timeout_ms: 60_000,
            },
        )?;
        Ok(pool)
    }

    fn seed(&mut self) -> Res<()> {
        let t0 = Instant::now();
        let hasher = Hasher::new(&self.settings.auth)?;
        let hash = hasher.hash(PASSWORD).map_err(|e| e.to_string())?;
        let threads = 4usize;
        let pool = self.seeding_pool(threads as u32)?;
        let ttl = Duration::from_secs(24 * 3600);
        let (admin, admin_sid) = {
            let mut c = testkit::fast_conn(&pool)?;
            let email = format!("admin-{}@bench.example.org", self.tag);
            let id = testkit::create_user(&mut c, &email, "Bench admin", &[Role::Admin], &hash)?;
            let sid = testkit::open_sessions(&mut c, &[id], ttl)?;
            (id, sid[0])
        };
        self.admin_token = testkit::access_token(
            &self.keys,
            &self.settings.auth,
            admin,
            admin_sid,
            &[Role::Admin],
        )?;
        let n = self.args.voters;
        let tag = self.tag.clone();
        let out: Mutex<Vec<(usize, Voter)>> = Mutex::new(Vec::with_capacity(n));
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| -> Res<()> {
            let mut handles = Vec::new();
            for _ in 0..threads {
                handles.push(s.spawn(|| -> Res<()> {
                    let mut c = testkit::fast_conn(&pool)?;
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let email = format!("voter-{tag}-{i}@bench.example.org");
                        let id = testkit::create_user(
                            &mut c,
                            &email,
                            &format!("Voter {i}"),
                            &[Role::Voter],
                            &hash,
                        )?;
                        mine.push((i, id, email));
                    }
                    // Sessions in big transactions.
                    for chunk in mine.chunks(1000) {
                        let ids: Vec<Uuid> = chunk.iter().map(|v| v.1).collect();
                        let sessions = testkit::open_sessions(&mut c, &ids, ttl)?;
                        let voters = chunk.iter().zip(sessions).map(|((i, id, email), session)| {
                            (
                                *i,
                                Voter {
                                    id: *id,
                                    email: email.clone(),
                                    session,
                                },
                            )
                        });
                        out.lock().map_err(|_| "poisoned")?.extend(voters);
                    }
                    Ok(())
                }));
            }
            for h in handles {
                h.join().map_err(|_| "a seeding thread panicked")??;
            }
            Ok(())
        })?;
        let mut voters = out.into_inner().map_err(|_| "poisoned")?;
        voters.sort_by_key(|v| v.0);
        self.voters = Arc::new(voters.into_iter().map(|v| v.1).collect());
        eprintln!(
            "seeded an admin and {n} voters with sessions in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Fresh access tokens for every voter (they live at most 15 minutes).
    pub(crate) fn tokens(&self) -> Res<Arc<Vec<String>>> {
        let v = self
            .voters
            .iter()
            .map(|v| {
                testkit::access_token(
                    &self.keys,
                    &self.settings.auth,
                    v.id,
                    v.session,
                    &[Role::Voter],
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(v))
    }

    pub(crate) fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.args.url.trim_end_matches('/'))
    }

    /// An admin request; any status outside 2xx is an error.
    pub(crate) fn admin_post(&self, path: &str, body: Value) -> Res<Value> {
        let (status, value) = self.admin_post_status(path, body)?;
        if !(200..300).contains(&status) {
            return Err(format!("POST {path}: {status} {value}").into());
        }
        Ok(value)
    }

    pub(crate) fn admin_post_status(&self, path: &str, body: Value) -> Res<(u16, Value)> {
        let req = self
            .http
            .post(self.api(path))
            .bearer_auth(&self.admin_token)
            .json(&body);
        self.rt.block_on(async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
        })
    }

    /// Creates an `all_voters` election with one IRV question of ten options.
    pub(crate) fn election(&self, title: &str, open: bool) -> Res<ElectionInfo> {
        let options: Vec<Value> = (1..=OPTIONS)
            .map(|i| json!({ "label": format!("Option {i}") }))
            .collect();
        let e = self.admin_post(
            "/elections",
            json!({
                "title": format!("{title} {}", self.tag),
                "description": "ballotbox-load",
                "eligibility": "all_voters",
                "questions": [{"prompt": "Rank the options", "method": "irv", "options": options}],
            }),
        )?;
        let str_at = |v: &Value| {
            v.as_str()
                .map(str::to_string)
                .ok_or("unexpected election JSON")
        };
        let id = str_at(&e["id"])?;
        let q = &e["questions"][0];
        let info = ElectionInfo {
            id: id.clone(),
            question: str_at(&q["id"])?,
            options: q["options"]
                .as_array()
                .ok_or("unexpected election JSON")?
                .iter()
                .map(|o| str_at(&o["id"]))
                .collect::<Result<_, _>>()?,
        };
        if open {
            self.admin_post(&format!("/elections/{id}/open"), json!({}))?;
        }
        Ok(info)
    }

    /// Peak and current RSS of the server.
    pub(crate) fn rss(&self) -> Option<String> {
        let pid = self.args.server_pid?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        };
        Some(format!(
            "{:.1} MiB (now {:.1} MiB)",
            field("VmHWM:")? / 1024.0,
            field("VmRSS:")? / 1024.0
        ))
    }

    pub(crate) fn rss_mib(&self) -> Option<f64> {
        let pid = self.args.server_pid?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    }

    pub(crate) fn work_dir(&self) -> Res<PathBuf> {
        let dir = match &self.args.work_dir {
            Some(d) => d.clone(),
            None => std::env::temp_dir().join(format!("ballotbox-load-{}", self.tag)),
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(dir)
    }
}

/// A random partial ranking of the ten options (positions from 0).
pub(crate) fn random_ranking(rng: &mut impl Rng) -> Vec<u16> {
    let mut perm: Vec<u16> = (0..OPTIONS as u16).collect();
    perm.shuffle(rng);
    perm.truncate(rng.gen_range(1..=OPTIONS));
    perm
}

pub(crate) fn random_content(rng: &mut impl Rng) -> String {
    random_ranking(rng)
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The JSON body of a ballot with a random ranking.
pub(crate) fn ballot_body(e: &ElectionInfo) -> String {
    let mut rng = rand::thread_rng();
    let selections: Vec<&str> = random_ranking(&mut rng)
        .iter()
        .map(|&p| e.options[p as usize].as_str())
        .collect();
    json!({"answers": [{"question_id": e.question, "selections": selections}]}).to_string()
}

pub(crate) fn short_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    }
}
