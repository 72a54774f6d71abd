//! What the soak is told by `scripts/soak.sh`, through `SOAK_*` environment
//! variables (the script owns the processes; this binary only talks to them).
//! `SOAK_DETAILS`, when set, is a file that receives every failed request and
//! stale read (see `report::dump`).

use std::time::Duration;

/// One users-api instance under test.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// `A` or `B`, as the summary names it.
    pub(crate) name: &'static str,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// Its process id, for its RSS.
    pub(crate) pid: u32,
}

/// The soak's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The two instances (`SOAK_A_URL`/`SOAK_A_PID`, `SOAK_B_URL`/`SOAK_B_PID`).
    pub(crate) instances: [Instance; 2],
    /// How long the load runs (`SOAK_DURATION`, seconds, default 600).
    pub(crate) duration: Duration,
    /// Steady reads per second on each instance (`SOAK_READ_RATE`, default 200).
    pub(crate) read_rate: u32,
    /// Concurrent readers per instance (`SOAK_READERS`, default 4).
    pub(crate) readers: u32,
    /// Concurrent checkers, each on its own users (`SOAK_CHECKERS`, default 2).
    pub(crate) checkers: u32,
    /// The pause between two of a checker's rounds (`SOAK_CHECK_PAUSE_MS`, default 20).
    pub(crate) check_pause: Duration,
    /// When the RSS baseline is taken, once caches and pools are warm
    /// (`SOAK_WARMUP`, seconds, default 30, at most half the duration).
    pub(crate) warmup: Duration,
    /// The fault log the script writes (`SOAK_FAULT_LOG`, optional): lines of
    /// `<unix ms> <event>`.
    pub(crate) fault_log: Option<String>,
    /// Every request's timeout (`SOAK_TIMEOUT_MS`, default 5000).
    pub(crate) timeout: Duration,
}

impl Settings {
    /// Reads the settings from the environment.
    ///
    /// # Errors
    ///
    /// A missing required variable or a value that does not parse, named.
    pub(crate) fn from_env() -> Result<Settings, String> {
        let duration = Duration::from_secs(number("SOAK_DURATION", 600)?);
        let warmup = Duration::from_secs(number("SOAK_WARMUP", 30)?).min(duration / 2);
        Ok(Settings {
            instances: [instance("A")?, instance("B")?],
            duration,
            read_rate: u32::try_from(number("SOAK_READ_RATE", 200)?)
                .map_err(|_| "SOAK_READ_RATE: too large".to_owned())?,
            readers: u32::try_from(number("SOAK_READERS", 4)?.max(1))
                .map_err(|_| "SOAK_READERS: too large".to_owned())?,
            checkers: u32::try_from(number("SOAK_CHECKERS", 2)?)
                .map_err(|_| "SOAK_CHECKERS: too large".to_owned())?,
            check_pause: Duration::from_millis(number("SOAK_CHECK_PAUSE_MS", 20)?),
            warmup,
            fault_log: std::env::var("SOAK_FAULT_LOG").ok(),
            timeout: Duration::from_millis(number("SOAK_TIMEOUT_MS", 5000)?.max(1)),
        })
    }
}

fn instance(name: &'static str) -> Result<Instance, String> {
    let url_var = format!("SOAK_{name}_URL");
    let pid_var = format!("SOAK_{name}_PID");
    let base = std::env::var(&url_var).map_err(|_| format!("{url_var} is not set"))?;
    let pid = std::env::var(&pid_var).map_err(|_| format!("{pid_var} is not set"))?;
    let pid = pid
        .trim()
        .parse()
        .map_err(|_| format!("{pid_var}: `{pid}` is not a process id"))?;
    Ok(Instance {
        name,
        base: base.trim_end_matches('/').to_owned(),
        pid,
    })
}

fn number(var: &str, default: u64) -> Result<u64, String> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("{var}: `{raw}` is not a whole number")),
    }
}
