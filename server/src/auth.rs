//! Who is asking: Argon2id password hashes, HS256 session tokens, and where a request
//! carries its token (a Bearer header or the session cookie).
//!
//! Verification pins HS256, requires `exp`, `iss` and `sub`, allows no clock leeway (the same
//! server issues and checks), and rejects everything else: `alg: none`, other algorithms,
//! other secrets, other issuers.

use app::wire::{Person, Role, User, TOKEN_COOKIE};
use argon2::{
    password_hash::{rand_core::OsRng, rand_core::RngCore, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use http::{header, HeaderMap};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `iss` claim of every token this server issues.
pub const ISSUER: &str = "miseos";

/// The claims of a session token, as the contract names them.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// A caller whose token verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthUser {
    pub id: i64,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    /// When the token stops being valid, in Unix seconds.
    pub expires_at: i64,
}

impl AuthUser {
    /// The `{"id", "firstName", "lastName"}` form used in items and notifications.
    pub fn person(&self) -> Person {
        Person { id: self.id, first_name: self.first_name.clone(), last_name: self.last_name.clone() }
    }
}

/// Why a token was refused; [`TokenError::reason`] goes into 401 bodies and 1008 close
/// reasons alike.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("{}", self.reason())]
    Expired,
    #[error("{}", self.reason())]
    Invalid,
}

impl TokenError {
    /// The short reason told to the caller.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Expired => "token expired",
            TokenError::Invalid => "invalid token",
        }
    }
}

/// Issues and verifies session tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    /// Keys for `secret`, issuing tokens valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A signed token for `user`, issued now.
    pub fn issue(&self, user: &User) -> String {
        let now = chrono::Utc::now().timestamp();
        let ttl_seconds = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            iat: now,
            exp: now.saturating_add(ttl_seconds),
            iss: ISSUER.to_string(),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims; tests use it to make expired or odd tokens.
    pub fn sign(&self, claims: &Claims) -> String {
        // HMAC signing of a serializable struct cannot fail; an error here is a bug.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks signature, algorithm, issuer and expiry, and returns the caller.
    pub fn verify(&self, token: &str) -> Result<AuthUser, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|error| {
                match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        let claims = data.claims;
        let id = claims.sub.parse::<i64>().map_err(|_| TokenError::Invalid)?;
        Ok(AuthUser {
            id,
            role: claims.role,
            first_name: claims.first_name,
            last_name: claims.last_name,
            expires_at: claims.exp,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The `miseos_token` cookie, if the request carries one.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == TOKEN_COOKIE)
        .map(|(_, token)| token)
        .filter(|token| !token.is_empty())
}

/// An Argon2id hash (PHC string) of `password`. CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2id with default parameters accepts any password and a fresh salt")
        .to_string()
}

/// Whether `password` matches the PHC `hash`. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A fresh random secret of `MIN_SECRET_BYTES` bytes, hex-encoded.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; crate::config::MIN_SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chef() -> User {
        User {
            id: 1,
            first_name: "Gordon".into(),
            last_name: "Ramsay".into(),
            email: "gordon@miseos.dk".into(),
            role: Role::HeadChef,
        }
    }

    #[test]
    fn an_issued_token_verifies_to_its_user() {
        let keys = TokenKeys::new(&[7; 32], Duration::from_secs(60));
        let user = keys.verify(&keys.issue(&chef())).unwrap();
        assert_eq!((user.id, user.role, user.first_name.as_str()), (1, Role::HeadChef, "Gordon"));
    }

    #[test]
    fn another_secret_or_issuer_is_refused() {
        let keys = TokenKeys::new(&[7; 32], Duration::from_secs(60));
        let stranger = TokenKeys::new(&[8; 32], Duration::from_secs(60));
        assert_eq!(keys.verify(&stranger.issue(&chef())), Err(TokenError::Invalid));
        let now = chrono::Utc::now().timestamp();
        let foreign = Claims {
            sub: "1".into(),
            role: Role::HeadChef,
            first_name: "G".into(),
            last_name: "R".into(),
            iat: now,
            exp: now + 60,
            iss: "someone-else".into(),
        };
        assert_eq!(keys.verify(&keys.sign(&foreign)), Err(TokenError::Invalid));
        assert_eq!(
            keys.verify(&keys.sign(&Claims { iss: ISSUER.into(), exp: now - 1, ..foreign })),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn finds_the_token_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "theme=dark; miseos_token=abc.def.ghi; lang=da".parse().unwrap());
        assert_eq!(cookie_token(&headers), Some("abc.def.ghi"));
        headers.insert(header::COOKIE, "miseos_token=".parse().unwrap());
        assert_eq!(cookie_token(&headers), None);
    }

    #[test]
    fn reads_bearer_tokens_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("mise-en-place");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("mise-en-place", &hash));
        assert!(!verify_password("mise-en-plac", &hash));
        assert!(!verify_password("mise-en-place", "not a hash"));
    }
}
