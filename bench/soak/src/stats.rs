//! What the soak counts: every request's latency and outcome, every failure and
//! every stale read, with the wall-clock time it happened at (to set it against
//! the fault log).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a request did not succeed.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The app answered with a status outside 2xx (the status, the start of the body).
    Status(u16, String),
    /// No answer within the request timeout.
    Timeout,
    /// The connection could not be made, or broke (reqwest's error).
    Transport(String),
}

/// A failed request.
#[derive(Debug, Clone)]
pub(crate) struct Incident {
    /// When it ended, in Unix milliseconds.
    pub(crate) at_ms: u64,
    /// The instance asked (`A`, `B`).
    pub(crate) instance: &'static str,
    /// What was asked (`GET /users/me`, ...).
    pub(crate) route: String,
    /// What went wrong.
    pub(crate) failure: Failure,
}

/// A read that did not return what a completed write wrote.
#[derive(Debug, Clone)]
pub(crate) struct Stale {
    /// When the read ended, in Unix milliseconds.
    pub(crate) at_ms: u64,
    /// The instance read from.
    pub(crate) instance: &'static str,
    /// The route read (`GET /users/?user_id=7`, ...).
    pub(crate) route: String,
    /// The name the last completed write set.
    pub(crate) expected: String,
    /// The name read.
    pub(crate) got: String,
    /// The read's `X-FastAPI-Cache` header (`HIT`, `MISS`, or none).
    pub(crate) cache: String,
    /// Milliseconds from the write's 200 to the read's answer.
    pub(crate) after_write_ms: u64,
}

/// Counters shared by the readers and the checkers.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: [u64; 2],
    latencies_us: Vec<u32>,
    max: Duration,
    max_route: String,
    incidents: Vec<Incident>,
    stale: Vec<Stale>,
    checked_reads: u64,
    writes: u64,
    hits: u64,
    misses: u64,
}

/// A copy of the counters, taken at the end.
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    /// Requests per instance (A, B), failed ones included.
    pub(crate) requests: [u64; 2],
    /// Every request's latency, in microseconds, sorted.
    pub(crate) latencies_us: Vec<u32>,
    /// The longest request.
    pub(crate) max: Duration,
    /// Which request it was.
    pub(crate) max_route: String,
    /// Every failed request.
    pub(crate) incidents: Vec<Incident>,
    /// Every stale read.
    pub(crate) stale: Vec<Stale>,
    /// Checker reads compared with a completed write.
    pub(crate) checked_reads: u64,
    /// Writes (PUT) that returned 200.
    pub(crate) writes: u64,
    /// Checker reads answered `X-FastAPI-Cache: HIT`.
    pub(crate) hits: u64,
    /// Checker reads answered `X-FastAPI-Cache: MISS`.
    pub(crate) misses: u64,
}

/// Now, in Unix milliseconds.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Recorder {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut inner)
    }

    /// A request to instance `index` (0 = A) that took `latency`.
    pub(crate) fn request(&self, index: usize, route: &str, latency: Duration) {
        let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.with(|inner| {
            inner.requests[index] += 1;
            inner.latencies_us.push(us);
            if latency > inner.max {
                inner.max = latency;
                inner.max_route = route.to_owned();
            }
        });
    }

    /// A failed request.
    pub(crate) fn incident(&self, incident: Incident) {
        self.with(|inner| inner.incidents.push(incident));
    }

    /// A checker read compared with the last completed write: `stale` when it
    /// differed; `cache` is its `X-FastAPI-Cache` header.
    pub(crate) fn checked(&self, stale: Option<Stale>, cache: Option<&str>) {
        self.with(|inner| {
            inner.checked_reads += 1;
            match cache {
                Some("HIT") => inner.hits += 1,
                Some("MISS") => inner.misses += 1,
                _ => {}
            }
            if let Some(stale) = stale {
                inner.stale.push(stale);
            }
        });
    }

    /// A write that returned 200.
    pub(crate) fn write(&self) {
        self.with(|inner| inner.writes += 1);
    }

    /// The counters now.
    pub(crate) fn totals(&self) -> Totals {
        self.with(|inner| {
            let mut latencies_us = inner.latencies_us.clone();
            latencies_us.sort_unstable();
            Totals {
                requests: inner.requests,
                latencies_us,
                max: inner.max,
                max_route: inner.max_route.clone(),
                incidents: inner.incidents.clone(),
                stale: inner.stale.clone(),
                checked_reads: inner.checked_reads,
                writes: inner.writes,
                hits: inner.hits,
                misses: inner.misses,
            }
        })
    }
}
