//! The summary the soak prints, and whether every target was met.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use crate::faults::{self, Event};
use crate::stats::{Failure, Totals};

/// One instance's resident memory: at the start of the load, once warm, at the end.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rss {
    /// At the start, KiB.
    pub(crate) start: Option<u64>,
    /// After the warm-up, KiB (the baseline).
    pub(crate) warm: Option<u64>,
    /// At the end, KiB.
    pub(crate) end: Option<u64>,
}

/// The most RSS may grow from the warm baseline to the end: 10 %.
const RSS_GROWTH_LIMIT: f64 = 0.10;
/// How many incidents and stale reads are listed one by one.
const LISTED: usize = 20;

/// What the summary is made of.
#[derive(Debug)]
pub(crate) struct Inputs<'a> {
    /// The load's length.
    pub(crate) duration: Duration,
    /// The counters.
    pub(crate) totals: &'a Totals,
    /// The fault log.
    pub(crate) events: &'a [Event],
    /// Each instance's name and RSS.
    pub(crate) rss: [(&'static str, Rss); 2],
}

/// Prints the summary to stdout; `true` when every target was met.
pub(crate) fn print(inputs: &Inputs<'_>) -> bool {
    let mut out = io::stdout().lock();
    // A summary that cannot be printed is a failed run.
    write(&mut out, inputs).unwrap_or(false)
}

fn write(out: &mut impl Write, inputs: &Inputs<'_>) -> io::Result<bool> {
    let Inputs {
        duration,
        totals,
        events,
        rss,
    } = inputs;
    let mut met = true;
    let mut target = |out: &mut dyn Write, ok: bool, what: &str| -> io::Result<()> {
        met &= ok;
        writeln!(out, "  [{}] {what}", if ok { "ok" } else { "MISSED" })
    };

    writeln!(out, "\n=== fault soak summary ===")?;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for event in events.iter() {
        *kinds.entry(event.what.as_str()).or_default() += 1;
    }
    writeln!(
        out,
        "load: {:.0} s; Redis events: {kinds:?}",
        duration.as_secs_f64()
    )?;
    let total: u64 = totals.requests.iter().sum();
    writeln!(
        out,
        "requests: {total} (A {}, B {}), {:.0}/s",
        totals.requests[0],
        totals.requests[1],
        total as f64 / duration.as_secs_f64().max(1.0)
    )?;

    let (mut statuses, mut timeouts, mut transport) = (BTreeMap::new(), 0usize, 0usize);
    for incident in &totals.incidents {
        match &incident.failure {
            Failure::Status(code, _) => *statuses.entry(*code).or_insert(0usize) += 1,
            Failure::Timeout => timeouts += 1,
            Failure::Transport(_) => transport += 1,
        }
    }
    let app: usize = statuses.values().sum();
    writeln!(out, "failed requests: {}", totals.incidents.len())?;
    writeln!(out, "  answered by the app outside 2xx: {app} {statuses:?}")?;
    writeln!(out, "  timed out (no answer in time): {timeouts}")?;
    writeln!(out, "  connection errors (refused, reset): {transport}")?;
    let times: Vec<u64> = totals.incidents.iter().map(|i| i.at_ms).collect();
    write_windows(out, events, &times)?;
    for incident in totals.incidents.iter().take(LISTED) {
        let what = match &incident.failure {
            Failure::Status(code, body) => format!("{code} {body}"),
            Failure::Timeout => "timeout".to_owned(),
            Failure::Transport(error) => error.clone(),
        };
        writeln!(
            out,
            "    {} {} ({}): {what}",
            incident.instance,
            incident.route,
            faults::context(events, incident.at_ms)
        )?;
    }

    writeln!(
        out,
        "checker: {} writes completed, {} reads checked ({} HIT, {} MISS), {} stale",
        totals.writes,
        totals.checked_reads,
        totals.hits,
        totals.misses,
        totals.stale.len()
    )?;
    let times: Vec<u64> = totals.stale.iter().map(|s| s.at_ms).collect();
    write_windows(out, events, &times)?;
    for stale in totals.stale.iter().take(LISTED) {
        writeln!(
            out,
            "    {} {} [{}] {} ms after the write: `{}`, expected `{}` ({})",
            stale.instance,
            stale.route,
            stale.cache,
            stale.after_write_ms,
            stale.got,
            stale.expected,
            faults::context(events, stale.at_ms)
        )?;
    }

    let percentile = |p: f64| -> Duration {
        let sorted = &totals.latencies_us;
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
        Duration::from_micros(u64::from(sorted[rank - 1]))
    };
    writeln!(
        out,
        "latency: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?} ({})",
        percentile(0.50),
        percentile(0.99),
        percentile(0.999),
        totals.max,
        totals.max_route
    )?;

    let mut growths = Vec::new();
    for (name, rss) in rss {
        let show = |kib: Option<u64>| kib.map_or("gone".to_owned(), |k| format!("{k} KiB"));
        let growth = match (rss.warm, rss.end) {
            (Some(warm), Some(end)) if warm > 0 => Some((end as f64 - warm as f64) / warm as f64),
            _ => None,
        };
        writeln!(
            out,
            "RSS {name}: start {}, warm {}, end {} ({})",
            show(rss.start),
            show(rss.warm),
            show(rss.end),
            growth.map_or("n/a".to_owned(), |g| format!(
                "{:+.1} % from warm",
                g * 100.0
            ))
        )?;
        growths.push((name, growth));
    }

    writeln!(out, "targets:")?;
    target(
        out,
        total > 0 && totals.writes > 0,
        "the load ran and writes completed",
    )?;
    target(
        out,
        app == 0,
        &format!("0 non-2xx from the app (got {app})"),
    )?;
    target(
        out,
        timeouts + transport == 0,
        &format!(
            "0 timeouts or connection errors (got {})",
            timeouts + transport
        ),
    )?;
    let serving = totals
        .stale
        .iter()
        .filter(|stale| !faults::in_outage(events, stale.at_ms))
        .count();
    target(
        out,
        serving == 0,
        &format!(
            "0 stale reads while Redis serves, more than {} s from any outage (got {serving})",
            faults::OUTAGE_GRACE_MS / 1000
        ),
    )?;
    target(
        out,
        totals.stale.is_empty(),
        &format!(
            "0 stale reads after a completed write, outages included (got {})",
            totals.stale.len()
        ),
    )?;
    for (name, growth) in growths {
        let ok = growth.is_some_and(|g| g <= RSS_GROWTH_LIMIT);
        target(
            out,
            ok,
            &format!("RSS of {name} flat within 10 % of the warm baseline"),
        )?;
    }
    writeln!(out, "result: {}", if met { "PASS" } else { "FAIL" })?;
    Ok(met)
}

/// One line per fault window that holds any of `times`: when it started (seconds
/// from the first event), the event, how many, and their span after it.
fn write_windows(out: &mut impl Write, events: &[Event], times: &[u64]) -> io::Result<()> {
    let origin = events.first().map_or(0, |event| event.at_ms);
    for (index, count, first, last) in faults::windows(events, times) {
        let event = match index {
            Some(i) => format!(
                "{} at +{:.1} s",
                events[i].what,
                (events[i].at_ms - origin) as f64 / 1000.0
            ),
            None => "before any event".to_owned(),
        };
        writeln!(
            out,
            "    after {event}: {count}, from {first:.1} s to {last:.1} s after it"
        )?;
    }
    Ok(())
}

/// Writes every failed request and every stale read, one per line, to `path`
/// (the summary lists only the first few).
///
/// # Errors
///
/// When the file cannot be written.
pub(crate) fn dump(path: &str, totals: &Totals, events: &[Event]) -> io::Result<()> {
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    for incident in &totals.incidents {
        writeln!(
            out,
            "{} failed {} {} ({}): {:?}",
            incident.at_ms,
            incident.instance,
            incident.route,
            faults::context(events, incident.at_ms),
            incident.failure
        )?;
    }
    for stale in &totals.stale {
        writeln!(
            out,
            "{} stale {} {} [{}] {} ms after the write: `{}`, expected `{}` ({})",
            stale.at_ms,
            stale.instance,
            stale.route,
            stale.cache,
            stale.after_write_ms,
            stale.got,
            stale.expected,
            faults::context(events, stale.at_ms)
        )?;
    }
    out.flush()
}
