//! The fault soak's load generator and checker (issue 14 part 7), run by
//! `scripts/soak.sh`, which starts Redis and two users-api instances, injects the
//! faults and passes their addresses and process ids in `SOAK_*` variables (see
//! [`settings`]).
//!
//! For the soak's duration it sends a steady read load to both instances
//! ([`load`]), while checkers write users through one instance and read them back
//! from both ([`checker`]). It then prints the summary ([`report`]): requests,
//! failed requests split by cause, stale reads, latency, each instance's RSS, and
//! exits 1 when a target was missed (2 when it could not start).

mod checker;
mod faults;
mod http;
mod load;
mod report;
mod rss;
mod settings;
mod setup;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::report::Rss;
use crate::settings::Settings;
use crate::stats::Recorder;

/// Users each checker writes.
const USERS_PER_CHECKER: usize = 4;
/// Demo users whose `/users/me` the readers read.
const READ_USERS: usize = 4;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("soak: {error}\n").as_bytes(),
            );
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<bool, String> {
    let settings = Settings::from_env()?;
    let recorder = Arc::new(Recorder::default());
    let http = http::Http::new(
        settings.instances.clone(),
        settings.timeout,
        recorder.clone(),
    )?;
    let checker_users = settings.checkers as usize * USERS_PER_CHECKER;
    let fixture = setup::fixture(&http, checker_users + READ_USERS).await?;
    let (checked, read) = fixture.users.split_at(checker_users);
    let read_fixture = Arc::new(setup::Fixture {
        users: read.to_vec(),
        ..fixture.clone()
    });

    let pids = [settings.instances[0].pid, settings.instances[1].pid];
    let mut rss = [Rss::default(); 2];
    for (slot, pid) in rss.iter_mut().zip(pids) {
        slot.start = rss::rss_kib(pid);
    }
    let started = Instant::now();
    let deadline = started + settings.duration;

    let mut tasks = tokio::task::JoinSet::new();
    let period =
        Duration::from_secs_f64(f64::from(settings.readers) / f64::from(settings.read_rate.max(1)));
    for index in 0..2 {
        for reader in 0..settings.readers {
            tasks.spawn(load::reader(
                http.clone(),
                index,
                read_fixture.clone(),
                period,
                deadline,
                stats::unix_ms() ^ (u64::from(reader) << 32) ^ index as u64,
            ));
        }
    }
    for (number, users) in (0..settings.checkers).zip(checked.chunks(USERS_PER_CHECKER)) {
        let checker = checker::Checker {
            http: http.clone(),
            recorder: recorder.clone(),
            admin: fixture.admin.clone(),
            number,
            users: users.to_vec(),
            pause: settings.check_pause,
        };
        tasks.spawn(checker.run(deadline));
    }

    tokio::time::sleep_until(started + settings.warmup).await;
    for (slot, pid) in rss.iter_mut().zip(pids) {
        slot.warm = rss::rss_kib(pid);
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|error| format!("a load task failed: {error}"))?;
    }
    for (slot, pid) in rss.iter_mut().zip(pids) {
        slot.end = rss::rss_kib(pid);
    }

    let totals = recorder.totals();
    let events = faults::read(settings.fault_log.as_deref());
    if let Ok(path) = std::env::var("SOAK_DETAILS") {
        report::dump(&path, &totals, &events)
            .map_err(|error| format!("SOAK_DETAILS: cannot write {path}: {error}"))?;
    }
    Ok(report::print(&report::Inputs {
        duration: started.elapsed(),
        totals: &totals,
        events: &events,
        rss: [
            (settings.instances[0].name, rss[0]),
            (settings.instances[1].name, rss[1]),
        ],
    }))
}
