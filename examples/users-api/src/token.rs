//! Bearer tokens: `v1.<user id>.<expiry, unix seconds>.<HMAC-SHA256, hex>`.
//!
//! Why not JWT (the template's choice)? A token here only has to say "user N until
//! time T" to this one service, which both issues and checks it. An HMAC over those
//! two numbers does exactly that with two small RustCrypto crates (`hmac`, and `sha2`,
//! which cachette already uses), and has no header to parse and no algorithm to
//! negotiate, so none of JWT's "alg" confusion mistakes can be made. The signature is
//! checked in constant time. Tokens are not revocable one by one (like the template's
//! JWTs); what matters for access is checked against the database on every request
//! (the user still exists and is not banned).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::{hex, unhex};

type HmacSha256 = Hmac<Sha256>;

/// Issues and checks bearer tokens with one secret key.
#[derive(Clone)]
pub struct Tokens {
    key: Arc<[u8]>,
    ttl: Duration,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("key", &"***")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Tokens {
    /// Tokens signed with `key`, valid for `ttl` after they are issued.
    pub fn new(key: &[u8], ttl: Duration) -> Self {
        Tokens {
            key: key.into(),
            ttl,
        }
    }

    /// A token for `user_id`, valid for the configured time from now.
    pub fn issue(&self, user_id: i64) -> String {
        let expires = unix_now().saturating_add(self.ttl.as_secs());
        let payload = format!("v1.{user_id}.{expires}");
        let signature = hex(&self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The user id of a genuine, unexpired token; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<i64> {
        let (payload, signature) = token.rsplit_once('.')?;
        self.mac(payload).verify_slice(&unhex(signature)?).ok()?;
        let mut parts = payload.split('.');
        let (Some("v1"), Some(user_id), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let expires: u64 = expires.parse().ok()?;
        (unix_now() < expires).then_some(())?;
        user_id.parse().ok()
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(payload.as_bytes());
        mac
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_forgeries_do_not() {
        let tokens = Tokens::new(b"a test key", Duration::from_secs(60));
        let token = tokens.issue(42);
        assert_eq!(tokens.verify(&token), Some(42));

        let other_key = Tokens::new(b"another key", Duration::from_secs(60));
        assert_eq!(other_key.verify(&token), None);
        let forged = token.replacen("v1.42.", "v1.43.", 1);
        assert_eq!(tokens.verify(&forged), None);
        for junk in ["", "v1", "v1.42", "v1.42.9.zz", "...", "v1.42.1.2.3"] {
            assert_eq!(tokens.verify(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn expired_tokens_do_not_verify() {
        let tokens = Tokens::new(b"a test key", Duration::ZERO);
        assert_eq!(tokens.verify(&tokens.issue(42)), None);
    }
}
