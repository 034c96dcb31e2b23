//! Idempotent retries without linking voter and ballot in the database: the
//! receipt of a keyed cast is stored sealed (ChaCha20-Poly1305) under a key
//! derived by HMAC-SHA256 from the server's token secret, the election, the
//! voter and the client's `Idempotency-Key`. The database holds only a hash
//! of that derived key and the sealed bytes; without the client's key and
//! the server secret it reveals neither the tracking code nor the ballot.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Receipt;
use crate::elections::ElectionId;
use crate::users::UserId;

/// The longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 255;

/// What a keyed cast remembers, sealed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Remembered {
    /// SHA-256 of the canonical request body: a different body under the
    /// same key is refused.
    pub request_hash: String,
    pub receipt: Receipt,
}

/// The per-voter, per-election key material of one idempotency key.
#[derive(Clone)]
pub struct SealKey {
    key: [u8; 32],
    /// Stored to find the participation's seal again.
    pub lookup: String,
}

impl SealKey {
    /// None only if HMAC refused the key, which it never does for any length.
    pub fn derive(
        secret: &[u8],
        election: ElectionId,
        voter: UserId,
        idempotency_key: &str,
    ) -> Option<Self> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
        mac.update(b"ballotbox-idempotency\0");
        mac.update(election.0.as_bytes());
        mac.update(voter.0.as_bytes());
        mac.update(idempotency_key.as_bytes());
        let root: [u8; 32] = mac.finalize().into_bytes().into();
        let key: [u8; 32] = Sha256::digest([b"seal".as_slice(), &root].concat()).into();
        let lookup = hex::encode(Sha256::digest([b"lookup".as_slice(), &root].concat()));
        Some(Self { key, lookup })
    }

    pub fn seal(&self, remembered: &Remembered) -> Option<Vec<u8>> {
        let cipher = ChaCha20Poly1305::new(&Key::from(self.key));
        let mut nonce = [0u8; 12];
        crate::crypto::fill_random(&mut nonce);
        let plain = serde_json::to_vec(remembered).ok()?;
        let sealed = cipher.encrypt(&Nonce::from(nonce), plain.as_slice()).ok()?;
        Some([nonce.as_slice(), &sealed].concat())
    }

    pub fn open(&self, sealed: &[u8]) -> Option<Remembered> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, body) = sealed.split_at(12);
        let nonce = Nonce::try_from(nonce).ok()?;
        let cipher = ChaCha20Poly1305::new(&Key::from(self.key));
        let plain = cipher.decrypt(&nonce, body).ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_key_opens_the_seal() {
        let (e, v) = (ElectionId::new(), UserId::new());
        let r = Remembered {
            request_hash: "h".into(),
            receipt: Receipt {
                election_id: e,
                tracking_code: "K7Q2M9XR4T8W3N6P".into(),
                ballot_hash: "b".into(),
                cast_at: "now".into(),
                kid: "k".into(),
                signature: "s".into(),
            },
        };
        let k = SealKey::derive(b"secret", e, v, "key-1").unwrap();
        let sealed = k.seal(&r).unwrap();
        assert_eq!(k.open(&sealed).unwrap().receipt, r.receipt);
        let other = SealKey::derive(b"secret", e, v, "key-2").unwrap();
        assert_ne!(other.lookup, k.lookup);
        assert!(other.open(&sealed).is_none());
        assert!(SealKey::derive(b"other secret", e, v, "key-1")
            .unwrap()
            .open(&sealed)
            .is_none());
        assert!(!String::from_utf8_lossy(&sealed).contains("K7Q2M9XR4T8W3N6P"));
    }
}
