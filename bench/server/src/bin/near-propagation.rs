//! How long an invalidation takes to reach other processes' near caches
//! (`REDIS_NEAR_CACHE=true`), measured with real processes on one `redis-server`.
//!
//! ```text
//! redis-server --port 6391 --save '' &
//! cargo build --release -p bench-server
//! REDIS_URL=redis://127.0.0.1:6391/0 ROUNDS=1000 READERS=2 target/release/near-propagation
//! ```
//!
//! The coordinator (this process, one cache instance) starts `READERS` reader
//! processes (this program with the argument `reader`), each with its own cache
//! instance and connections. Each round: the readers poll a near `#[cached]`
//! function until its near copy is warm and say `ready`; the coordinator writes a
//! new value to the "database" (a plain Redis key, read only on a miss), reads the
//! clock, and invalidates the function's namespace; each reader polls until the
//! function returns the new value and reports the clock then. The propagation
//! delay is the reader's time minus the coordinator's (one machine: one clock).
//! It covers the invalidation script, Redis's push, and the reader's miss (a READ,
//! the database read and the PUT) that fetches the new value.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cachette::{Cache, Config, cached};

/// The "database": one Redis key the cached function reads on a miss.
const DB_KEY: &str = "near-propagation:db";

type Error = Box<dyn std::error::Error>;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

async fn db() -> Result<redis::aio::MultiplexedConnection, Error> {
    let client = redis::Client::open(env("REDIS_URL", "redis://127.0.0.1:6391/0"))?;
    Ok(client.get_multiplexed_async_connection().await?)
}

/// The cached function every process reads: the database's value.
#[cached(expire = 300, namespace = "propagation", near = true, skip(conn))]
async fn current_version(conn: &redis::aio::MultiplexedConnection) -> Option<u64> {
    let mut conn = conn.clone();
    redis::cmd("GET")
        .arg(DB_KEY)
        .query_async::<Option<u64>>(&mut conn)
        .await
        .ok()
        .flatten()
}

async fn cache() -> Result<Cache, Error> {
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_url(env("REDIS_URL", "redis://127.0.0.1:6391/0"))
        .redis_near_cache(true)
        .build()?;
    Ok(Cache::new(config).await)
}

/// A reader: answers `round <n>` with `ready`, then `seen <µs>` once the
/// function returns `n`.
async fn reader() -> Result<(), Error> {
    let cache = cache().await?;
    let conn = db().await?;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let Some(round) = line.strip_prefix("round ") else {
            break;
        };
        let round: u64 = round.parse()?;
        // Warm: the previous round's value, from the near copy.
        cache.scope(current_version(&conn)).await;
        writeln!(out, "ready")?;
        out.flush()?;
        loop {
            if cache.scope(current_version(&conn)).await == Some(round) {
                break;
            }
            // Lets the connection read Redis's pushes, and the other processes
            // (Redis among them) run: a poll loop must not starve them of cores.
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
        writeln!(out, "seen {}", now_us())?;
        out.flush()?;
    }
    Ok(())
}

fn percentile(sorted: &[u128], p: f64) -> u128 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn coordinator() -> Result<(), Error> {
    let rounds: u64 = env("ROUNDS", "1000").parse()?;
    let readers: usize = env("READERS", "2").parse()?;
    let cache = cache().await?;
    let mut conn = db().await?;
    redis::cmd("SET")
        .arg(DB_KEY)
        .arg(0)
        .query_async::<()>(&mut conn)
        .await?;
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for _ in 0..readers {
        let mut child = Command::new(&exe)
            .arg("reader")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        children.push((child, stdin, stdout));
    }
    let expect = |stdout: &mut BufReader<std::process::ChildStdout>, what: &str| {
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        line.trim()
            .strip_prefix(what)
            .map(str::to_owned)
            .ok_or_else(|| Error::from(format!("a reader said {line:?}, not {what:?}")))
    };
    let mut delays = Vec::with_capacity(rounds as usize * readers);
    for round in 1..=rounds {
        for (_, stdin, _) in &mut children {
            writeln!(stdin, "round {round}")?;
            stdin.flush()?;
        }
        for (_, _, stdout) in &mut children {
            expect(stdout, "ready")?;
        }
        redis::cmd("SET")
            .arg(DB_KEY)
            .arg(round)
            .query_async::<()>(&mut conn)
            .await?;
        let start = now_us();
        cache.invalidate_namespace("propagation").await;
        for (_, _, stdout) in &mut children {
            let seen: u128 = expect(stdout, "seen ")?.trim().parse()?;
            delays.push(seen.saturating_sub(start));
        }
    }
    for (mut child, stdin, _) in children {
        drop(stdin);
        let _ = child.wait();
    }
    delays.sort_unstable();
    let ms = |us: u128| Duration::from_micros(us as u64).as_secs_f64() * 1000.0;
    writeln!(
        std::io::stdout().lock(),
        "{} invalidations x {readers} readers: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        rounds,
        ms(percentile(&delays, 0.50)),
        ms(percentile(&delays, 0.99)),
        ms(*delays.last().unwrap_or(&0)),
    )?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    if std::env::args().nth(1).as_deref() == Some("reader") {
        reader().await
    } else {
        coordinator().await
    }
}
