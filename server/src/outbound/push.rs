//! Web Push, the protocol (RFC 8030, 8291, 8292): the VAPID key and its signed JWTs, a
//! subscription's keys, one encrypted push request, and what a push service's answer means.
//!
//! The cryptography is RustCrypto's: `web-push-native` encrypts (RFC 8291, `aes128gcm`, one
//! record), `p256` makes and reads the keys, and the VAPID JWT (ES256) is signed by
//! `jsonwebtoken`, which the session tokens use already.

use crate::store::StoredPushKey;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::{elliptic_curve::sec1::ToEncodedPoint, pkcs8::EncodePrivateKey, PublicKey, SecretKey};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, SystemTime},
};

/// How long a pushed message may wait at the push service for a device to come back: 12 hours
/// (a shift), as the contract says.
pub const TTL_SECONDS: u64 = 43_200;

/// How long a VAPID JWT is valid (at most 24 hours, RFC 8292); one is signed per push
/// service and reused until an hour before it expires.
const JWT_LIFETIME: Duration = Duration::from_secs(12 * 3_600);
const JWT_RENEW_BEFORE: Duration = Duration::from_secs(3_600);

/// Decodes base64url with or without padding (browsers send it without).
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

/// The deployment's VAPID key, ready to sign.
pub struct VapidKey {
    /// What was stored: comparing it tells whether the key was rotated meanwhile.
    stored: StoredPushKey,
    signing: EncodingKey,
    /// The signed `Authorization` values per audience, with when each stops being reused.
    signed: Mutex<HashMap<String, (String, SystemTime)>>,
}

impl VapidKey {
    /// A new random key pair, as stored.
    pub fn generate() -> StoredPushKey {
        let secret = SecretKey::random(&mut rand_core::OsRng);
        StoredPushKey {
            private_key: URL_SAFE_NO_PAD.encode(secret.to_bytes()),
            public_key: URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes()),
        }
    }

    /// The key a stored pair describes; an error if the stored text is not a P-256 key whose
    /// public half is the one stored with it.
    pub fn from_stored(stored: &StoredPushKey) -> Result<VapidKey, String> {
        crate::jwt_crypto::install();
        let scalar = decode_base64url(&stored.private_key).ok_or("the stored VAPID key is not base64url")?;
        let secret = SecretKey::from_slice(&scalar).map_err(|_| "the stored VAPID key is not a P-256 key")?;
        let public = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        if public != stored.public_key {
            return Err("the stored VAPID public key does not match its private key".into());
        }
        let der = secret.to_pkcs8_der().map_err(|error| format!("the VAPID key: {error}"))?;
        Ok(VapidKey {
            stored: stored.clone(),
            signing: EncodingKey::from_ec_der(der.as_bytes()),
            signed: Mutex::new(HashMap::new()),
        })
    }

    /// Whether this is the key `stored` describes.
    pub fn is(&self, stored: &StoredPushKey) -> bool {
        self.stored == *stored
    }

    /// The `Authorization` header for a push to `audience` (the endpoint's origin): `vapid
    /// t=<JWT>, k=<public key>`, the JWT signed with ES256, `exp` 12 hours ahead, `sub` the
    /// operator's contact.
    pub fn authorization(&self, audience: &str, subject: &str) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now();
        let mut signed = self.signed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((value, reuse_until)) = signed.get(audience) {
            if now < *reuse_until {
                return Ok(value.clone());
            }
        }
        let expires = now + JWT_LIFETIME;
        let exp = expires.duration_since(SystemTime::UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or_default();
        let claims = serde_json::json!({ "aud": audience, "exp": exp, "sub": subject });
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.signing)?;
        let value = format!("vapid t={jwt}, k={}", self.stored.public_key);
        signed.insert(audience.to_string(), (value.clone(), expires - JWT_RENEW_BEFORE));
        Ok(value)
    }
}

/// A subscription's keys, checked: the browser's P-256 public key and its 16-byte secret.
#[derive(Debug)]
pub struct SubscriptionKeys {
    public: PublicKey,
    auth: web_push_native::Auth,
}

impl SubscriptionKeys {
    /// Reads the `keys` of a `PushSubscription` (base64url); why they are refused, for a
    /// 400's message.
    pub fn parse(p256dh: &str, auth: &str) -> Result<SubscriptionKeys, String> {
        let point = decode_base64url(p256dh).ok_or("keys.p256dh must be base64url")?;
        // Browsers send the uncompressed point; a compressed one would decode too, but no
        // browser makes one and RFC 8291 names the 65-byte form.
        if point.len() != 65 {
            return Err("keys.p256dh must be an uncompressed P-256 public key (65 bytes)".into());
        }
        let public = PublicKey::from_sec1_bytes(&point).map_err(|_| "keys.p256dh is not a point on P-256")?;
        let secret = decode_base64url(auth).ok_or("keys.auth must be base64url")?;
        let secret: [u8; 16] = secret.try_into().map_err(|_| "keys.auth must be 16 bytes")?;
        Ok(SubscriptionKeys { public, auth: web_push_native::Auth::from(secret) })
    }

    /// `payload` encrypted for this browser (RFC 8291: `aes128gcm`, one record).
    pub fn encrypt(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        web_push_native::encrypt(payload.to_vec(), &self.public, &self.auth).map_err(|error| error.to_string())
    }
}

/// What a push service's answer means for the push and its subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (2xx).
    Delivered,
    /// The subscription is gone (404, 410): delete it.
    Gone,
    /// Refused for good (another 4xx): drop this push.
    Refused,
    /// Try again later (429, 5xx, no answer), after the service's `Retry-After` if it gave one.
    Retry { after: Option<Duration> },
}

impl Outcome {
    /// The outcome of an answer with `status` and its `Retry-After` header, if any.
    pub fn of(status: u16, retry_after: Option<&str>) -> Outcome {
        match status {
            200..=299 => Outcome::Delivered,
            404 | 410 => Outcome::Gone,
            429 | 500..=599 => Outcome::Retry { after: retry_after.and_then(parse_retry_after) },
            _ => Outcome::Refused,
        }
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (the time until it; none if past).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    u64::try_from(wait).ok().map(Duration::from_millis)
}

/// The origin of an endpoint, as the VAPID `aud` claim names it (scheme, host and any port
/// that is not the scheme's default).
pub fn audience(endpoint: &url::Url) -> String {
    endpoint.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_reads_back_and_a_mismatched_one_is_refused() {
        let stored = VapidKey::generate();
        let key = VapidKey::from_stored(&stored).unwrap();
        assert!(key.is(&stored));
        assert_eq!(decode_base64url(&stored.public_key).unwrap().len(), 65);
        let other = VapidKey::generate();
        let mixed = StoredPushKey { private_key: stored.private_key.clone(), public_key: other.public_key };
        assert!(VapidKey::from_stored(&mixed).is_err());
        let first = key.authorization("https://fcm.googleapis.com", "mailto:ops@example.com").unwrap();
        assert!(first.starts_with("vapid t=") && first.ends_with(&format!(", k={}", stored.public_key)));
        assert_eq!(key.authorization("https://fcm.googleapis.com", "mailto:ops@example.com").unwrap(), first);
        assert_ne!(key.authorization("https://push.example", "mailto:ops@example.com").unwrap(), first);
    }

    #[test]
    fn subscription_keys_are_checked() {
        let browser = SecretKey::random(&mut rand_core::OsRng);
        let p256dh = URL_SAFE_NO_PAD.encode(browser.public_key().to_encoded_point(false).as_bytes());
        let auth = URL_SAFE_NO_PAD.encode([7u8; 16]);
        assert!(SubscriptionKeys::parse(&p256dh, &auth).is_ok());
        assert!(SubscriptionKeys::parse(&format!("{p256dh}="), &format!("{auth}==")).is_ok(), "padding is fine");
        let compressed = URL_SAFE_NO_PAD.encode(browser.public_key().to_encoded_point(true).as_bytes());
        assert!(SubscriptionKeys::parse(&compressed, &auth).unwrap_err().contains("65 bytes"));
        let mut off_curve = browser.public_key().to_encoded_point(false).as_bytes().to_vec();
        off_curve[64] ^= 1;
        assert!(SubscriptionKeys::parse(&URL_SAFE_NO_PAD.encode(off_curve), &auth).unwrap_err().contains("point"));
        assert!(SubscriptionKeys::parse(&p256dh, &URL_SAFE_NO_PAD.encode([7u8; 15])).unwrap_err().contains("16"));
        assert!(SubscriptionKeys::parse("***", &auth).unwrap_err().contains("base64url"));
    }

    #[test]
    fn answers_mean_what_rfc_8030_says() {
        assert_eq!(Outcome::of(201, None), Outcome::Delivered);
        assert_eq!(Outcome::of(410, None), Outcome::Gone);
        assert_eq!(Outcome::of(404, None), Outcome::Gone);
        assert_eq!(Outcome::of(413, None), Outcome::Refused);
        assert_eq!(Outcome::of(403, None), Outcome::Refused);
        assert_eq!(Outcome::of(429, Some("7")), Outcome::Retry { after: Some(Duration::from_secs(7)) });
        assert_eq!(Outcome::of(503, None), Outcome::Retry { after: None });
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let Outcome::Retry { after: Some(wait) } = Outcome::of(503, Some(&later)) else { panic!("a date") };
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(Outcome::of(503, Some("Wed, 21 Oct 2015 07:28:00 GMT")), Outcome::Retry { after: None });
    }

    #[test]
    fn the_audience_is_the_endpoints_origin() {
        let url = |text: &str| url::Url::parse(text).unwrap();
        assert_eq!(audience(&url("https://fcm.googleapis.com/fcm/send/x")), "https://fcm.googleapis.com");
        assert_eq!(audience(&url("https://push.example:8443/p")), "https://push.example:8443");
        assert_eq!(audience(&url("http://127.0.0.1:9900/p")), "http://127.0.0.1:9900");
    }
}
