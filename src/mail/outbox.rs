//! Queuing: what the services call, inside their own transactions, when
//! something happens that mail should announce. Without `mail.smtp_url`
//! there is no `Outbox` and nothing is queued.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::model::{MailId, MailKind, MailRow, QUEUED};
use super::repo;
use crate::config::MailSettings;
use crate::db::types::Time;
use crate::db::DbConnection;
use crate::elections::ElectionId;
use crate::error::AppError;
use crate::users::UserId;

/// Seals the one secret a message carries (an invitation token) so that the
/// outbox in the database never holds a usable token: ChaCha20-Poly1305
/// under a key derived from the server's token secret, bound to the
/// message's id. Every instance shares that secret, so any sender opens it.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl Sealer {
    /// None only if HMAC refused the key, which it never does for any length.
    pub fn derive(server_secret: &[u8]) -> Option<Self> {
        let mut mac = Hmac::<Sha256>::new_from_slice(server_secret).ok()?;
        mac.update(b"ballotbox-mail-seal\0");
        Some(Self {
            key: mac.finalize().into_bytes().into(),
        })
    }

    pub fn seal(&self, id: MailId, secret: &str) -> Option<Vec<u8>> {
        let cipher = ChaCha20Poly1305::new(&Key::from(self.key));
        let mut nonce = [0u8; 12];
        crate::crypto::fill_random(&mut nonce);
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: id.0.as_bytes(),
                },
            )
            .ok()?;
        Some([nonce.as_slice(), &sealed].concat())
    }

    pub fn open(&self, id: MailId, sealed: &[u8]) -> Option<String> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, body) = sealed.split_at(12);
        let nonce = Nonce::try_from(nonce).ok()?;
        let cipher = ChaCha20Poly1305::new(&Key::from(self.key));
        let plain = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: body,
                    aad: id.0.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// The queue handle the services get when mail is configured.
#[derive(Clone)]
pub struct Outbox {
    locale: String,
    sealer: Sealer,
}

impl Outbox {
    /// The outbox of these settings, or None when mail is off.
    pub fn new(settings: &MailSettings, server_secret: &[u8]) -> Option<Self> {
        if !settings.enabled() {
            return None;
        }
        Some(Self {
            locale: settings.locale.clone(),
            sealer: Sealer::derive(server_secret)?,
        })
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    fn row(
        &self,
        kind: MailKind,
        to: &str,
        user: UserId,
        election: Option<ElectionId>,
        now: Time,
    ) -> MailRow {
        MailRow {
            id: MailId::new(),
            kind: kind.as_str().into(),
            to_addr: to.trim().to_string(),
            user_id: Some(user),
            election_id: election,
            locale: self.locale.clone(),
            secret_sealed: None,
            status: QUEUED.into(),
            attempts: 0,
            last_error: None,
            next_attempt_at: now,
            claimed_until: None,
            created_at: now,
            sent_at: None,
        }
    }

    /// Queues the invitation of a user created without a password.
    pub fn invite(
        &self,
        conn: &mut DbConnection,
        user: UserId,
        email: &str,
        token: &str,
    ) -> Result<(), AppError> {
        let mut row = self.row(MailKind::Invitation, email, user, None, Time::now());
        row.secret_sealed = Some(
            self.sealer
                .seal(row.id, token)
                .ok_or_else(|| AppError::internal("cannot seal an invitation"))?,
        );
        repo::insert(conn, &row)?;
        Ok(())
    }

    /// Queues one message of `kind` about `election` to each recipient; the
    /// recipients come from the roll alone (see `repo::recipients`).
    pub fn announce(
        &self,
        conn: &mut DbConnection,
        kind: MailKind,
        election: ElectionId,
        recipients: &[(UserId, String)],
    ) -> Result<usize, AppError> {
        let now = Time::now();
        for (user, email) in recipients {
            repo::insert(conn, &self.row(kind, email, *user, Some(election), now))?;
        }
        Ok(recipients.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_with_the_same_secret_and_message() {
        let s = Sealer::derive(b"server secret").unwrap();
        let id = MailId::new();
        let sealed = s.seal(id, "tok-123").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("tok-123"));
        assert_eq!(s.open(id, &sealed).as_deref(), Some("tok-123"));
        assert!(s.open(MailId::new(), &sealed).is_none());
        assert!(Sealer::derive(b"other")
            .unwrap()
            .open(id, &sealed)
            .is_none());
    }
}
