//! The sender that runs in every instance: claims one due message at a
//! time, renders and sends it, and records the outcome under its claim.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::Duration as Span;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{header, Mailbox, MultiPart};
use lettre::{Message, SmtpTransport, Transport};

use super::model::{MailId, MailKind, MailRow, BOUNCED, FAILED};
use super::outbox::Sealer;
use super::repo;
use super::templates::{self, Context};
use super::transport::{self, Failure};
use crate::config::Settings;
use crate::db::types::Time;
use crate::db::{self, write_tx, DbConnection, DbPool};
use crate::error::AppError;

/// Everything the sender needs, built once at start-up.
pub struct Sender {
    pool: DbPool,
    transport: SmtpTransport,
    from: Mailbox,
    sealer: Sealer,
    public_url: String,
    invitation_days: i64,
    poll: Duration,
    batch: i64,
    lease: Span,
    retry_base: u64,
    retry_max: u64,
    max_attempts: i32,
}

impl Sender {
    /// None when mail is off; an error when it is on but cannot work.
    pub fn new(pool: DbPool, settings: &Settings, sealer: Sealer) -> Result<Option<Self>, String> {
        let m = &settings.mail;
        if !m.enabled() {
            return Ok(None);
        }
        let from: Mailbox = m
            .from
            .parse()
            .map_err(|_| "mail.from is not a mail address".to_string())?;
        Ok(Some(Self {
            pool,
            transport: transport::build(m)?,
            from,
            sealer,
            public_url: settings
                .web
                .public_url
                .trim()
                .trim_end_matches('/')
                .to_string(),
            invitation_days: settings.auth.invitation_ttl_days,
            poll: Duration::from_millis(m.poll_interval_ms.max(20)),
            batch: m.batch_size.max(1),
            // An SMTP exchange is a handful of commands, each bounded by the
            // timeout: a claim outlives any send by far, so a live sender
            // never loses its message to another instance mid-send.
            lease: Span::seconds((m.timeout_secs.saturating_mul(10)).max(300) as i64),
            retry_base: m.retry_base_secs,
            retry_max: m.retry_max_secs.max(m.retry_base_secs),
            max_attempts: m.max_attempts.max(1),
        }))
    }

    /// Runs the sender on the current runtime until it stops.
    pub fn spawn(self) {
        let me = Arc::new(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = me.clone().pass().await {
                    log::debug!("mail: {e}");
                }
            }
        });
    }

    /// Sends up to a batch of due messages, one claim each, and stops early
    /// when the SMTP server cannot be reached.
    async fn pass(self: Arc<Self>) -> Result<(), AppError> {
        let depth = db::run(&self.pool, |c| Ok(repo::depth(c)?)).await?;
        metrics::gauge!("ballotbox_mail_outbox_depth").set(depth as f64);
        for _ in 0..self.batch {
            let lease = self.lease;
            let claimed = db::run(&self.pool, move |c| {
                let now = Time::now();
                if !repo::any_due(c, now)? {
                    return Ok(None);
                }
                let rows = write_tx(c, |c| repo::claim_due(c, now, Time(now.0 + lease), 1))?;
                match rows.into_iter().next() {
                    Some(row) => Ok(Some(load_context(c, row)?)),
                    None => Ok(None),
                }
            })
            .await?;
            let Some(job) = claimed else {
                return Ok(());
            };
            let me = self.clone();
            let (id, attempts) = (job.row.id, job.row.attempts);
            let outcome = tokio::task::spawn_blocking(move || me.deliver(&job))
                .await
                .map_err(AppError::internal)?;
            let unreachable = matches!(&outcome, Outcome::Retry(_, false));
            self.record(id, attempts, outcome).await;
            if unreachable {
                return Ok(());
            }
        }
        Ok(())
    }

    fn deliver(&self, job: &Job) -> Outcome {
        let message = match self.compose(job) {
            Ok(m) => m,
            Err(why) => return Outcome::Fail(why),
        };
        match self.transport.send(&message) {
            Ok(_) => Outcome::Sent,
            Err(e) => match transport::classify(&e) {
                Failure::Permanent(text) => Outcome::Bounce(text),
                Failure::Temporary(text) => Outcome::Retry(text, e.is_response()),
            },
        }
    }

    fn compose(&self, job: &Job) -> Result<Message, String> {
        let row = &job.row;
        let kind = MailKind::parse(&row.kind).ok_or("unknown kind")?;
        if job.user_disabled {
            return Err("the user is disabled".into());
        }
        let address = row
            .to_addr
            .parse()
            .map_err(|_| "the recipient is not a mail address".to_string())?;
        let name = one_line(&job.name);
        let to = Mailbox::new((!name.is_empty()).then_some(name), address);
        let election = row.election_id.map(|e| e.to_string()).unwrap_or_default();
        let link = match kind {
            MailKind::Invitation => {
                let token = row
                    .secret_sealed
                    .as_deref()
                    .and_then(|s| self.sealer.open(row.id, s))
                    .ok_or("the invitation token cannot be opened (server secret changed?)")?;
                format!("{}/#/activate?token={token}", self.public_url)
            }
            MailKind::ResultsPublished => {
                format!("{}/#/elections/{election}/results", self.public_url)
            }
            MailKind::Reminder | MailKind::ElectionOpened => {
                format!("{}/#/elections/{election}/vote", self.public_url)
            }
        };
        let from_addr = self.from.email.to_string();
        let rendered = templates::render(&Context {
            kind,
            locale: &row.locale,
            name: if job.name.is_empty() {
                &row.to_addr
            } else {
                &job.name
            },
            email: &row.to_addr,
            from: &from_addr,
            title: &job.title,
            closes_at: job
                .closes_at
                .map(|t| t.0.format("%Y-%m-%d %H:%M").to_string()),
            link,
            invitation_days: self.invitation_days,
        });
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&rendered.subject))
            // The same id on every attempt: a duplicate after a crash is
            // recognisable as one.
            .message_id(Some(message_id(row.id, self.from.email.domain())))
            .date(SystemTime::now())
            .header(AutoSubmitted("auto-generated".into()));
        if kind != MailKind::Invitation {
            builder = builder.header(ListUnsubscribe(format!(
                "<mailto:{from_addr}?subject=unsubscribe>"
            )));
        }
        builder
            .header(header::MIME_VERSION_1_0)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| format!("cannot build the message: {e}"))
    }

    fn backoff(&self, attempts: i32) -> Span {
        Span::seconds(backoff_secs(attempts, self.retry_base, self.retry_max) as i64)
    }

    /// Writes the outcome under the claim; a few tries, since a lost write
    /// after a send would send the message again when the claim lapses.
    async fn record(&self, id: MailId, attempts: i32, outcome: Outcome) {
        let give_up = attempts >= self.max_attempts;
        let next = self.backoff(attempts);
        let outcome = Arc::new(outcome);
        for wait in [0u64, 200, 1000, 5000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let o = outcome.clone();
            let done = db::run(&self.pool, move |c| {
                let now = Time::now();
                write_tx(c, |c| match &*o {
                    Outcome::Sent => repo::mark_sent(c, id, attempts, now),
                    Outcome::Retry(e, _) => {
                        repo::mark_retry(c, id, attempts, e, Time(now.0 + next), give_up)
                    }
                    Outcome::Bounce(e) => repo::mark_final(c, id, attempts, BOUNCED, e),
                    Outcome::Fail(e) => repo::mark_final(c, id, attempts, FAILED, e),
                })
                .map_err(AppError::from)
            })
            .await;
            match done {
                Ok(0) => log::warn!("mail {id}: the claim lapsed before its outcome was recorded"),
                Ok(_) => {}
                Err(e) => {
                    log::warn!("mail {id}: recording the outcome failed: {e}");
                    continue;
                }
            }
            match &*outcome {
                Outcome::Sent => log::info!("mail {id} sent"),
                Outcome::Retry(..) if give_up => {
                    log::warn!("mail {id} failed after {attempts} attempts")
                }
                Outcome::Retry(..) => log::info!(
                    "mail {id}: temporary failure, retry in {}s",
                    next.num_seconds()
                ),
                Outcome::Bounce(_) => log::warn!("mail {id} bounced"),
                Outcome::Fail(_) => log::warn!("mail {id} cannot be sent"),
            }
            return;
        }
    }
}

/// The wait after the `attempts`-th try: `base`, doubling, at most `max`.
fn backoff_secs(attempts: i32, base: u64, max: u64) -> u64 {
    let exp = (attempts.max(1) - 1).min(30) as u32;
    base.saturating_mul(1u64 << exp).min(max)
}

/// A header value on one line: names and titles are typed by people.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn message_id(id: MailId, domain: &str) -> String {
    format!("<{}@{domain}>", id.0.simple())
}

/// A claimed message and what rendering it needs.
struct Job {
    row: MailRow,
    name: String,
    user_disabled: bool,
    title: String,
    closes_at: Option<Time>,
}

fn load_context(c: &mut DbConnection, row: MailRow) -> Result<Job, AppError> {
    let user = match row.user_id {
        Some(u) => crate::users::repo::find_by_id(c, u)?,
        None => None,
    };
    let election = match row.election_id {
        Some(e) => crate::elections::repo::find_election(c, e)?,
        None => None,
    };
    Ok(Job {
        name: user
            .as_ref()
            .map(|u| u.display_name.clone())
            .unwrap_or_default(),
        user_disabled: user.as_ref().is_some_and(|u| u.disabled),
        title: election
            .as_ref()
            .map(|e| e.title.clone())
            .unwrap_or_default(),
        closes_at: election.and_then(|e| e.closes_at),
        row,
    })
}

enum Outcome {
    Sent,
    /// A temporary failure; whether the server answered at all.
    Retry(String, bool),
    Bounce(String),
    Fail(String),
}

/// Headers lettre has no type for.
macro_rules! raw_header {
    ($ty:ident, $name:literal) => {
        #[derive(Clone)]
        struct $ty(String);
        impl header::Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}
raw_header!(AutoSubmitted, "Auto-Submitted");
raw_header!(ListUnsubscribe, "List-Unsubscribe");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_names_and_titles_cannot_add_header_lines() {
        let hostile = "Board\r\nBcc: evil@example.org";
        let name = one_line("Ada\r\nBcc: evil@example.org");
        let message = Message::builder()
            .from("Elections <elections@example.org>".parse().unwrap())
            .to(Mailbox::new(Some(name), "ada@example.org".parse().unwrap()))
            .subject(one_line(hostile))
            .header(ListUnsubscribe(
                "<mailto:elections@example.org?subject=unsubscribe>".into(),
            ))
            .multipart(MultiPart::alternative_plain_html(
                "text".to_string(),
                "<p>html</p>".to_string(),
            ))
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(!raw.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
        assert!(
            raw.contains("List-Unsubscribe: <mailto:elections@example.org?subject=unsubscribe>")
        );
        assert!(raw.contains("Date: "), "lettre adds the Date");
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let exp = backoff_secs;
        assert_eq!(exp(1, 30, 3600), 30);
        assert_eq!(exp(2, 30, 3600), 60);
        assert_eq!(exp(8, 30, 3600), 3600);
        assert_eq!(exp(40, 30, 3600), 3600);
    }
}
