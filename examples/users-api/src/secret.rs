//! Random secrets (API keys, signing keys) and their digests.

use sha2::{Digest, Sha256};

use crate::error::AppError;

/// What raw API keys start with, so they are recognisable (in logs, secret scanners).
pub const API_KEY_PREFIX: &str = "uak_";
/// How many characters of a raw key are kept to tell keys apart in listings.
const SHOWN_PREFIX_CHARS: usize = API_KEY_PREFIX.len() + 8;

/// `n` bytes from the operating system's random source.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, AppError> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(bytes)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// The bytes of lower- or upper-case hex `text`; `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// SHA-256 of `text`, in hex: how API keys are stored. A fast hash is enough here
/// (unlike for passwords) because a key carries 256 random bits: there is nothing to
/// guess.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A new API key: what the client gets once, and what is stored.
#[derive(Debug)]
pub struct NewApiKey {
    /// `uak_` and 64 hex digits (256 random bits): shown once, never stored.
    pub raw: String,
    /// SHA-256 of `raw`, in hex: stored, and looked up on every request.
    pub hash: String,
    /// The first characters of `raw` (`uak_1a2b3c4d`), shown in listings.
    pub prefix: String,
}

impl NewApiKey {
    /// Draws a new key.
    pub fn generate() -> Result<Self, AppError> {
        let raw = format!("{API_KEY_PREFIX}{}", hex(&random_bytes(32)?));
        Ok(NewApiKey {
            hash: sha256_hex(&raw),
            prefix: raw[..SHOWN_PREFIX_CHARS].to_owned(),
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00abFF"), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }

    #[test]
    fn api_keys_are_random_and_stored_hashed() {
        let (a, b) = (NewApiKey::generate(), NewApiKey::generate());
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("no random source")
        };
        assert_ne!(a.raw, b.raw);
        assert_eq!(a.raw.len(), 4 + 64);
        assert!(a.raw.starts_with(&a.prefix));
        assert_eq!(a.hash, sha256_hex(&a.raw));
        assert_ne!(a.hash, a.raw);
    }
}
