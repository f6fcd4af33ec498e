//! HS256 session tokens: issued at sign-in and refresh, verified on every request and socket.
//!
//! Verification pins HS256, requires `exp`, `iss`, `sub` and `sid`, allows no clock leeway
//! (the same server issues and checks), and rejects everything else: `alg: none`, other
//! algorithms, other secrets, other issuers. A token that verifies is only half the check:
//! its session (`sid`) must also be live ([`super::Sessions::admit`]).

use crate::event::SessionId;
use app::wire::{KitchenId, Role, User, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `iss` claim of every token this server issues.
pub const ISSUER: &str = "miseos";

/// The smallest accepted signing secret; HS256 with less is guessable.
pub const MIN_SECRET_BYTES: usize = 32;

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

/// What a token that verified says of its holder. Not yet a caller: its session must be
/// live too ([`super::Sessions::admit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHolder {
    pub user: UserId,
    pub kitchen: KitchenId,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    /// When the token stops being valid, in Unix seconds.
    pub expires_at: i64,
    /// The session the token belongs to.
    pub session: SessionId,
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
            TokenError::Expired => app::wire::close_reason::TOKEN_EXPIRED,
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
        crate::jwt_crypto::install();
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

    /// How long the tokens this issues are valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
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
            kitchen: user.kitchen_id.0,
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims; tests use it to make expired or odd tokens.
    pub fn sign(&self, claims: &Claims) -> String {
        // HMAC signing of a serializable struct cannot fail; an error here is a bug.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks signature, algorithm, issuer and expiry, and returns what the token says.
    pub fn verify(&self, token: &str) -> Result<TokenHolder, TokenError> {
        self.verify_with(token, &self.validation)
    }

    /// Like [`TokenKeys::verify`] but accepts an expired token: signing out with one must
    /// still end its session.
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<TokenHolder, TokenError> {
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        self.verify_with(token, &validation)
    }

    fn verify_with(&self, token: &str, validation: &Validation) -> Result<TokenHolder, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, validation).map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        let user = claims.sub.parse::<i64>().map(UserId).map_err(|_| TokenError::Invalid)?;
        let session = SessionId::parse(&claims.sid).ok_or(TokenError::Invalid)?;
        Ok(TokenHolder {
            user,
            kitchen: KitchenId(claims.kitchen),
            role: claims.role,
            first_name: claims.first_name,
            last_name: claims.last_name,
            expires_at: claims.exp,
            session,
        })
    }
}

/// A fresh, random session id.
pub fn new_session_id() -> SessionId {
    SessionId::from_u128((u128::from(OsRng.next_u64()) << 64) | u128::from(OsRng.next_u64()))
}

/// A fresh random secret of `MIN_SECRET_BYTES` bytes, hex-encoded.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; MIN_SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chef() -> User {
        User {
            id: UserId(1),
            first_name: "Gordon".into(),
            last_name: "Ramsay".into(),
            email: "gordon@miseos.dk".into(),
            role: Role::HeadChef,
            active: true,
            kitchen_id: KitchenId(7),
        }
    }

    #[test]
    fn an_issued_token_verifies_to_its_user() {
        let keys = TokenKeys::new(&[7; 32], Duration::from_secs(60));
        let session = new_session_id();
        let holder = keys.verify(&keys.issue(&chef(), session)).unwrap();
        assert_eq!(
            (holder.user, holder.role, holder.first_name.as_str(), holder.kitchen),
            (UserId(1), Role::HeadChef, "Gordon", KitchenId(7))
        );
        assert_eq!(holder.session, session);
    }

    #[test]
    fn another_secret_or_issuer_is_refused() {
        let keys = TokenKeys::new(&[7; 32], Duration::from_secs(60));
        let stranger = TokenKeys::new(&[8; 32], Duration::from_secs(60));
        assert_eq!(keys.verify(&stranger.issue(&chef(), new_session_id())), Err(TokenError::Invalid));
        let now = chrono::Utc::now().timestamp();
        let foreign = Claims {
            sub: "1".into(),
            role: Role::HeadChef,
            first_name: "G".into(),
            last_name: "R".into(),
            iat: now,
            exp: now + 60,
            iss: "someone-else".into(),
            sid: new_session_id().to_string(),
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
    fn fresh_session_ids_differ_and_read_back() {
        let session = new_session_id();
        assert_ne!(session, new_session_id());
        assert_eq!(SessionId::parse(&session.to_string()), Some(session));
    }
}
