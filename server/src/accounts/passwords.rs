//! Passwords: Argon2id hashes, the temporary passwords a head chef hands out, and the rules a
//! new password follows.

use argon2::{
    password_hash::{PasswordHasher, PasswordVerifier},
    Argon2,
};
use rand_core::{OsRng, RngCore};

/// An Argon2id hash (PHC string) of `password`, under a fresh salt from the OS. CPU-heavy:
/// call from a blocking thread.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("Argon2id with default parameters accepts any password and a fresh salt")
        .to_string()
}

/// Whether `password` matches the PHC `hash` (its own parameters, whatever they are). A hash
/// that does not parse matches nothing. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A hash stored before the move to argon2 0.6: made by argon2 0.5.3 (this server's
    /// `hash_password` until 2026-12-07), for "mise-en-place".
    const HASH_FROM_ARGON2_0_5: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$r8G2eCgpbP9y8VZhpEO0nA$/BUNjrb3tjXvfTIiwXpGPexdlW3nU7gExYuqC5DUm3A";

    #[test]
    fn hashes_stored_by_the_earlier_argon2_still_verify() {
        assert!(verify_password("mise-en-place", HASH_FROM_ARGON2_0_5));
        assert!(!verify_password("mise-en-placE", HASH_FROM_ARGON2_0_5));
        // New hashes keep the same algorithm and parameters.
        let new = hash_password("mise-en-place");
        assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
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
