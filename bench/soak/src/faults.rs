//! The fault log `scripts/soak.sh` writes (`<unix ms> <event>` per line: `kill`,
//! `start`, `stop`, `cont`, `shutdown`), to say when a failure or a stale read
//! happened relative to the last thing done to Redis.

/// One line of the log.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// When, in Unix milliseconds.
    pub(crate) at_ms: u64,
    /// What was done.
    pub(crate) what: String,
}

/// The log's events in order; none when there is no log or it cannot be read.
pub(crate) fn read(path: Option<&str>) -> Vec<Event> {
    let Some(text) = path.and_then(|path| std::fs::read_to_string(path).ok()) else {
        return Vec::new();
    };
    let mut events: Vec<Event> = text
        .lines()
        .filter_map(|line| {
            let (at, what) = line.split_once(' ')?;
            Some(Event {
                at_ms: at.trim().parse().ok()?,
                what: what.trim().to_owned(),
            })
        })
        .collect();
    events.sort_by_key(|event| event.at_ms);
    events
}

/// `2.3 s after stop`: the last event at or before `at_ms`.
pub(crate) fn context(events: &[Event], at_ms: u64) -> String {
    match events.iter().rev().find(|event| event.at_ms <= at_ms) {
        Some(event) => format!(
            "{:.1} s after {}",
            (at_ms - event.at_ms) as f64 / 1000.0,
            event.what
        ),
        None => "before any fault".to_owned(),
    }
}

/// How many of `times` (Unix ms) fall after each event (before the next), with
/// the first and last of them in seconds after it: `(event, count, first, last)`.
/// Those before any event are under `None`.
pub(crate) fn windows(events: &[Event], times: &[u64]) -> Vec<(Option<usize>, usize, f64, f64)> {
    let mut windows: Vec<(Option<usize>, usize, f64, f64)> = Vec::new();
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    for at in sorted {
        let index = events.iter().rposition(|event| event.at_ms <= at);
        let offset = index.map_or(0.0, |i| (at - events[i].at_ms) as f64 / 1000.0);
        match windows.last_mut() {
            Some(last) if last.0 == index => {
                last.1 += 1;
                last.3 = offset;
            }
            _ => windows.push((index, 1, offset, offset)),
        }
    }
    windows
}

/// How long after Redis is back (`start`, `cont`) a read still counts as in the
/// outage: the probe that closes an instance's breaker runs every 250 ms, and the
/// replay of the invalidations made meanwhile comes first.
pub(crate) const OUTAGE_GRACE_MS: u64 = 2_000;

/// Whether `at_ms` falls in an outage: after a `kill`, `stop` or `shutdown`, up to
/// [`OUTAGE_GRACE_MS`] after the `start` or `cont` that ended it.
pub(crate) fn in_outage(events: &[Event], at_ms: u64) -> bool {
    let Some(index) = events.iter().rposition(|event| event.at_ms <= at_ms) else {
        return false;
    };
    match events[index].what.as_str() {
        "kill" | "stop" | "shutdown" => true,
        // The first `start` is Redis's before the load, not the end of an outage.
        "start" | "cont" => index > 0 && at_ms - events[index].at_ms <= OUTAGE_GRACE_MS,
        _ => false,
    }
}
