//! `redis-server` processes for tests: each on a free loopback port, stopped by PID.
// Also included by path from examples/users-api/tests, which uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A running `redis-server`, killed when dropped.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    args: Vec<String>,
    /// Its working directory (`--dir`: where `SAVE`, and a replica's full resync,
    /// write the RDB file, and where a restart loads it from), removed when
    /// dropped. One per server, so no server loads another's snapshot.
    dir: PathBuf,
}

const INSTALL: &str = "redis-server is not installed: install it with `apt-get install redis-server` \
                       (Debian/Ubuntu), or run ./scripts/test.sh, which installs it when missing";

impl RedisServer {
    /// Starts `redis-server` on a free port, with extra arguments, in a
    /// directory of its own. No automatic snapshots: a restart starts empty,
    /// unless a `SAVE` took a snapshot, which it then starts from (what a crash
    /// does under the default `save` persistence).
    pub(crate) fn start(extra: &[&str]) -> RedisServer {
        RedisServer::start_on(free_port, extra)
    }

    /// Like [`RedisServer::start`], on a port whose cluster bus port (port +
    /// 10000, which a `--cluster-enabled yes` node also listens on) was free too.
    pub(crate) fn start_cluster_node(extra: &[&str]) -> RedisServer {
        RedisServer::start_on(free_cluster_port, extra)
    }

    /// Starts `redis-server` on a port `pick` returns (another one if it was
    /// taken meanwhile), with extra arguments, in a directory of its own.
    fn start_on(pick: fn() -> u16, extra: &[&str]) -> RedisServer {
        static DIRS: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cachette-redis-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create a working directory for redis-server: {e}"));
        let mut args = vec!["--dir".to_owned(), dir.to_string_lossy().into_owned()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        for _ in 0..5 {
            let port = pick();
            if let Some(child) = spawn(port, &args) {
                return RedisServer {
                    child: Some(child),
                    port,
                    args,
                    dir,
                };
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("redis-server did not start on a free port after 5 attempts");
    }

    /// Runs one command on a plain connection of its own and returns the reply.
    /// No response timeout: a blocking command (`WAIT`) is bounded by its own.
    pub(crate) async fn command(&self, args: &[&str]) -> redis::Value {
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        let mut raw = redis::Client::open(self.url())
            .unwrap_or_else(|e| panic!("invalid test Redis URL: {e}"))
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .unwrap_or_else(|e| panic!("no connection to the test Redis: {e}"));
        command
            .query_async(&mut raw)
            .await
            .unwrap_or_else(|error| panic!("{args:?} failed: {error}"))
    }

    /// `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the same arguments.
    pub(crate) fn restart(&mut self) {
        self.kill();
        for _ in 0..50 {
            if let Some(child) = spawn(self.port, &self.args) {
                self.child = Some(child);
                return;
            }
        }
        panic!("redis-server did not restart on port {}", self.port);
    }

    /// SIGSTOP: the process freezes; connections stay open, nothing answers.
    pub(crate) fn freeze(&self) {
        signal("-STOP", self.pid());
    }

    /// SIGCONT.
    pub(crate) fn thaw(&self) {
        signal("-CONT", self.pid());
    }

    /// The commands Redis executes from now on (`MONITOR`), one line each, e.g.
    /// `1700000000.123456 [0 127.0.0.1:50000] "PING"`. Read on a thread of its
    /// own, which ends when the server stops or the receiver is dropped.
    pub(crate) fn monitor(&self) -> tokio::sync::mpsc::UnboundedReceiver<String> {
        let stream = std::net::TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("no connection to the test Redis: {e}"));
        let mut writer = stream
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone the MONITOR socket: {e}"));
        std::io::Write::write_all(&mut writer, b"MONITOR\r\n")
            .unwrap_or_else(|e| panic!("cannot send MONITOR: {e}"));
        let mut lines = BufReader::new(stream).lines();
        let first = lines.next().and_then(Result::ok);
        assert_eq!(first.as_deref(), Some("+OK"), "MONITOR refused");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in lines {
                let Ok(line) = line else { break };
                let line = line.strip_prefix('+').unwrap_or(&line).to_owned();
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// A plain client, for looking at what the cache wrote.
    pub(crate) async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap_or_else(|e| panic!("invalid test Redis URL: {e}"))
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("no connection to the test Redis: {e}"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            signal("-CONT", child.id());
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn signal(which: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(which)
        .arg(pid.to_string())
        .status();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// A loopback port that is free, and whose port + 10000 (the cluster bus) is
/// free too. Drawn from 15000..22000, so both lie below Linux's ephemeral range
/// (32768..): no outgoing connection of another test takes them meanwhile.
fn free_cluster_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
    for _ in 0..1000 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let port = 15_000 + (hasher.finish() % 7_000) as u16;
        if free(port) && free(port + 10_000) {
            return port;
        }
    }
    panic!("no free loopback port p in 15000..22000 with p + 10000 free too (1000 draws)");
}

/// Starts the server and waits for "Ready to accept connections"; `None` if it
/// exited (the port was taken meanwhile).
fn spawn(port: u16, extra: &[String]) -> Option<Child> {
    let mut child = match Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no", "--protected-mode", "no"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{INSTALL}"),
        Err(e) => panic!("cannot start redis-server: {e}"),
    };
    let stdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("Ready to accept connections") {
                let _ = tx.send(true);
            }
        }
        let _ = tx.send(false);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(true) => Some(child),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

/// The settings of a Redis-mode cache on `url` (otherwise the defaults).
pub(crate) fn config(url: impl Into<String>) -> cachette::ConfigBuilder {
    cachette::Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_url(url)
}

/// A Redis-mode cache on `server` (500 ms command timeout), serving from Redis.
pub(crate) async fn redis_cache(server: &RedisServer) -> cachette::Cache {
    serving(config(server.url())).await
}

/// A Redis-mode cache on `server` with the near cache on by default
/// (`REDIS_NEAR_CACHE`), or off, serving from Redis.
pub(crate) async fn near_cache(server: &RedisServer, near: bool) -> cachette::Cache {
    serving(config(server.url()).redis_near_cache(near)).await
}

/// The `EVALSHA`s Redis runs while `action` runs (seen through `MONITOR`, up to
/// a marker sent after it): how many lookups went to Redis.
pub(crate) async fn scripts_run_during<F: std::future::Future>(
    server: &RedisServer,
    action: F,
) -> usize {
    let mut monitor = server.monitor();
    action.await;
    let marker = format!("scripts-run-during-marker-{}", std::process::id());
    server.command(&["ECHO", &marker]).await;
    let mut scripts = 0;
    // Bounded by hand: this file is also included on its own (users-api's tests).
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = monitor.recv().await {
            if line.contains(&marker) {
                return true;
            }
            if line.to_ascii_uppercase().contains("\"EVALSHA\"") {
                scripts += 1;
            }
        }
        false
    })
    .await;
    assert_eq!(
        seen,
        Ok(true),
        "MONITOR did not show the marker within 10 s"
    );
    scripts
}

/// A cache built from `builder` (500 ms command timeout), checked to serve from
/// Redis.
pub(crate) async fn serving(builder: cachette::ConfigBuilder) -> cachette::Cache {
    let config = builder
        .redis_timeout(Duration::from_millis(500))
        .build()
        .unwrap_or_else(|e| panic!("test configuration: {e}"));
    let cache = cachette::Cache::new(config).await;
    assert_eq!(cache.mode(), cachette::Mode::Redis);
    assert_eq!(
        cache.redis_health().map(|h| *h.borrow()),
        Some(cachette::RedisHealth::Up),
        "the cache does not serve from the test's Redis"
    );
    cache
}
