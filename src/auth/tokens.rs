//! Access tokens (HS256 JWTs, at most 15 minutes, bound to a session) and the
//! opaque random tokens used for refresh and invitations.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthSettings;
use crate::crypto::{sha256_hex, Keys};
use crate::users::{Role, UserId};

use super::SessionId;

/// The only `typ` an access token may carry: a refresh token or any other
/// JWT cannot stand in for it.
pub const ACCESS_TYP: &str = "access";
/// Clock leeway allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub sid: SessionId,
    pub roles: Vec<Role>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub typ: String,
}

/// Signs an access token with the current secret (its `kid` in the header).
pub fn issue_access_token(
    keys: &Keys,
    settings: &AuthSettings,
    user: UserId,
    session: SessionId,
    roles: &[Role],
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: user,
        sid: session,
        roles: roles.to_vec(),
        iat: now,
        nbf: now,
        exp: now + settings.access_token_ttl_secs,
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        typ: ACCESS_TYP.into(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(keys.jwt.kid.clone());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(&keys.jwt.secret),
    )
}

/// Verifies an access token fully: HS256 only, a known `kid`, the signature,
/// every claim present, `exp`/`nbf`/`iat` with 30 s leeway, `iss`, `aud` and
/// `typ`. Any failure is `None`; the reason is not told to the caller.
pub fn verify_access_token(keys: &Keys, settings: &AuthSettings, token: &str) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::HS256 {
        return None;
    }
    let kid = header.kid?;
    let key = std::iter::once(&keys.jwt)
        .chain(keys.jwt_previous.iter())
        .find(|k| k.kid == kid)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    let data =
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&key.secret), &validation)
            .ok()?;
    let claims = data.claims;
    let now = chrono::Utc::now().timestamp();
    let too_long = claims.exp - claims.iat > settings.access_token_ttl_secs.max(900);
    let from_future = claims.iat > now + LEEWAY_SECS as i64;
    if claims.typ != ACCESS_TYP || too_long || from_future {
        return None;
    }
    Some(claims)
}

/// 256 random bits, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    crate::crypto::fill_random(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored in place of a token.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Environment, Settings};

    fn setup() -> (Keys, AuthSettings) {
        let settings = Settings::load_from(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config")),
            Environment::Test,
            false,
        )
        .unwrap();
        (Keys::generate(), settings.auth)
    }

    #[test]
    fn a_fresh_token_verifies_and_carries_its_claims() {
        let (keys, s) = setup();
        let (user, sid) = (UserId::new(), SessionId::new());
        let t = issue_access_token(&keys, &s, user, sid, &[Role::Voter]).unwrap();
        let c = verify_access_token(&keys, &s, &t).unwrap();
        assert_eq!((c.sub, c.sid, c.roles), (user, sid, vec![Role::Voter]));
    }

    #[test]
    fn another_secret_or_audience_is_refused() {
        let (keys, s) = setup();
        let t = issue_access_token(&keys, &s, UserId::new(), SessionId::new(), &[]).unwrap();
        assert!(verify_access_token(&Keys::generate(), &s, &t).is_none());
        let mut other = s.clone();
        other.audience = "someone-else".into();
        assert!(verify_access_token(&keys, &other, &t).is_none());
    }

    #[test]
    fn previous_secrets_still_verify_after_rotation() {
        let (old, s) = setup();
        let t = issue_access_token(&old, &s, UserId::new(), SessionId::new(), &[]).unwrap();
        let mut rotated = Keys::generate();
        rotated.jwt_previous.push(old.jwt.clone());
        assert!(verify_access_token(&rotated, &s, &t).is_some());
    }

    #[test]
    fn random_tokens_are_256_bits_and_distinct() {
        let a = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, random_token());
        assert_eq!(hash_token(&a).len(), 64);
    }
}
