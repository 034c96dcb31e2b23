//! Streamed exports with constant memory: a producer on the blocking pool
//! reads ballots [`PAGE`] at a time in tracking-code order, writes them in
//! the chosen format into chunks of about [`CHUNK`] bytes, and hands each
//! chunk through a small bounded channel to the response body. A slow
//! client slows the producer down (holding no database connection while it
//! waits); a client that goes away stops it.
//!
//! No export holds a voter id or an email: ballots carry none, and the
//! audit events that name voters (`roll.*`) are exported redacted (their
//! `details_hash` keeps the chain checkable). The JSON export ends with the
//! signed checkpoint at its last audit event, fixed when it was requested.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::json;
use tokio::sync::mpsc;

use super::dto::ExportFormat;
use crate::audit::checkpoint::Checkpoint;
use crate::audit::model::{is_redactable, AuditEvent};
use crate::ballots::model::StoredBallot;
use crate::ballots::repo::ballot_page;
use crate::ballots::rules;
use crate::db::{self, DbPool};
use crate::elections::definition::Definition;
use crate::elections::model::Election;
use crate::elections::{ElectionId, Method};
use crate::error::AppError;

/// Ballots (and audit events) read per query.
pub const PAGE: i64 = 1000;
/// Bytes per chunk sent to the client.
pub const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the producer and the response.
const IN_FLIGHT: usize = 4;

/// The format tag of a JSON export.
pub const JSON_FORMAT: &str = "ballotbox-export/2";

/// Everything an export needs besides the ballots, read before streaming.
pub struct Job {
    pub format: ExportFormat,
    pub election: Election,
    pub def: Definition,
    /// The question index, for BLT.
    pub question: Option<usize>,
    pub results: Option<serde_json::Value>,
    pub public_key: serde_json::Value,
    /// The signed chain head at the export's own `export.downloaded` event:
    /// the audit events exported are those up to it.
    pub checkpoint: Checkpoint,
}

/// A started export: its media type, file name and body.
pub struct Export {
    pub content_type: &'static str,
    pub filename: String,
    pub body: mpsc::Receiver<Result<Bytes, AppError>>,
}

impl Export {
    /// The body as a stream for `HttpResponse::streaming`.
    pub fn stream(self) -> impl Stream<Item = Result<Bytes, AppError>> + 'static {
        futures_util::stream::unfold(self.body, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }
}

/// Starts the producer on the blocking pool.
pub fn start(pool: DbPool, job: Job) -> Export {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let id = job.election.id;
    let (content_type, ext) = match job.format {
        ExportFormat::Json => ("application/json", "json"),
        ExportFormat::Csv => ("text/csv; charset=utf-8; header=present", "csv"),
        ExportFormat::Blt => ("text/plain; charset=utf-8", "blt"),
    };
    let filename = match job.question {
        Some(qi) => format!(
            "election-{id}-question-{}.{ext}",
            job.def
                .questions
                .get(qi)
                .map_or(qi.to_string(), |q| q.id.to_string())
        ),
        None => format!("election-{id}.{ext}"),
    };
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut sink = Sink {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        let result = produce(&pool, &job, &mut sink).and_then(|()| sink.flush());
        if let Err(e) = result {
            if !sink.tx.is_closed() {
                log::error!("export of election {id} failed: {e}");
                // The body then ends in an error: the client sees a broken
                // transfer, never a complete-looking file.
                let _ = sink.tx.blocking_send(Err(e));
            }
        }
        crate::metrics::export(started.elapsed());
    });
    Export {
        content_type,
        filename,
        body: rx,
    }
}

/// Buffers output and sends it in chunks.
struct Sink {
    tx: mpsc::Sender<Result<Bytes, AppError>>,
    buf: Vec<u8>,
}

impl Sink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), AppError> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn write_json<T: serde::Serialize>(&mut self, value: &T) -> Result<(), AppError> {
        serde_json::to_writer(&mut self.buf, value).map_err(AppError::internal)?;
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), AppError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| AppError::internal("the client went away"))
    }
}

fn produce(pool: &DbPool, job: &Job, out: &mut Sink) -> Result<(), AppError> {
    match job.format {
        ExportFormat::Json => json_export(pool, job, out),
        ExportFormat::Csv => csv_export(pool, job, out),
        ExportFormat::Blt => blt_export(pool, job, out),
    }
}

/// Calls `f` on every ballot in tracking-code order. A connection is held
/// only while a page is read, never while waiting on a slow client, so
/// downloads cannot drain the pool.
fn each_ballot(
    pool: &DbPool,
    election: ElectionId,
    mut f: impl FnMut(&StoredBallot) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let mut after: Option<String> = None;
    loop {
        let rows = db::with_conn(pool, |c| {
            Ok(ballot_page(c, election, after.as_deref(), PAGE)?)
        })?;
        for row in &rows {
            f(row)?;
        }
        if (rows.len() as i64) < PAGE {
            return Ok(());
        }
        after = rows.last().map(|r| r.tracking_code.clone());
    }
}

fn answers_of(
    def: &Definition,
    b: &StoredBallot,
) -> Result<Vec<crate::ballots::model::Answer>, AppError> {
    rules::decode(def, &b.content).ok_or_else(|| {
        AppError::internal(format!("ballot {} has unreadable content", b.tracking_code))
    })
}

/// `{"format", "election", "merkle_root", "public_key", "ballots": [...],
/// "ballot_count", "results", "signature", "audit_events": [...],
/// "checkpoint"}` (docs/export-format.md).
fn json_export(pool: &DbPool, job: &Job, out: &mut Sink) -> Result<(), AppError> {
    let id = job.election.id;
    out.write(b"{\"format\":")?;
    out.write_json(&JSON_FORMAT)?;
    out.write(b",\"election\":")?;
    out.write_json(&job.election)?;
    out.write(b",\"merkle_root\":")?;
    out.write_json(&job.election.merkle_root)?;
    out.write(b",\"public_key\":")?;
    out.write_json(&job.public_key)?;
    out.write(b",\"ballots\":[\n")?;
    let mut n: u64 = 0;
    each_ballot(pool, id, |b| {
        if n > 0 {
            out.write(b",\n")?;
        }
        n += 1;
        out.write_json(&json!({
            "tracking_code": b.tracking_code,
            "ballot_hash": b.ballot_hash,
            "salt": b.salt,
            "answers": answers_of(&job.def, b)?,
        }))
    })?;
    out.write(b"\n],\"ballot_count\":")?;
    out.write_json(&n)?;
    out.write(b",\"results\":")?;
    out.write_json(&job.results)?;
    out.write(b",\"signature\":")?;
    out.write_json(&job.results.as_ref().and_then(|r| r.get("signature")))?;
    out.write(b",\"audit_events\":[\n")?;
    let mut after = None;
    let mut first = true;
    let last = job.checkpoint.seq;
    'pages: loop {
        let rows = db::with_conn(pool, |c| {
            Ok(crate::audit::repo::page(c, Some(id), after, PAGE)?)
        })?;
        for row in &rows {
            if row.seq > last {
                break 'pages;
            }
            if !first {
                out.write(b",\n")?;
            }
            first = false;
            let event = AuditEvent::from_row(row.clone());
            if is_redactable(&event.action) {
                out.write_json(&event.redacted())?;
            } else {
                out.write_json(&event)?;
            }
        }
        if (rows.len() as i64) < PAGE {
            break;
        }
        after = rows.last().map(|r| r.seq);
    }
    out.write(b"\n],\"checkpoint\":")?;
    out.write_json(&job.checkpoint)?;
    out.write(b"}\n")
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Whether a method takes rankings (else selection sets).
pub fn is_ranked(method: Method) -> bool {
    !matches!(method, Method::Plurality | Method::Approval)
}

/// `tracking_code,ballot_hash,<prompt> (<question id>),...,salt`; a
/// ranking's option ids joined by `>` (first preference first), a set's by
/// `;`; an empty cell is a blank answer. The salt comes last so that the v1
/// columns keep their places.
fn csv_export(pool: &DbPool, job: &Job, out: &mut Sink) -> Result<(), AppError> {
    let mut header = String::from("tracking_code,ballot_hash");
    for q in &job.def.questions {
        header.push(',');
        header.push_str(&csv_field(&format!("{} ({})", q.prompt, q.id)));
    }
    header.push_str(",salt\r\n");
    out.write(header.as_bytes())?;
    let mut line = String::new();
    each_ballot(pool, job.election.id, |b| {
        line.clear();
        line.push_str(&b.tracking_code);
        line.push(',');
        line.push_str(&b.ballot_hash);
        for (q, a) in job.def.questions.iter().zip(answers_of(&job.def, b)?) {
            let sep = if is_ranked(q.method) { ">" } else { ";" };
            line.push(',');
            line.push_str(
                &a.selections
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join(sep),
            );
        }
        line.push(',');
        line.push_str(&b.salt);
        line.push_str("\r\n");
        out.write(line.as_bytes())
    })
}

/// One ranked question as BLT: candidates are the options in position
/// order, named by their option ids; one weight-1 line per ballot; the
/// title is the question's prompt.
fn blt_export(pool: &DbPool, job: &Job, out: &mut Sink) -> Result<(), AppError> {
    let qi = job
        .question
        .ok_or_else(|| AppError::internal("a BLT export without a question"))?;
    let q = job
        .def
        .questions
        .get(qi)
        .ok_or_else(|| AppError::internal("a BLT export of an unknown question"))?;
    out.write(format!("{} {}\n", q.options.len(), q.seats).as_bytes())?;
    let mut line = String::new();
    each_ballot(pool, job.election.id, |b| {
        let part = b.content.split(';').nth(qi).ok_or_else(|| {
            AppError::internal(format!("ballot {} has unreadable content", b.tracking_code))
        })?;
        line.clear();
        line.push('1');
        for p in part.split(',').filter(|p| !p.is_empty()) {
            let pos: usize = p.parse().map_err(AppError::internal)?;
            line.push(' ');
            line.push_str(&(pos + 1).to_string());
        }
        line.push_str(" 0\n");
        out.write(line.as_bytes())
    })?;
    out.write(b"0\n")?;
    for o in &q.options {
        out.write(format!("\"{o}\"\n").as_bytes())?;
    }
    // BLT names hold neither a double quote nor a line break.
    let title: String = q
        .prompt
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    out.write(format!("\"{title}\"\n").as_bytes())
}
