//! The service's keys: an HMAC secret for access tokens (only this service
//! verifies them) and an Ed25519 key that signs receipts and results (anyone
//! verifies those). Development generates missing keys into the data folder;
//! production refuses to start without them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::config::{Environment, Settings};

/// An HMAC-SHA256 secret and its key id.
#[derive(Clone)]
pub struct HmacKey {
    pub kid: String,
    pub secret: Vec<u8>,
}

impl HmacKey {
    pub fn new(secret: Vec<u8>) -> Self {
        // The kid names the key without revealing anything usable about it.
        let kid = format!(
            "hs-{}",
            &hex::encode(Sha256::digest(
                [b"ballotbox-kid:".as_slice(), &secret].concat()
            ))[..16]
        );
        Self { kid, secret }
    }
}

/// The Ed25519 key that signs receipts and results.
#[derive(Clone)]
pub struct Signer {
    pub kid: String,
    key: SigningKey,
}

impl Signer {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let kid = format!(
            "ed-{}",
            &hex::encode(Sha256::digest(key.verifying_key().as_bytes()))[..16]
        );
        Self { kid, key }
    }

    /// Base64 Ed25519 signature of `message`.
    pub fn sign_b64(&self, message: &[u8]) -> String {
        B64.encode(self.key.sign(message).to_bytes())
    }

    /// The base64 raw 32-byte public key.
    pub fn public_key_b64(&self) -> String {
        B64.encode(self.key.verifying_key().as_bytes())
    }
}

/// Checks a base64 Ed25519 signature against a base64 public key.
pub fn verify_b64(public_key_b64: &str, message: &[u8], signature_b64: &str) -> bool {
    let Ok(pk) = B64.decode(public_key_b64) else {
        return false;
    };
    let Ok(pk) = <[u8; 32]>::try_from(pk.as_slice()) else {
        return false;
    };
    let Ok(pk) = VerifyingKey::from_bytes(&pk) else {
        return false;
    };
    let Ok(sig) = B64.decode(signature_b64) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else {
        return false;
    };
    pk.verify(message, &sig).is_ok()
}

/// Every key the service holds.
#[derive(Clone)]
pub struct Keys {
    /// Signs new access tokens.
    pub jwt: HmacKey,
    /// Still verify tokens signed before a rotation.
    pub jwt_previous: Vec<HmacKey>,
    pub signer: Signer,
}

impl Keys {
    /// Loads keys from configuration, or (outside production) from or into
    /// `{data.dir}/keys/`.
    pub fn load(settings: &Settings) -> Result<Self, String> {
        let k = &settings.keys;
        let dir = key_dir(&settings.data.dir);
        let production = settings.environment == Environment::Production;
        let jwt = load_secret(
            "keys.jwt_secret",
            &k.jwt_secret,
            &k.jwt_secret_file,
            &dir.join("jwt-secret"),
            production,
        )?;
        if jwt.len() < 32 {
            return Err("keys.jwt_secret must hold at least 32 bytes (256 bits)".into());
        }
        let seed = load_secret(
            "keys.signing_key",
            &k.signing_key,
            &k.signing_key_file,
            &dir.join("signing-key"),
            production,
        )?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| "keys.signing_key must be the base64 of a 32-byte Ed25519 seed")?;
        let jwt_previous = previous_secrets(&k.jwt_previous_secrets)?;
        Ok(Self {
            jwt: HmacKey::new(jwt),
            jwt_previous,
            signer: Signer::from_seed(seed),
        })
    }

    /// Fresh random keys (for tests and tools).
    pub fn generate() -> Self {
        Self {
            jwt: HmacKey::new(random_bytes().to_vec()),
            jwt_previous: Vec::new(),
            signer: Signer::from_seed(random_bytes()),
        }
    }
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    crate::crypto::fill_random(&mut bytes);
    bytes
}

fn load_secret(
    name: &str,
    inline: &str,
    file: &str,
    generated: &Path,
    production: bool,
) -> Result<Vec<u8>, String> {
    let decode = |text: &str, from: &str| {
        B64.decode(text.trim())
            .map_err(|_| format!("{name}: the value from {from} is not base64"))
    };
    if !inline.trim().is_empty() {
        return decode(inline, "the configuration");
    }
    if !file.trim().is_empty() {
        let text = fs::read_to_string(file).map_err(|e| format!("{name}_file `{file}`: {e}"))?;
        return decode(&text, file);
    }
    if production {
        return Err(format!(
            "production needs {name} or {name}_file (for example BALLOTBOX__{}_FILE=/run/secrets/...); refusing to start",
            name.to_uppercase().replace('.', "__")
        ));
    }
    if generated.exists() {
        // Keys written by an older version may be readable by others.
        if let Some(dir) = generated.parent() {
            crate::private::create_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        crate::private::tighten(generated, 0o600)
            .map_err(|e| format!("{}: {e}", generated.display()))?;
        let text =
            fs::read_to_string(generated).map_err(|e| format!("{}: {e}", generated.display()))?;
        return decode(&text, &generated.display().to_string());
    }
    let bytes = random_bytes();
    write_private(generated, &B64.encode(bytes))?;
    log::info!("generated {name} into {}", generated.display());
    Ok(bytes.to_vec())
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        crate::private::create_dir(dir).map_err(fail)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(fail)?;
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)
}

/// Where development keys live under a data folder.
pub fn key_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

/// Older JWT secrets still accepted during a rotation: each as strong as a
/// current one (at least 32 bytes), or a forged token could ride on a weak
/// one for as long as it is listed.
fn previous_secrets(list: &[String]) -> Result<Vec<HmacKey>, String> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .enumerate()
        .map(|(i, s)| {
            let bytes = B64
                .decode(s.trim())
                .map_err(|_| format!("keys.jwt_previous_secrets[{i}]: not base64"))?;
            if bytes.len() < 32 {
                return Err(format!(
                    "keys.jwt_previous_secrets[{i}] must hold at least 32 bytes (256 bits)"
                ));
            }
            Ok(HmacKey::new(bytes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_jwt_secrets_must_be_as_long_as_current_ones() {
        let short = B64.encode([9u8; 31]);
        let long = B64.encode([9u8; 32]);
        let err = previous_secrets(&[long.clone(), short])
            .err()
            .unwrap_or_default();
        assert!(err.contains("jwt_previous_secrets[1]"), "{err}");
        assert!(
            !err.contains(&B64.encode([9u8; 31])),
            "no secret in the error"
        );
        assert_eq!(
            previous_secrets(&[long, " ".into()]).map(|v| v.len()),
            Ok(1)
        );
        assert!(previous_secrets(&["not base64!".into()]).is_err());
    }

    #[test]
    fn signatures_verify_with_the_public_key_and_fail_when_tampered() {
        let signer = Signer::from_seed([7u8; 32]);
        let sig = signer.sign_b64(b"hello");
        assert!(verify_b64(&signer.public_key_b64(), b"hello", &sig));
        assert!(!verify_b64(&signer.public_key_b64(), b"hellO", &sig));
        assert!(!verify_b64("not base64!", b"hello", &sig));
    }

    #[test]
    fn kids_differ_between_keys() {
        assert_ne!(HmacKey::new(vec![1; 32]).kid, HmacKey::new(vec![2; 32]).kid);
        assert_ne!(
            Signer::from_seed([1; 32]).kid,
            Signer::from_seed([2; 32]).kid
        );
    }
}
