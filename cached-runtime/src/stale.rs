//! Staleness on purpose: what may be served after an entry expires, and when a
//! fresh entry is refreshed before it does. Written once, for values and HTTP
//! responses alike: the stores keep an entry past its expiry for its window
//! (`Entry::window`), and `lookup` decides with the [`Windows`] of the call.
//!
//! # Contents
//! - [The rules](#the-rules)
//! - [Early refresh (XFetch)](#early-refresh-xfetch)
//! - [What the request allows](#what-the-request-allows)
//! - [What is never served](#what-is-never-served)
//!
//! # The rules
//!
//! An entry that expired `t` ago (`t` measured on the store's clock: tokio's
//! `Instant` in memory, the time stored in the entry's header in Redis):
//!
//! | `t` | the call |
//! |---|---|
//! | `t ≤ stale_while_revalidate` | gets the entry at once; one call per key (per fleet, with Redis's lock) starts a refresh in the background |
//! | else `t ≤ stale_if_error` | computes; when that fails (an `Err`, a `None`, a 5xx response, a panic), gets the entry instead, and the failure is logged |
//! | else | computes, as for a miss |
//!
//! A refresh runs the call's own future (it owns its arguments) in a task of its
//! own when that future is `Send + 'static` (`probe::spawn`); otherwise the call
//! that would start it refreshes in line and only the other calls get the stale
//! entry at once. The store keeps an entry for `max(stale_while_revalidate,
//! stale_if_error)` past its expiry, as they were when it was stored.
//!
//! # Early refresh (XFetch)
//!
//! With `early_refresh`, each entry carries Δ, the time its computation took. A
//! hit `r` before expiry starts one background refresh when
//! `Δ·β·(−ln u) ≥ r`, `u` uniform in (0, 1] (Vattani, Chierichetti, Lowenstein,
//! VLDB 2015): the probability is `exp(−r / (Δ·β))`, negligible while `r` is many
//! Δ and rising to 1 at expiry, so under steady load one caller refreshes shortly
//! before the entry expires and none waits at the boundary. The hit still returns
//! the current value. `u` comes from the cache's [`Dice`] (seeded for tests by
//! `Cache::seed_early_refresh`).
//!
//! # What the request allows
//!
//! An HTTP request's `Cache-Control` (RFC 9111 §5.2.1) narrows or widens what
//! the function's windows allow, in the same [`verdict`] ([`Limits`]):
//! `max-age=N` refuses an entry older than N seconds (its age counts from when it
//! was stored, past its expiry too), `min-fresh=N` one with less than N seconds
//! left, both computed as a miss; `max-stale[=N]` accepts an expired entry up to
//! N seconds past its expiry (any the store still keeps, without N), served stale
//! ([`Verdict::Accepted`]) or, within `stale_while_revalidate`, served and
//! refreshed as the function's own window says. Value calls have no limits.
//!
//! # What is never served
//!
//! An entry an invalidation covers is gone under every rule: the stores only
//! return entries no invalidation since their stamp covers (see
//! `backend::versions`), fresh or not, and a refresh stores under the stamp of the
//! entry it replaces, so an invalidation made while it runs refuses its store.
//! Only entries that expired by time are served stale.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::backend::Entry;
use crate::config::Config;
use crate::spec::Spec;

/// What a call allows of an expired entry, and whether it refreshes early.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Windows {
    /// `stale_while_revalidate`: served at once, refreshed in the background.
    pub(crate) revalidate: Duration,
    /// `stale_if_error`: returned when the recomputation fails.
    pub(crate) if_error: Duration,
    /// XFetch's β when the function refreshes early.
    pub(crate) early: Option<f64>,
}

impl Windows {
    /// The windows of the function `spec` describes under `config`.
    pub(crate) fn of(spec: &Spec, config: &Config) -> Windows {
        let revalidate = spec
            .stale_while_revalidate()
            .map_or_else(|| config.stale_while_revalidate(), Duration::from_secs);
        let if_error = spec
            .stale_if_error()
            .map_or_else(|| config.stale_if_error(), Duration::from_secs);
        // Capped, as the stores cap how long they keep an entry past its expiry,
        // so that what `Cache-Control` states is what the cache does.
        let cap = config.max_ttl();
        Windows {
            revalidate: revalidate.min(cap),
            if_error: if_error.min(cap),
            early: spec.early_refresh().then(|| config.early_refresh_beta()),
        }
    }

    /// How long past its expiry the store keeps an entry stored under these
    /// windows.
    pub(crate) fn kept(&self) -> Duration {
        self.revalidate.max(self.if_error)
    }
}

/// What the request being answered allows besides the function's windows (see
/// [What the request allows](self#what-the-request-allows)); none for value
/// calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `max-age=N` (N > 0): no entry older than this.
    pub(crate) max_age: Option<Duration>,
    /// `max-stale` (`Some(None)`: any expired entry the store keeps) or
    /// `max-stale=N` (`Some(Some(N))`: up to N past expiry).
    pub(crate) max_stale: Option<Option<Duration>>,
    /// `min-fresh=N`: no entry with less than this left, served fresh.
    pub(crate) min_fresh: Option<Duration>,
}

impl Limits {
    /// No limit: what the function's windows say.
    pub(crate) const NONE: Limits = Limits {
        max_age: None,
        max_stale: None,
        min_fresh: None,
    };

    /// Whether the request allows a stale answer at all for an entry that
    /// expired `past` ago: not with `min-fresh`, nor with `max-age` unless
    /// `max-stale` is also given (RFC 9111 §5.2.1.1, §5.2.1.3), nor past
    /// `max-stale=N`.
    fn allows_stale(&self, past: Duration) -> bool {
        if self.min_fresh.is_some() {
            return false;
        }
        match self.max_stale {
            None => self.max_age.is_none(),
            Some(None) => true,
            Some(Some(limit)) => past <= limit,
        }
    }

    /// Whether `max-stale` accepts `entry`, which expired `past` ago: never past
    /// the window its store keeps it for (a store may hold it a little longer
    /// before it drops it; it is not served then).
    fn accepts_stale(&self, entry: &Entry, past: Duration) -> bool {
        past <= entry.window
            && match self.max_stale {
                None => false,
                Some(None) => true,
                Some(Some(limit)) => past <= limit,
            }
    }
}

/// What a call may do with `entry`, which no invalidation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Fresh: serve it.
    Fresh,
    /// Fresh, and due for an early refresh: serve it and refresh.
    RefreshEarly,
    /// Expired within `stale_while_revalidate`: serve it and refresh.
    Revalidate,
    /// Expired within `stale_if_error` only: compute, and fall back on it.
    IfError,
    /// Expired beyond `stale_while_revalidate`, but the request accepts it
    /// (`max-stale`): serve it, stale, without a refresh.
    Accepted,
    /// Too old for any rule, or refused by the request's limits: compute.
    Expired,
}

/// The verdict on `entry` for a call with `windows` and the request's `limits`;
/// `dice` is rolled only for a fresh entry of a function that refreshes early.
/// The one place that decides what an entry may be used for.
pub(crate) fn verdict(entry: &Entry, windows: &Windows, limits: &Limits, dice: &Dice) -> Verdict {
    let expired = entry.expired_for();
    if limits.max_age.is_some_and(|max| entry.age() > max) {
        return Verdict::Expired;
    }
    match expired {
        None if limits.min_fresh.is_some_and(|min| entry.remaining() < min) => Verdict::Expired,
        None => match windows.early {
            Some(beta) if due_early(entry.delta, entry.remaining(), beta, dice.roll()) => {
                Verdict::RefreshEarly
            }
            _ => Verdict::Fresh,
        },
        // The request refuses stale answers (RFC 9111 §5.2.1): `min-fresh`, or
        // `max-age` without `max-stale`, or `max-stale=N` exceeded. The
        // function's rules give way, `stale_if_error` included.
        Some(past) if !limits.allows_stale(past) => Verdict::Expired,
        Some(past) if past <= windows.revalidate && !windows.revalidate.is_zero() => {
            Verdict::Revalidate
        }
        Some(past) if limits.accepts_stale(entry, past) => Verdict::Accepted,
        Some(past) if past <= windows.if_error && !windows.if_error.is_zero() => Verdict::IfError,
        Some(_) => Verdict::Expired,
    }
}

/// XFetch: `Δ·β·(−ln u) ≥ remaining`, `u` in (0, 1].
pub(crate) fn due_early(delta: Duration, remaining: Duration, beta: f64, u: f64) -> bool {
    if delta.is_zero() {
        return false;
    }
    delta.as_secs_f64() * beta * -u.ln() >= remaining.as_secs_f64()
}

/// The random source of early refreshes: SplitMix64 over an atomic counter, so a
/// seeded cache rolls the same sequence (tests), and rolls never contend on a
/// lock.
#[derive(Debug)]
pub(crate) struct Dice {
    state: AtomicU64,
}

impl Dice {
    /// Seeded from the process's random hasher keys.
    pub(crate) fn new() -> Dice {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x5eed);
        Dice::seeded(hasher.finish())
    }

    pub(crate) fn seeded(seed: u64) -> Dice {
        Dice {
            state: AtomicU64::new(seed),
        }
    }

    /// Restarts the sequence from `seed`.
    pub(crate) fn reseed(&self, seed: u64) {
        self.state.store(seed, Ordering::Relaxed);
    }

    /// A number uniform in (0, 1].
    pub(crate) fn roll(&self) -> f64 {
        let mut z = self
            .state
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // 53 random bits, shifted into (0, 1].
        ((z >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window above `CACHE_MAX_TTL` is capped: the stores keep an entry at
    /// most that long past its expiry, and `Cache-Control` states what they do.
    #[test]
    fn windows_are_capped_at_the_max_ttl() {
        static SPEC: Spec = Spec::new("ns", "f", "m", Some(5), None, false, 0)
            .with_stale_while_revalidate(60)
            .with_stale_if_error(3);
        let config = Config::builder()
            .enabled(true)
            .max_ttl(Duration::from_secs(10))
            .default_ttl(Duration::from_secs(5))
            .build()
            .unwrap();
        let windows = Windows::of(&SPEC, &config);
        assert_eq!(windows.revalidate, Duration::from_secs(10));
        assert_eq!(windows.if_error, Duration::from_secs(3));
        assert_eq!(windows.kept(), Duration::from_secs(10));
    }

    #[test]
    fn rolls_are_in_the_half_open_unit_interval_and_reproducible() {
        let (a, b) = (Dice::seeded(7), Dice::seeded(7));
        for _ in 0..10_000 {
            let x = a.roll();
            assert!(x > 0.0 && x <= 1.0, "{x}");
            assert_eq!(x.to_bits(), b.roll().to_bits());
        }
    }

    /// A 10 s entry kept 60 s past expiry, stored `age_ms` ago.
    fn aged(age_ms: u64) -> Entry {
        let mut entry = Entry::read_back(
            bytes::Bytes::new(),
            crate::backend::Stamp::memory(0),
            Duration::from_secs(10),
            Duration::from_millis(age_ms),
            Duration::ZERO,
        );
        entry.window = Duration::from_secs(60);
        entry
    }

    /// Each limit inside and outside (by half a second, the clock runs): the
    /// verdict on a 10 s entry kept 60 s past expiry, for a function with
    /// stale-if-error = 60.
    #[test]
    fn request_limits_narrow_and_widen_the_windows() {
        let secs = Duration::from_secs;
        let windows = Windows {
            if_error: secs(60),
            ..Windows::default()
        };
        let dice = Dice::seeded(1);
        let at = |age_ms: u64, limits: Limits| verdict(&aged(age_ms), &windows, &limits, &dice);
        let max_age = |n| Limits {
            max_age: Some(secs(n)),
            ..Limits::NONE
        };
        let min_fresh = |n| Limits {
            min_fresh: Some(secs(n)),
            ..Limits::NONE
        };
        let max_stale = |n: Option<u64>| Limits {
            max_stale: Some(n.map(secs)),
            ..Limits::NONE
        };
        // 4.5 s old, 5.5 s left.
        assert_eq!(at(4_500, Limits::NONE), Verdict::Fresh);
        assert_eq!(at(4_500, max_age(5)), Verdict::Fresh);
        assert_eq!(at(4_500, max_age(4)), Verdict::Expired);
        assert_eq!(at(4_500, min_fresh(5)), Verdict::Fresh);
        assert_eq!(at(4_500, min_fresh(6)), Verdict::Expired);
        // Expired 20.5 s ago.
        assert_eq!(at(30_500, Limits::NONE), Verdict::IfError);
        assert_eq!(at(30_500, max_stale(Some(21))), Verdict::Accepted);
        // Past the request's max-stale, or with min-fresh, or max-age alone, the
        // request refuses stale answers: stale_if_error's fallback included.
        assert_eq!(at(30_500, max_stale(Some(20))), Verdict::Expired);
        assert_eq!(at(30_500, min_fresh(1)), Verdict::Expired);
        assert_eq!(at(30_500, max_age(100)), Verdict::Expired);
        assert_eq!(at(30_500, max_stale(None)), Verdict::Accepted);
        // max-age counts the time past expiry: the entry is 30.5 s old.
        let both = |age| Limits {
            max_age: Some(secs(age)),
            max_stale: Some(None),
            min_fresh: None,
        };
        assert_eq!(at(30_500, both(31)), Verdict::Accepted);
        assert_eq!(at(30_500, both(30)), Verdict::Expired);
        // Never past the window the store keeps it for.
        assert_eq!(at(69_500, max_stale(None)), Verdict::Accepted);
        assert_eq!(at(70_500, max_stale(None)), Verdict::Expired);
        assert_eq!(at(70_500, max_stale(Some(1000))), Verdict::Expired);
    }

    /// The XFetch probability is exp(−r/(Δβ)): measured over many rolls.
    #[test]
    fn early_refresh_happens_at_the_predicted_rate() {
        let dice = Dice::seeded(42);
        let delta = Duration::from_millis(50);
        for (remaining_ms, beta) in [(25u64, 1.0), (50, 1.0), (100, 1.0), (100, 2.0), (200, 0.5)] {
            let remaining = Duration::from_millis(remaining_ms);
            let n = 100_000;
            let hits = (0..n)
                .filter(|_| due_early(delta, remaining, beta, dice.roll()))
                .count();
            let expected = (-(remaining_ms as f64) / (50.0 * beta)).exp();
            let rate = hits as f64 / n as f64;
            assert!(
                (rate - expected).abs() < 0.01,
                "r = {remaining_ms} ms, β = {beta}: {rate} against {expected}"
            );
        }
        assert!(!due_early(Duration::ZERO, Duration::ZERO, 1.0, 1e-9));
        assert!(due_early(delta, Duration::ZERO, 1.0, 1.0));
    }
}
