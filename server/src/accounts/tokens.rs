//! Who is asking: Argon2id password hashes, HS256 session tokens, and where a request
//! carries its token (a Bearer header or the session cookie).
//!
//! Verification pins HS256, requires `exp`, `iss`, `sub` and `sid`, allows no clock leeway
//! (the same server issues and checks), and rejects everything else: `alg: none`, other
//! algorithms, other secrets, other issuers. A token that verifies is only half the check:
//! its session (`sid`) must also be live ([`crate::sessions`]).

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
    /// The server-side session the token belongs to (32 hex digits).
    #[serde(default)]
    pub sid: String,
    /// The user's kitchen. Tokens issued before there were kitchens lack it; their users
    /// were all moved into kitchen 1 by the migration that made kitchens.
    #[serde(default = "kitchen_of_earlier_tokens")]
    pub kitchen: i64,
}

fn kitchen_of_earlier_tokens() -> i64 {
    1
}

/// A server-side session's id: 128 random bits, written as 32 hex digits in tokens and in
/// the database. Kept as two `u64`s rather than a `u128`: 8-byte alignment keeps the hub's
/// per-socket entry (which holds one) small.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SessionId([u64; 2]);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> SessionId {
        SessionId([OsRng.next_u64(), OsRng.next_u64()])
    }

    /// The id with this numeric value (tests name sessions by small numbers).
    pub fn from_u128(value: u128) -> SessionId {
        // Splitting a u128 into its halves: the truncation is the point.
        #[allow(clippy::cast_possible_truncation)]
        SessionId([(value >> 64) as u64, value as u64])
    }

    /// Parses the 32-hex-digit form.
    pub fn parse(text: &str) -> Option<SessionId> {
        (text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| u128::from_str_radix(text, 16).ok().map(SessionId::from_u128))
            .flatten()
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:016x}{:016x}", self.0[0], self.0[1])
    }
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
    /// The session the token belongs to.
    pub session: SessionId,
    /// The kitchen the user belongs to: everything they see and change is of this kitchen.
    pub kitchen_id: i64,
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

    /// A signed token for `user` in `session`, issued now.
    pub fn issue(&self, user: &User, session: SessionId) -> String {
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
            sid: session.to_string(),
            kitchen: user.kitchen_id,
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
        self.verify_with(token, &self.validation)
    }

    /// Like [`TokenKeys::verify`] but accepts an expired token: signing out with one must
    /// still end its session.
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<AuthUser, TokenError> {
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        self.verify_with(token, &validation)
    }

    fn verify_with(&self, token: &str, validation: &Validation) -> Result<AuthUser, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, validation).map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        let id = claims.sub.parse::<i64>().map_err(|_| TokenError::Invalid)?;
        let session = SessionId::parse(&claims.sid).ok_or(TokenError::Invalid)?;
        Ok(AuthUser {
            id,
            role: claims.role,
            first_name: claims.first_name,
            last_name: claims.last_name,
            expires_at: claims.exp,
            session,
            kitchen_id: claims.kitchen,
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

/// Characters of temporary passwords: letters and digits that cannot be mistaken for each
/// other when read aloud or copied by hand (no 0/O, 1/l/I).
const TEMPORARY_PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Length of a temporary password: 20 characters of a 56-letter alphabet, 116 bits.
pub const TEMPORARY_PASSWORD_CHARS: usize = 20;

/// A fresh temporary password, drawn uniformly (rejection sampling) from the OS's CSPRNG.
pub fn temporary_password() -> String {
    let alphabet_len = TEMPORARY_PASSWORD_ALPHABET.len();
    // The largest multiple of the alphabet's length that fits a byte: bytes above it are
    // redrawn, so every character is equally likely.
    let limit = 256 - 256 % alphabet_len;
    let mut password = String::with_capacity(TEMPORARY_PASSWORD_CHARS);
    while password.len() < TEMPORARY_PASSWORD_CHARS {
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        if usize::from(byte[0]) < limit {
            password.push(char::from(TEMPORARY_PASSWORD_ALPHABET[usize::from(byte[0]) % alphabet_len]));
        }
    }
    password
}

/// Shortest and longest accepted new password, in characters.
pub const PASSWORD_CHARS: (usize, usize) = (12, 128);

/// Checks a new password against the contract's rules; the error names the broken rule.
pub fn check_new_password(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < PASSWORD_CHARS.0 || length > PASSWORD_CHARS.1 {
        return Err(format!("newPassword must be {} to {} characters long", PASSWORD_CHARS.0, PASSWORD_CHARS.1));
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err("newPassword must not be the email address".into());
    }
    Ok(())
}

/// A new database epoch: 16 random hex digits.
pub fn generate_epoch() -> String {
    format!("{:016x}", OsRng.next_u64())
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
            active: true,
            kitchen_id: 7,
        }
    }

    #[test]
    fn an_issued_token_verifies_to_its_user() {
        let keys = TokenKeys::new(&[7; 32], Duration::from_secs(60));
        let session = SessionId::generate();
        let user = keys.verify(&keys.issue(&chef(), session)).unwrap();
        assert_eq!((user.id, user.role, user.first_name.as_str(), user.kitchen_id), (1, Role::HeadChef, "Gordon", 7));
        assert_eq!(user.session, session);
    }

    #[test]
    fn another_secret_or_issuer_is_refused() {
        let keys = TokenKeys::new(&[7; 32], Duration::from_secs(60));
        let stranger = TokenKeys::new(&[8; 32], Duration::from_secs(60));
        assert_eq!(keys.verify(&stranger.issue(&chef(), SessionId::generate())), Err(TokenError::Invalid));
        let now = chrono::Utc::now().timestamp();
        let foreign = Claims {
            sub: "1".into(),
            role: Role::HeadChef,
            first_name: "G".into(),
            last_name: "R".into(),
            iat: now,
            exp: now + 60,
            iss: "someone-else".into(),
            sid: SessionId::generate().to_string(),
            kitchen: 1,
        };
        assert_eq!(keys.verify(&keys.sign(&foreign)), Err(TokenError::Invalid));
        assert_eq!(
            keys.verify(&keys.sign(&Claims { iss: ISSUER.into(), exp: now - 1, ..foreign.clone() })),
            Err(TokenError::Expired)
        );
        // A token without a session is not one this server issued.
        assert_eq!(
            keys.verify(&keys.sign(&Claims { iss: ISSUER.into(), sid: String::new(), ..foreign })),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn session_ids_round_trip_through_their_text() {
        let session = SessionId::generate();
        assert_eq!(SessionId::parse(&session.to_string()), Some(session));
        assert_eq!(SessionId::parse("not-hex"), None);
        assert_eq!(SessionId::parse(&"f".repeat(33)), None);
        assert_eq!(SessionId::parse("+fffffffffffffffffffffffffffffff"), None);
    }

    #[test]
    fn temporary_passwords_are_long_random_and_unambiguous() {
        let first = temporary_password();
        assert_eq!(first.chars().count(), TEMPORARY_PASSWORD_CHARS);
        assert!(first.bytes().all(|byte| TEMPORARY_PASSWORD_ALPHABET.contains(&byte)));
        assert_ne!(first, temporary_password());
        assert!(check_new_password(&first, "cook@example.com").is_ok());
    }

    #[test]
    fn new_passwords_follow_the_rules() {
        assert!(check_new_password("short", "a@b.dk").unwrap_err().contains("12 to 128"));
        assert!(check_new_password(&"x".repeat(129), "a@b.dk").is_err());
        assert!(check_new_password("Cook@Kitchen.dk", "cook@kitchen.dk").unwrap_err().contains("email"));
        assert!(check_new_password("a long enough passphrase", "cook@kitchen.dk").is_ok());
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
