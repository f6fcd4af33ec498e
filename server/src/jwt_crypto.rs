//! jsonwebtoken's cryptography for the two algorithms this server uses: HS256 (session
//! tokens, signed and verified) and ES256 (the VAPID token of Web Push, signed only), on the
//! RustCrypto crates the server already has. jsonwebtoken's own `rust_crypto` feature brings
//! RSA, P-384 and Ed25519 as one piece; none of it is used here, and RSA is the largest crate
//! of the build that nothing calls.
//!
//! Any other algorithm is refused when a key is put to use, on top of the pinning of HS256 by
//! [`crate::accounts::tokens`].

use hmac::{Hmac, Mac};
use jsonwebtoken::{
    crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
    errors::{ErrorKind, Result},
    signature, Algorithm, AlgorithmFamily, DecodingKey, EncodingKey,
};
use p256::{ecdsa::SigningKey, pkcs8::DecodePrivateKey};
use sha2::Sha256;

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    // JWKs are neither read nor written here.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the process' jsonwebtoken provider. Called wherever a key is made (the first
/// call installs it; later ones find it there).
pub fn install() {
    if let Err(installed) = PROVIDER.install_default() {
        // jsonwebtoken used before any key was made would have fixed its own provider, which
        // panics on every use: a bug, said here rather than at the first sign-in.
        assert!(std::ptr::eq(installed, &PROVIDER), "jsonwebtoken was used before jwt_crypto::install");
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => Ok(Box::new(Hs256::new(key.as_bytes())?)),
        (Algorithm::ES256, AlgorithmFamily::Ec) => {
            let key = SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEcdsaKey)?;
            Ok(Box::new(Es256(key)))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => Ok(Box::new(Hs256::new(key.try_get_as_bytes()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

/// HMAC-SHA256 under the server's secret.
struct Hs256(Hmac<Sha256>);

impl Hs256 {
    fn new(secret: &[u8]) -> Result<Self> {
        Ok(Hs256(Hmac::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat)?))
    }

    fn mac(&self, message: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(message);
        mac
    }
}

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.mac(message).finalize().into_bytes().to_vec())
    }
}

impl signature::Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        // verify_slice compares in constant time.
        self.mac(message).verify_slice(tag).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

/// ECDSA on P-256 with SHA-256; a JWS signature is `r ‖ s`, 64 bytes.
struct Es256(SigningKey);

impl signature::Signer<Vec<u8>> for Es256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::try_sign(&self.0, message)?;
        Ok(signature.to_bytes().to_vec())
    }
}

impl JwtSigner for Es256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Header, Validation};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    fn claims() -> Claims {
        Claims { sub: "1".into(), exp: jsonwebtoken::get_current_timestamp() + 60 }
    }

    /// RFC 7515's HS256 example (appendix A.1): its key over its signing input gives its
    /// signature, byte for byte.
    #[test]
    fn hs256_signs_as_rfc_7515_says() {
        install();
        let key = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
        )
        .unwrap();
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(&key), Algorithm::HS256);
        assert_eq!(signature.unwrap(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    }

    #[test]
    fn hs256_tokens_verify_and_other_algorithms_are_refused() {
        install();
        let secret = b"a secret of at least thirty-two bytes, for HS256";
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(), &EncodingKey::from_secret(secret)).unwrap();
        let decoded = jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(secret), &Validation::default());
        assert_eq!(decoded.unwrap().claims.sub, "1");
        let wrong =
            jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(b"another"), &Validation::default());
        assert!(wrong.is_err());
        for algorithm in [Algorithm::HS384, Algorithm::HS512, Algorithm::RS256, Algorithm::EdDSA] {
            let refused = jsonwebtoken::encode(&Header::new(algorithm), &claims(), &EncodingKey::from_secret(secret));
            assert!(refused.is_err(), "{algorithm:?} is not signed");
            let refused = jsonwebtoken::crypto::verify("AAAA", b"x.y", &DecodingKey::from_secret(secret), algorithm);
            assert!(refused.is_err(), "{algorithm:?} is not verified");
        }
    }
}
