//! The SMTP connection (lettre): `smtps://` is TLS from the first byte,
//! `smtp://...?tls=required` is STARTTLS. Credentials come from the
//! environment only and never reach a log line or an error text.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::SmtpTransport;

use crate::config::{Environment, MailSettings};

pub const USERNAME_VAR: &str = "BALLOTBOX_SMTP_USERNAME";
pub const PASSWORD_VAR: &str = "BALLOTBOX_SMTP_PASSWORD";

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks `mail.smtp_url` without connecting: the scheme, no credentials in
/// it, and (in production) encryption unless the server is on this machine.
pub fn check_url(url: &str, env: Environment) -> Result<(), String> {
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or("must start with smtp:// or smtps://")?;
    if scheme != "smtp" && scheme != "smtps" {
        return Err("must start with smtp:// or smtps://".into());
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!(
            "must not carry credentials: set {USERNAME_VAR} and {PASSWORD_VAR} instead"
        ));
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !port.contains(']') => {
            port.parse::<u16>().map_err(|_| "has an invalid port")?;
            h
        }
        _ => authority,
    };
    if host.is_empty() {
        return Err("names no host".into());
    }
    let starttls = rest.contains("tls=required");
    if env == Environment::Production && scheme == "smtp" && !starttls && !is_loopback(host) {
        return Err(
            "plain smtp:// to another machine; use smtps:// or smtp://...?tls=required".into(),
        );
    }
    SmtpTransport::from_url(url.trim()).map_err(|_| "is not a valid SMTP URL")?;
    Ok(())
}

/// The transport for these settings, with credentials from the environment.
pub fn build(settings: &MailSettings) -> Result<SmtpTransport, String> {
    let mut builder = SmtpTransport::from_url(settings.smtp_url.trim())
        .map_err(|_| "mail.smtp_url is not a valid SMTP URL".to_string())?
        .timeout(Some(Duration::from_secs(settings.timeout_secs)));
    match (std::env::var(USERNAME_VAR), std::env::var(PASSWORD_VAR)) {
        (Ok(user), Ok(password)) if !user.is_empty() => {
            builder = builder.credentials(Credentials::new(user, password));
        }
        (Ok(user), Err(_)) if !user.is_empty() => {
            return Err(format!("{USERNAME_VAR} is set but {PASSWORD_VAR} is not"));
        }
        _ => {}
    }
    Ok(builder.build())
}

/// What an attempt's failure means.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// 4xx, a connection refused or lost, a timeout: try again later.
    Temporary(String),
    /// 5xx: the server refused the message for good.
    Permanent(String),
}

pub fn classify(e: &lettre::transport::smtp::Error) -> Failure {
    // lettre's Display carries the server's answer or the I/O cause, never
    // the credentials.
    let text: String = e.to_string().chars().take(500).collect();
    if e.is_permanent() {
        Failure::Permanent(text)
    } else {
        Failure::Temporary(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_credentials_and_encrypted_off_this_machine() {
        let dev = Environment::Development;
        let prod = Environment::Production;
        assert!(check_url("smtp://127.0.0.1:2525", dev).is_ok());
        assert!(check_url("smtp://127.0.0.1:2525", prod).is_ok());
        assert!(check_url("smtps://mail.example.org", prod).is_ok());
        assert!(check_url("smtp://mail.example.org:587?tls=required", prod).is_ok());
        assert!(check_url("smtp://mail.example.org:587", prod).is_err());
        assert!(check_url("smtp://u:p@mail.example.org", dev).is_err());
        assert!(check_url("http://mail.example.org", dev).is_err());
        assert!(check_url("smtp://:25", dev).is_err());
    }
}
