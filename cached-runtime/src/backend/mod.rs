//! Where entries live: the store of each mode.

pub(crate) mod memory;
pub(crate) mod versions;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// One stored value.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Header + payload, as written by `codec`.
    pub(crate) bytes: Bytes,
    /// The epoch read before the value was computed.
    pub(crate) stamp: u64,
    /// The time to live it was stored with.
    pub(crate) ttl: Duration,
    /// When it expires.
    #[allow(dead_code)] // read by the HTTP layer (max-age)
    pub(crate) expires_at: Instant,
}

impl Entry {
    pub(crate) fn new(bytes: Bytes, stamp: u64, ttl: Duration) -> Arc<Self> {
        Arc::new(Entry {
            bytes,
            stamp,
            ttl,
            expires_at: Instant::now() + ttl,
        })
    }

    /// Time left before it expires.
    #[allow(dead_code)] // used by the HTTP layer (max-age)
    pub(crate) fn remaining(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }
}
