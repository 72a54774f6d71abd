//! Where each stripe's data lives: one link on one Redis, or in a cluster
//! (`REDIS_CLUSTER=true`) the link to the master that owns the stripe's slot.
//!
//! # Why not redis-rs's cluster client
//!
//! For the reason `link` does not use its `ConnectionManager`: it reconnects
//! behind the caller's back, and the store must check every new connection (the
//! epoch rotated if its server restarted or failed over, see `restart`) before
//! data goes through it. So the cluster is a set of [`Link`]s, one per master,
//! each exactly the single-node connection with its checks, and a route per
//! stripe (see `layout`, "In a cluster"): the master `CLUSTER SLOTS` names for the
//! stripe's slot.
//!
//! # When the routes change
//!
//! The routes are read at start-up and whenever they may be wrong: a reply
//! `MOVED`, `ASK`, `TRYAGAIN` or `CLUSTERDOWN`, a broken connection (the node may
//! be gone, its slots taken over by a replica), and before every probe of the
//! breaker (see `recover`). The call that met it fails (a miss served from the
//! fallback, counted by the breaker); the next one routes anew. A stripe that moves
//! to another node is checked there before data goes through (its check is per
//! connection), so a promoted replica that missed recent invalidations rotates the
//! stripe's epoch first. A cluster that leaves a stripe's slot to no master fails
//! that stripe's calls, which opens the breaker: the store serves from the
//! fallback until every stripe has a master again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use super::layout::{Layout, STRIPES, Stripe, stripe_of};
use super::link::Link;
use super::tracking::NearState;
use crate::config::RedisConfig;
use crate::key::CacheKey;

/// A stripe: its keys, its slot, and the check it passed last (see `restart`).
#[derive(Debug)]
pub(super) struct Shard {
    pub(super) layout: Layout,
    slot: u16,
    /// The `check` of the connection this stripe's epoch was last checked on
    /// (0: none).
    pub(super) checked_on: AtomicU64,
}

/// The store's stripes and the links their data goes through.
#[derive(Debug)]
pub(super) struct Topology {
    /// The keys that are not a stripe's (the wake-up channel).
    pub(super) base: Layout,
    pub(super) shards: Vec<Shard>,
    nodes: Nodes,
    /// Set once a single Redis answered like a cluster node (logged once).
    cluster_hinted: AtomicBool,
}

#[derive(Debug)]
enum Nodes {
    /// One Redis (`None`: its URL was not usable).
    Single(Option<Arc<Link>>),
    Cluster(Box<Cluster>),
}

/// The masters of a cluster, and which one each stripe's slot is on.
struct Cluster {
    routes: RwLock<Routes>,
    /// The routes may be wrong: the next call reads them again.
    stale: AtomicBool,
    refreshing: tokio::sync::Mutex<()>,
    /// The seed nodes (`REDIS_URL`): `host:port` and connection URL.
    seeds: Vec<(String, String)>,
    redis: RedisConfig,
    near: Arc<NearState>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Routes {
    /// The link of each stripe's master (`None`: no master owns its slot).
    by_stripe: Vec<Option<Arc<Link>>>,
    /// Every link, by `host:port`.
    by_addr: HashMap<String, Arc<Link>>,
}

/// Why the routes could not be read.
#[derive(Debug)]
pub(super) enum RouteError {
    /// No node answered `CLUSTER SLOTS` (each node's error, for the logs).
    NoAnswer(String),
    /// A node answered that it is not part of a cluster.
    NotACluster(String),
    /// Slots of some stripes have no master.
    Uncovered(Vec<u16>),
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteError::NoAnswer(errors) => {
                write!(f, "no node of REDIS_URL answered CLUSTER SLOTS ({errors})")
            }
            RouteError::NotACluster(node) => write!(
                f,
                "REDIS_CLUSTER=true, but {node} is not a cluster node (cluster support disabled): point REDIS_URL at the cluster's nodes, or set REDIS_CLUSTER=false for a single Redis"
            ),
            RouteError::Uncovered(slots) => write!(
                f,
                "the cluster leaves {} of the cache's {STRIPES} stripes without a master (hash slots {slots:?} uncovered): every slot must be assigned (CLUSTER INFO: cluster_state:ok)",
                slots.len()
            ),
        }
    }
}

impl Topology {
    /// One Redis.
    pub(super) fn single(prefix: &str, link: Option<Link>) -> Topology {
        Topology {
            base: Layout::new(prefix),
            shards: vec![Shard {
                layout: Layout::new(prefix),
                slot: 0,
                checked_on: AtomicU64::new(0),
            }],
            nodes: Nodes::Single(link.map(Arc::new)),
            cluster_hinted: AtomicBool::new(false),
        }
    }

    /// A cluster, seeded by `redis`'s nodes; routes are read on first use.
    pub(super) fn cluster(prefix: &str, redis: &RedisConfig, near: Arc<NearState>) -> Topology {
        let seeds = redis
            .node_urls()
            .into_iter()
            .filter_map(|url| {
                let info = redis::IntoConnectionInfo::into_connection_info(url.as_str()).ok()?;
                Some((addr_of(info.addr()), url))
            })
            .collect();
        Topology {
            base: Layout::new(prefix),
            shards: Layout::stripes(prefix)
                .into_iter()
                .map(|Stripe { layout, slot }| Shard {
                    layout,
                    slot,
                    checked_on: AtomicU64::new(0),
                })
                .collect(),
            nodes: Nodes::Cluster(Box::new(Cluster {
                routes: RwLock::new(Routes::default()),
                stale: AtomicBool::new(true),
                refreshing: tokio::sync::Mutex::new(()),
                seeds,
                redis: redis.clone(),
                near,
            })),
            cluster_hinted: AtomicBool::new(false),
        }
    }

    /// The stripe of `key`.
    pub(super) fn stripe(&self, key: &CacheKey) -> usize {
        match self.nodes {
            Nodes::Single(_) => 0,
            Nodes::Cluster(_) => stripe_of(key.rest()),
        }
    }

    /// The keys of `key`'s stripe.
    pub(super) fn layout(&self, key: &CacheKey) -> &Layout {
        &self.shards[self.stripe(key)].layout
    }

    /// The link `stripe`'s data goes through, if it is known and may be used
    /// without reading the routes again.
    pub(super) fn link(&self, stripe: usize) -> Option<Arc<Link>> {
        match &self.nodes {
            Nodes::Single(link) => link.clone(),
            Nodes::Cluster(cluster) => {
                if cluster.stale.load(Ordering::Acquire) {
                    return None;
                }
                cluster.routes().by_stripe.get(stripe).cloned().flatten()
            }
        }
    }

    /// Every link in use (one per master in a cluster).
    pub(super) fn links(&self) -> Vec<Arc<Link>> {
        match &self.nodes {
            Nodes::Single(link) => link.iter().cloned().collect(),
            Nodes::Cluster(cluster) => {
                let routes = cluster.routes();
                let mut links: Vec<Arc<Link>> = Vec::new();
                for link in routes.by_stripe.iter().flatten() {
                    if !links.iter().any(|known| Arc::ptr_eq(known, link)) {
                        links.push(Arc::clone(link));
                    }
                }
                links
            }
        }
    }

    /// The stripes whose data goes through `link`.
    pub(super) fn stripes_on(&self, link: &Arc<Link>) -> Vec<usize> {
        match &self.nodes {
            Nodes::Single(_) => vec![0],
            Nodes::Cluster(cluster) => cluster
                .routes()
                .by_stripe
                .iter()
                .enumerate()
                .filter(|(_, routed)| routed.as_ref().is_some_and(|l| Arc::ptr_eq(l, link)))
                .map(|(stripe, _)| stripe)
                .collect(),
        }
    }

    /// The routes may be wrong after `error`: read them again before the next
    /// call (a cluster only).
    pub(super) fn after_error(&self, error: &redis::RedisError) {
        let moved = error
            .code()
            .is_some_and(|code| matches!(code, "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN"));
        match &self.nodes {
            Nodes::Cluster(cluster) if moved || (error.code().is_none() && !error.is_timeout()) => {
                cluster.stale.store(true, Ordering::Release);
            }
            // A cluster node refuses a script whose keys hash to several slots
            // (the single-node layout's) before it would redirect it.
            Nodes::Single(_)
                if (moved || error.code() == Some("CROSSSLOT"))
                    && !self.cluster_hinted.swap(true, Ordering::Relaxed) =>
            {
                tracing::warn!(
                    target: "cache",
                    %error,
                    "Redis answered like a Redis Cluster node: set REDIS_CLUSTER=true and list the cluster's nodes in REDIS_URL (comma-separated); until then, keys on other nodes are served from the memory fallback"
                );
            }
            _ => {}
        }
    }

    /// Reads the routes again before the next call (a cluster only).
    pub(super) fn forget_routes(&self) {
        if let Nodes::Cluster(cluster) = &self.nodes {
            cluster.stale.store(true, Ordering::Release);
        }
    }

    /// Reads the routes if they may be wrong (a cluster; one at a time), each
    /// node asked within `limit`.
    pub(super) async fn route(&self, limit: Duration) -> Result<(), RouteError> {
        match &self.nodes {
            Nodes::Single(_) => Ok(()),
            Nodes::Cluster(cluster) => cluster.refresh(&self.shards, limit).await,
        }
    }
}

impl Cluster {
    fn routes(&self) -> std::sync::RwLockReadGuard<'_, Routes> {
        self.routes.read().unwrap_or_else(PoisonError::into_inner)
    }

    async fn refresh(&self, shards: &[Shard], limit: Duration) -> Result<(), RouteError> {
        let _refreshing = self.refreshing.lock().await;
        if !self.stale.load(Ordering::Acquire) {
            return Ok(());
        }
        // The nodes in use first, then the seeds.
        let mut asked: Vec<(String, Arc<Link>)> = {
            let routes = self.routes();
            routes
                .by_addr
                .iter()
                .map(|(addr, link)| (addr.clone(), Arc::clone(link)))
                .collect()
        };
        for (addr, url) in &self.seeds {
            if !asked.iter().any(|(known, _)| known == addr)
                && let Some(link) = self.link_to(url, addr)
            {
                asked.push((addr.clone(), link));
            }
        }
        let mut errors = Vec::new();
        for (addr, link) in asked {
            let slots = tokio::time::timeout(limit, async {
                let (mut conn, _) = link.any().await?;
                let id = conn.id;
                let reply = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async::<redis::Value>(&mut conn.redis)
                    .await;
                if let Err(error) = &reply {
                    link.after_error(id, error);
                }
                reply
            })
            .await;
            match slots {
                Ok(Ok(reply)) => {
                    let host = addr.rsplit_once(':').map_or("", |(host, _)| host);
                    let ranges = parse_slots(&reply, host.trim_matches(['[', ']']));
                    return self.apply(shards, &ranges);
                }
                Ok(Err(error)) if is_not_a_cluster(&error) => {
                    return Err(RouteError::NotACluster(self.redacted(&addr)));
                }
                Ok(Err(error)) => errors.push(format!("{addr}: {error}")),
                Err(_) => errors.push(format!(
                    "{addr}: no answer within REDIS_CONNECT_TIMEOUT_MS + REDIS_TIMEOUT_MS"
                )),
            }
        }
        Err(RouteError::NoAnswer(if errors.is_empty() {
            "no usable node URL".to_owned()
        } else {
            errors.join("; ")
        }))
    }

    /// Routes every stripe to the master of its slot in `ranges`.
    fn apply(
        &self,
        shards: &[Shard],
        ranges: &[(u16, u16, String, u16)],
    ) -> Result<(), RouteError> {
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let mut by_addr = HashMap::new();
        let mut by_stripe = Vec::with_capacity(shards.len());
        let mut uncovered = Vec::new();
        for shard in shards {
            let owner = ranges
                .iter()
                .find(|(start, end, _, _)| (*start..=*end).contains(&shard.slot));
            let link = owner.and_then(|(_, _, host, port)| {
                let addr = addr_text(host, *port);
                if let Some(link) = by_addr.get(&addr) {
                    return Some(Arc::clone(link));
                }
                let link = match routes.by_addr.get(&addr) {
                    Some(link) => Arc::clone(link),
                    None => self.link_to(&self.redis.node_url(host, *port), &addr)?,
                };
                by_addr.insert(addr, Arc::clone(&link));
                Some(link)
            });
            if link.is_none() {
                uncovered.push(shard.slot);
            }
            by_stripe.push(link);
        }
        *routes = Routes { by_stripe, by_addr };
        drop(routes);
        if uncovered.is_empty() {
            self.stale.store(false, Ordering::Release);
            Ok(())
        } else {
            Err(RouteError::Uncovered(uncovered))
        }
    }

    /// A new link to the node `addr` at `url`.
    fn link_to(&self, url: &str, addr: &str) -> Option<Arc<Link>> {
        let client = redis::Client::open(url).ok()?;
        Some(Arc::new(Link::new(
            client,
            self.redis.connect_timeout(),
            self.redis.timeout(),
            Arc::clone(&self.near),
            self.redacted(addr),
        )))
    }

    /// The URL of the node `addr` (`host:port`) for logs: no password.
    fn redacted(&self, addr: &str) -> String {
        let parsed = addr
            .rsplit_once(':')
            .and_then(|(host, port)| Some((host.trim_matches(['[', ']']), port.parse().ok()?)));
        match parsed {
            Some((host, port)) => self.redis.redacted_node_url(host, port),
            None => addr.to_owned(),
        }
    }
}

/// `true` for the error of `CLUSTER SLOTS` on a Redis without cluster support.
fn is_not_a_cluster(error: &redis::RedisError) -> bool {
    error.to_string().contains("cluster support disabled")
}

/// `host:port` of a connection address.
fn addr_of(addr: &redis::ConnectionAddr) -> String {
    match addr {
        redis::ConnectionAddr::Tcp(host, port)
        | redis::ConnectionAddr::TcpTls { host, port, .. } => addr_text(host, *port),
        other => other.to_string(),
    }
}

fn addr_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The slot ranges of a `CLUSTER SLOTS` reply, each with its master's host and
/// port; a master named by an empty host is the node asked (`asked_host`).
fn parse_slots(reply: &redis::Value, asked_host: &str) -> Vec<(u16, u16, String, u16)> {
    let redis::Value::Array(ranges) = reply else {
        return Vec::new();
    };
    ranges
        .iter()
        .filter_map(|range| {
            let redis::Value::Array(range) = range else {
                return None;
            };
            let [redis::Value::Int(start), redis::Value::Int(end), master, ..] = &range[..] else {
                return None;
            };
            let redis::Value::Array(master) = master else {
                return None;
            };
            let [host, redis::Value::Int(port), ..] = &master[..] else {
                return None;
            };
            let host = match host {
                redis::Value::BulkString(host) => String::from_utf8(host.clone()).ok()?,
                redis::Value::SimpleString(host) => host.clone(),
                _ => return None,
            };
            // `?`: the node does not know its own endpoint; empty: the one asked.
            let host = if host.is_empty() || host == "?" {
                asked_host.to_owned()
            } else {
                host
            };
            Some((
                u16::try_from(*start).ok()?,
                u16::try_from(*end).ok()?,
                host,
                u16::try_from(*port).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> redis::Value {
        redis::Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn cluster_slots_replies_name_each_ranges_master() {
        use redis::Value::{Array, Int};
        let reply = Array(vec![
            Array(vec![
                Int(0),
                Int(5460),
                Array(vec![bulk("10.0.0.1"), Int(7000), bulk("id1")]),
                Array(vec![bulk("10.0.0.4"), Int(7003), bulk("id4")]),
            ]),
            Array(vec![
                Int(5461),
                Int(16383),
                Array(vec![bulk(""), Int(7001), bulk("id2")]),
            ]),
            // Not a range: skipped.
            Int(3),
        ]);
        assert_eq!(
            parse_slots(&reply, "127.0.0.1"),
            [
                (0, 5460, "10.0.0.1".to_owned(), 7000),
                (5461, 16383, "127.0.0.1".to_owned(), 7001)
            ]
        );
        assert!(parse_slots(&Int(1), "h").is_empty());
    }

    #[test]
    fn addresses_bracket_ipv6_hosts() {
        assert_eq!(addr_text("::1", 7000), "[::1]:7000");
        assert_eq!(addr_text("h", 1), "h:1");
    }
}
