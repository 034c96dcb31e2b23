//! The server under test: started, killed with SIGKILL, restarted; the
//! database outage; the end-of-run close, tally, export and verify.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{post, Args, Res};

pub struct Server {
    child: Child,
    pub restarts: usize,
}

fn spawn(args: &Args) -> Res<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(args.data_dir.join("castcheck-server.log"))?;
    Ok(Command::new(&args.bin)
        .args(["serve", "--bind", &format!("127.0.0.1:{}", args.port)])
        .env("BALLOTBOX_ENV", "development")
        .env("BALLOTBOX__DATA__DIR", &args.data_dir)
        .env("DATABASE_URL", &args.database_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?)
}

/// Waits until `/healthz` answers (the process is up, whatever the database).
async fn wait_up(port: u16, limit: Duration) -> Res<()> {
    let http = reqwest::Client::new();
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the server did not answer on port {port} within {limit:?}").into())
}

impl Server {
    pub async fn start(args: &Args) -> Res<Server> {
        let child = spawn(args)?;
        wait_up(args.port, Duration::from_secs(60)).await?;
        Ok(Server { child, restarts: 0 })
    }

    /// SIGKILL, then start again on the same port and data.
    pub async fn kill_and_restart(&mut self, args: &Args) -> Res<()> {
        self.child.kill()?;
        self.child.wait()?;
        self.child = spawn(args)?;
        self.restarts += 1;
        wait_up(args.port, Duration::from_secs(60)).await
    }

    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stops the database abruptly, keeps it down, starts it; checks that the
/// service answers `/readyz` 503 quickly meanwhile (never hangs) and 200
/// again afterwards without a restart. The outage's length in seconds.
pub async fn outage(base: &str, stop: &str, start: &str, secs: f64) -> Res<f64> {
    let sh = |cmd: &str| -> Res<()> {
        let ok = Command::new("sh").args(["-c", cmd]).status()?.success();
        if ok {
            Ok(())
        } else {
            Err(format!("`{cmd}` failed").into())
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let began = Instant::now();
    sh(stop)?;
    eprintln!("castcheck: database stopped");
    let mut slowest = Duration::ZERO;
    while began.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        let status = http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16());
        slowest = slowest.max(t.elapsed());
        if let Ok(200) = status {
            return Err("readyz said 200 while the database was down".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if slowest > Duration::from_secs(5) {
        return Err(format!("readyz took {slowest:?} while the database was down").into());
    }
    sh(start)?;
    let down = began.elapsed().as_secs_f64();
    eprintln!("castcheck: database started again after {down:.0} s");
    let back = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().as_u16() == 200 {
                break;
            }
        }
        if back.elapsed() > Duration::from_secs(60) {
            return Err("the service did not recover within 60 s of the database's return".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(down)
}

/// Closes, tallies and exports the election; the export, also written to
/// the data folder for `verify`.
pub async fn close_tally_export(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    eid: &str,
    args: &Args,
) -> Res<Value> {
    post(
        http,
        base,
        &format!("/api/v1/elections/{eid}/close"),
        admin,
        &json!({}),
    )
    .await?;
    post(
        http,
        base,
        &format!("/api/v1/elections/{eid}/tally"),
        admin,
        &json!({}),
    )
    .await?;
    let resp = http
        .get(format!("{base}/api/v1/elections/{eid}/export?format=json"))
        .bearer_auth(admin)
        .timeout(Duration::from_secs(120))
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(format!("export: {}", resp.status()).into());
    }
    let text = resp.text().await?;
    std::fs::write(args.data_dir.join("castcheck-export.json"), &text)?;
    Ok(serde_json::from_str(&text)?)
}

/// `ballotbox verify` on the export with the server's public key.
pub fn verify(args: &Args, _export: &Value) -> Res<bool> {
    let out = Command::new(&args.bin)
        .arg("verify")
        .arg(args.data_dir.join("castcheck-export.json"))
        .output()?;
    if !out.status.success() {
        eprintln!(
            "castcheck: verify failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.status.success())
}

/// Roll members marked as having voted.
pub async fn voted_count(http: &reqwest::Client, base: &str, admin: &str, eid: &str) -> Res<usize> {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "500".to_string())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let page: Value = http
            .get(format!("{base}/api/v1/elections/{eid}/voters"))
            .query(&query)
            .bearer_auth(admin)
            .send()
            .await?
            .json()
            .await?;
        let items = page["items"]
            .as_array()
            .ok_or_else(|| format!("voters page: {page}"))?;
        n += items.iter().filter(|v| v["has_voted"] == true).count();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(n),
        }
    }
}
