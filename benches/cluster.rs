//! Redis Cluster mode (`REDIS_CLUSTER=true`) beside single-node Redis, in one run:
//! hit and miss throughput of a `#[cached]` function under 32 concurrent callers
//! (misses with the distributed lock on and off), and the latency of one
//! namespace invalidation (32 stripes in a cluster, one script on a single Redis).
//!
//! ```text
//! cargo bench --bench cluster               # about 80 s; starts its own redis-servers
//! ```
//!
//! It starts one `redis-server` and a 3-master cluster (no replicas) of them on
//! loopback, and one cache on each. Every throughput phase runs 32 tasks for
//! [`PHASE`] on a 2-worker runtime, single node and cluster alternating, [`ROUNDS`]
//! times each; beside calls/s it prints what each call cost in CPU: this process
//! (user + sys from `/proc/self/stat`), the Redis processes (every master, from
//! `/proc/<pid>/stat`), and the time Redis spent in commands (`INFO commandstats`,
//! reset before each phase), with the number of commands a call sent. Prints
//! markdown tables, and the load average before and after.
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout
)]

#[allow(dead_code)]
mod support {
    #[path = "../../tests/support/cluster.rs"]
    pub(crate) mod cluster;
    #[path = "../../tests/support/redis.rs"]
    pub(crate) mod redis;
}

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cachette::{Cache, Config, cached};
use support::cluster::RedisCluster;
use support::redis::RedisServer;

/// How long each throughput phase runs.
const PHASE: Duration = Duration::from_secs(2);
/// How many phases each store runs per measurement (alternating).
const ROUNDS: usize = 4;
/// Concurrent callers.
const TASKS: u64 = 32;
/// The warm key set of the hit phases.
const KEYS: u64 = 1_000;
/// How long each store invalidates, back to back, per round.
const INVALIDATING: Duration = Duration::from_secs(1);

static HIT_RUNS: AtomicUsize = AtomicUsize::new(0);
static MISS_RUNS: AtomicUsize = AtomicUsize::new(0);
static NEXT_MISS: AtomicU64 = AtomicU64::new(0);

#[cached(expire = 3600, namespace = "hits")]
async fn hit(i: u64) -> u64 {
    HIT_RUNS.fetch_add(1, Ordering::Relaxed);
    i
}

#[cached(expire = 3600, namespace = "misses")]
async fn miss(i: u64) -> u64 {
    MISS_RUNS.fetch_add(1, Ordering::Relaxed);
    i
}

#[cached(expire = 3600, namespace = "inv")]
async fn invalidated(i: u64) -> u64 {
    i
}

/// A store under test: its cache and the Redis processes behind it.
struct Store<'a> {
    label: &'static str,
    cache: Cache,
    servers: Vec<&'a RedisServer>,
    cluster: bool,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// User + sys CPU ticks (1/100 s) of process `pid` ("self" for this one).
fn ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime is the 12th.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

async fn command<T: redis::FromRedisValue>(server: &RedisServer, args: &[&str]) -> T {
    let mut conn = server.client().await;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(&mut conn).await.unwrap()
}

/// From `INFO commandstats`: `(commands, scripts, script usec)`, where commands
/// counts those a script called too (Redis counts them in their own lines).
fn commandstats(info: &str) -> (u64, u64, u64) {
    let mut total = (0, 0, 0);
    for line in info.lines().filter(|l| l.starts_with("cmdstat_")) {
        let (name, fields) = line.split_once(':').unwrap();
        let script = matches!(name, "cmdstat_evalsha" | "cmdstat_eval");
        for field in fields.split(',') {
            match field.split_once('=') {
                Some(("calls", n)) => {
                    let n = n.parse::<u64>().unwrap();
                    total.0 += n;
                    if script {
                        total.1 += n;
                    }
                }
                Some(("usec", n)) if script => total.2 += n.parse::<u64>().unwrap(),
                _ => {}
            }
        }
    }
    total
}

/// CPU counters at the start of a phase.
struct Meter {
    own: u64,
    redis: u64,
    published: u64,
}

/// What one phase cost per call.
struct Cost {
    /// This process's CPU.
    client_us: f64,
    /// The Redis processes' CPU (every master): commands, I/O, cluster bus.
    redis_us: f64,
    /// Time Redis spent running scripts (`EVALSHA`, the commands they call
    /// included).
    script_us: f64,
    /// Scripts sent.
    scripts: f64,
    /// Commands Redis ran, those scripts called included.
    commands: f64,
    /// `PUBLISH` messages the masters received over the cluster bus (a cluster
    /// forwards every `PUBLISH` to every node).
    published: f64,
}

fn store<'a>(
    label: &'static str,
    cache: Cache,
    servers: Vec<&'a RedisServer>,
    cluster: bool,
) -> Store<'a> {
    Store {
        label,
        cache,
        servers,
        cluster,
    }
}

impl Store<'_> {
    async fn start_meter(&self) -> Meter {
        for server in &self.servers {
            command::<()>(server, &["CONFIG", "RESETSTAT"]).await;
        }
        Meter {
            own: ticks("self"),
            redis: self.redis_ticks(),
            published: self.published().await,
        }
    }

    /// `cluster_stats_messages_publish_received` summed over the masters (0 on
    /// a single Redis).
    async fn published(&self) -> u64 {
        if !self.cluster {
            return 0;
        }
        let mut total = 0;
        for server in &self.servers {
            let info: String = command(server, &["CLUSTER", "INFO"]).await;
            total += info
                .lines()
                .filter_map(|l| {
                    l.trim()
                        .strip_prefix("cluster_stats_messages_publish_received:")
                })
                .map(|n| n.parse::<u64>().unwrap())
                .sum::<u64>();
        }
        total
    }

    fn redis_ticks(&self) -> u64 {
        self.servers
            .iter()
            .map(|s| ticks(&s.pid().to_string()))
            .sum()
    }

    async fn stop_meter(&self, meter: Meter, calls: u64) -> Cost {
        let own = ticks("self") - meter.own;
        let published = self.published().await - meter.published;
        let redis = self.redis_ticks() - meter.redis;
        let (mut commands, mut scripts, mut usec) = (0, 0, 0);
        for server in &self.servers {
            let info: String = command(server, &["INFO", "commandstats"]).await;
            let (c, s, u) = commandstats(&info);
            // The INFO itself is not counted in its own reply; the RESETSTAT is.
            commands += c.saturating_sub(1);
            scripts += s;
            usec += u;
        }
        let per = |x: f64| x / calls as f64;
        Cost {
            client_us: per(own as f64 * 1e4),
            redis_us: per(redis as f64 * 1e4),
            script_us: per(usec as f64),
            scripts: per(scripts as f64),
            commands: per(commands as f64),
            published: per(published as f64),
        }
    }
}

/// `TASKS` tasks calling `call(task, n)` for [`PHASE`]: the calls made.
async fn drive<F, Fut>(cache: &Cache, call: F) -> u64
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = u64> + Send + 'static,
{
    let deadline = Instant::now() + PHASE;
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (cache, call) = (cache.clone(), call.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while Instant::now() < deadline {
                    std::hint::black_box(cache.scope(call(task, n)).await);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut calls = 0;
    for task in tasks {
        calls += task.await.unwrap();
    }
    calls
}

/// The median (the mean of the middle two for an even count: `ROUNDS` is 4).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let half = xs.len() / 2;
    if xs.len().is_multiple_of(2) {
        (xs[half - 1] + xs[half]) / 2.0
    } else {
        xs[half]
    }
}

/// Alternates `ROUNDS` phases of `call` on each store; prints one row per store
/// (median of its rounds, each round's calls/s) and the ratio.
async fn throughput<F, Fut>(what: &str, stores: &[Store<'_>], call: F, runs: &AtomicUsize)
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = u64> + Send + 'static,
{
    let mut rates = vec![Vec::new(); stores.len()];
    let mut costs: Vec<Vec<Cost>> = (0..stores.len()).map(|_| Vec::new()).collect();
    let mut computed = vec![0; stores.len()];
    let mut made = vec![0; stores.len()];
    let load = load_average();
    for _ in 0..ROUNDS {
        for (i, store) in stores.iter().enumerate() {
            let before = runs.load(Ordering::Relaxed);
            let meter = store.start_meter().await;
            let started = Instant::now();
            let calls = drive(&store.cache, call.clone()).await;
            let elapsed = started.elapsed();
            costs[i].push(store.stop_meter(meter, calls).await);
            rates[i].push(calls as f64 / elapsed.as_secs_f64());
            computed[i] += runs.load(Ordering::Relaxed) - before;
            made[i] += calls;
        }
    }
    println!(
        "\n{what}: {TASKS} tasks, {ROUNDS} x {PHASE:?} per store, alternating; load average {load} before, {} after\n",
        load_average()
    );
    println!(
        "| store | calls/s (median) | rounds | ratio | function runs / calls | client CPU µs/call | Redis CPU µs/call | script µs/call | scripts/call | commands/call | bus PUBLISH/call |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let base = median(rates[0].clone());
    for (i, store) in stores.iter().enumerate() {
        let rate = median(rates[i].clone());
        let rounds: Vec<String> = rates[i].iter().map(|r| format!("{r:.0}")).collect();
        let pick = |f: fn(&Cost) -> f64| median(costs[i].iter().map(f).collect());
        println!(
            "| {} | {rate:.0} | {} | {:.2} | {} / {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} |",
            store.label,
            rounds.join(", "),
            rate / base,
            computed[i],
            made[i],
            pick(|c| c.client_us),
            pick(|c| c.redis_us),
            pick(|c| c.script_us),
            pick(|c| c.scripts),
            pick(|c| c.commands),
            pick(|c| c.published),
        );
    }
}

/// Invalidations of "inv", one after another for [`INVALIDATING`] per store per
/// round, alternating.
async fn invalidations(stores: &[Store<'_>]) {
    let load = load_average();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); stores.len()];
    let mut costs: Vec<Vec<Cost>> = (0..stores.len()).map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (i, store) in stores.iter().enumerate() {
            for k in 0..KEYS {
                store.cache.scope(invalidated(k)).await;
            }
            let meter = store.start_meter().await;
            let deadline = Instant::now() + INVALIDATING;
            let mut made = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                store.cache.invalidate_namespace("inv").await;
                samples[i].push(started.elapsed());
                made += 1;
            }
            costs[i].push(store.stop_meter(meter, made).await);
        }
    }
    println!(
        "\ninvalidate_namespace, {KEYS} entries written to the namespace before each round (only the round's first invalidation meets them live): one after another, {ROUNDS} x {INVALIDATING:?} per store, alternating; load average {load} before, {} after\n",
        load_average()
    );
    println!(
        "| store | invalidations | median µs | p99 µs | max µs | ratio (median) | client CPU µs/call | Redis CPU µs/call | script µs/call | scripts/call | commands/call | bus PUBLISH/call |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut base = None;
    for (i, store) in stores.iter().enumerate() {
        let s = &mut samples[i];
        s.sort();
        let med = us(s[s.len() / 2]);
        let base = *base.get_or_insert(med);
        let pick = |f: fn(&Cost) -> f64| median(costs[i].iter().map(f).collect());
        println!(
            "| {} | {} | {med:.0} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} |",
            store.label,
            s.len(),
            us(s[s.len() * 99 / 100]),
            us(s[s.len() - 1]),
            med / base,
            pick(|c| c.client_us),
            pick(|c| c.redis_us),
            pick(|c| c.script_us),
            pick(|c| c.scripts),
            pick(|c| c.commands),
            pick(|c| c.published),
        );
    }
}

async fn cache(url: String, cluster: bool, lock: bool) -> Cache {
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_cluster(cluster)
        .redis_distributed_lock(lock)
        .redis_url(url)
        // A generous timeout: a call that timed out on the loaded machine would be
        // a miss served from the fallback, counted in "function runs".
        .redis_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let cache = Cache::new(config).await;
    assert_eq!(cache.mode(), cachette::Mode::Redis);
    assert_eq!(
        cache.redis_health().map(|h| *h.borrow()),
        Some(cachette::RedisHealth::Up),
        "the cache does not serve from the bench's Redis"
    );
    cache
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let single = RedisServer::start(&[]);
        let cluster = RedisCluster::start(3, 0).await;
        // One master: the cluster's 32 stripes and Redis's cluster mode, without
        // the spread over three processes.
        let alone = RedisCluster::start(1, 0).await;
        let stores = [
            store(
                "single redis-server",
                cache(single.url(), false, true).await,
                vec![&single],
                false,
            ),
            store(
                "cluster, 3 masters",
                cache(cluster.seeds(), true, true).await,
                cluster.masters(),
                true,
            ),
            store(
                "cluster, 1 master",
                cache(alone.seeds(), true, true).await,
                alone.masters(),
                true,
            ),
        ];
        let unlocked = [
            store(
                "single redis-server, lock off",
                cache(single.url(), false, false).await,
                vec![&single],
                false,
            ),
            store(
                "cluster, 3 masters, lock off",
                cache(cluster.seeds(), true, false).await,
                cluster.masters(),
                true,
            ),
        ];
        for store in &stores {
            for k in 0..KEYS {
                store.cache.scope(hit(k)).await;
            }
        }
        let warmed = HIT_RUNS.load(Ordering::Relaxed);
        assert_eq!(
            warmed,
            3 * KEYS as usize,
            "each store computed each key once"
        );
        // Every stripe checked on the lock-off instances' connections too.
        for store in &unlocked {
            for k in 0..KEYS {
                store.cache.scope(hit(k)).await;
            }
        }
        println!("date: {}", chrono_like_now());
        throughput(
            &format!("Hits over {KEYS} warm keys"),
            &stores,
            |task, n| hit((task * 7919 + n * 31) % KEYS),
            &HIT_RUNS,
        )
        .await;
        let fresh = |_, _| miss(NEXT_MISS.fetch_add(1, Ordering::Relaxed));
        throughput(
            "Misses (a new key each call), REDIS_DISTRIBUTED_LOCK=true (the default)",
            &stores[..2],
            fresh,
            &MISS_RUNS,
        )
        .await;
        throughput(
            "Misses (a new key each call), REDIS_DISTRIBUTED_LOCK=false",
            &unlocked,
            fresh,
            &MISS_RUNS,
        )
        .await;
        invalidations(&stores).await;
        for store in &stores {
            let mut sizes = Vec::new();
            for server in &store.servers {
                sizes.push(command::<u64>(server, &["DBSIZE"]).await);
            }
            println!("\n{}: keys per Redis at the end {sizes:?}", store.label);
        }
    });
}

/// The wall clock, UTC, from `date` (no date crate for one line).
fn chrono_like_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "?".to_owned())
}
