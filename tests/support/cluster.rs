//! A local Redis Cluster for tests: `redis-server` nodes with `--cluster-enabled
//! yes` on free loopback ports, joined by direct commands (`CLUSTER
//! SET-CONFIG-EPOCH`, `ADDSLOTSRANGE`, `MEET`, `REPLICATE`) rather than
//! `redis-cli --cluster create`, so nothing depends on redis-cli's flags.
//!
//! A cluster converges by gossip: no event says "every node agrees now". Every
//! wait here therefore polls (`CLUSTER INFO`, `CLUSTER NODES`, `INFO
//! replication` on every live node) every [`POLL`], within one hard bound,
//! [`CONVERGENCE`], after which it panics with the last thing still missing.
//!
//! Node timeouts are short ([`NODE_TIMEOUT_MS`]) and a replica may always fail
//! over (`cluster-replica-validity-factor 0`), so a failover takes a few seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::redis::RedisServer;

/// How many hash slots a Redis Cluster has.
const SLOTS: u16 = 16384;

/// The bound on every convergence wait: far longer than a healthy one (a few
/// seconds) on a loaded machine.
const CONVERGENCE: Duration = Duration::from_secs(30);

/// How often a convergence wait asks the nodes again.
const POLL: Duration = Duration::from_millis(50);

/// `cluster-node-timeout`: how long a node may not answer before the others
/// suspect it, hence most of how long a failover takes.
const NODE_TIMEOUT_MS: &str = "1000";

/// A local Redis Cluster: owns every node, each killed by PID when dropped.
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
    /// What the cluster agreed on last, per node: `None` for a master, the
    /// index of its master for a replica.
    roles: Vec<Option<usize>>,
    /// Whether a node still runs (a killed one keeps its index).
    alive: Vec<bool>,
    /// Whether a node is frozen (`SIGSTOP`): thawed when its master is killed.
    frozen: Vec<bool>,
}

/// A slot being moved between masters (see
/// [`RedisCluster::start_migration`]).
pub(crate) struct Migration {
    slot: u16,
    from: usize,
    to: usize,
    to_id: String,
}

impl RedisCluster {
    /// `masters` masters with `replicas` replicas each; the 16384 slots split
    /// evenly in contiguous ranges as `redis-cli --cluster create` splits them.
    /// Returns once every node reports `cluster_state:ok`, every node sees the
    /// planned slot map and replicas, and every replica's link is up; panics
    /// if that takes more than [`CONVERGENCE`].
    pub(crate) async fn start(masters: usize, replicas: usize) -> RedisCluster {
        assert!(
            (1..=usize::from(SLOTS)).contains(&masters),
            "a cluster needs 1 to 16384 masters, not {masters}"
        );
        let deadline = Instant::now() + CONVERGENCE;
        let count = masters * (1 + replicas);
        let nodes = spawn_nodes(count);
        // Node `masters + k` replicates master `k % masters`.
        let roles: Vec<Option<usize>> = (0..count)
            .map(|i| (i >= masters).then(|| (i - masters) % masters))
            .collect();
        let cluster = RedisCluster {
            alive: vec![true; count],
            frozen: vec![false; count],
            nodes,
            roles,
        };
        let mut ids = Vec::with_capacity(count);
        for (i, node) in cluster.nodes.iter().enumerate() {
            ids.push(must::<String>(node, &["CLUSTER", "MYID"]).await);
            // Distinct epochs up front, as redis-cli sets them: no epoch
            // collision to resolve by gossip.
            let epoch = (i + 1).to_string();
            must::<()>(node, &["CLUSTER", "SET-CONFIG-EPOCH", &epoch]).await;
        }
        let ranges = slot_ranges(masters);
        for (node, (first, last)) in cluster.nodes.iter().zip(&ranges) {
            let (first, last) = (first.to_string(), last.to_string());
            must::<()>(node, &["CLUSTER", "ADDSLOTSRANGE", &first, &last]).await;
        }
        let first = cluster.nodes[0].port().to_string();
        for node in &cluster.nodes[1..] {
            must::<()>(node, &["CLUSTER", "MEET", "127.0.0.1", &first]).await;
        }
        // A replica must know its master's ID before it may replicate it.
        poll(deadline, "every node knows every other one", async || {
            for node in &cluster.nodes {
                let known: BTreeSet<String> = view(node.port())
                    .await?
                    .into_iter()
                    .filter(|line| !line.has("handshake"))
                    .map(|line| line.id)
                    .collect();
                if let Some(missing) = ids.iter().find(|id| !known.contains(*id)) {
                    return Err(format!("node {} does not know {missing} yet", node.port()));
                }
            }
            Ok(())
        })
        .await;
        for (node, role) in cluster.nodes.iter().zip(&cluster.roles) {
            if let Some(master) = role {
                must::<()>(node, &["CLUSTER", "REPLICATE", &ids[*master]]).await;
            }
        }
        let planned = Layout {
            ranges: ranges
                .iter()
                .zip(&cluster.nodes)
                .map(|(&(first, last), node)| (first, last, node.port()))
                .collect(),
            replicas: cluster
                .roles
                .iter()
                .zip(&cluster.nodes)
                .filter_map(|(role, node)| Some((node.port(), cluster.nodes[(*role)?].port())))
                .collect(),
        };
        poll(
            deadline,
            "the cluster reaches its planned layout",
            async || {
                let layout = cluster.layout().await?;
                if layout == planned {
                    Ok(())
                } else {
                    Err(format!("every node sees {layout:?}, not {planned:?}"))
                }
            },
        )
        .await;
        cluster
    }

    /// Comma-separated `redis://` URLs of every live master (for `REDIS_URL`).
    pub(crate) fn seeds(&self) -> String {
        self.masters()
            .iter()
            .map(|node| node.url())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The URL of one live master.
    pub(crate) fn seed(&self) -> String {
        self.masters()
            .first()
            .map(|node| node.url())
            .unwrap_or_else(|| panic!("the cluster has no live master"))
    }

    /// The live masters (not frozen), in node order.
    pub(crate) fn masters(&self) -> Vec<&RedisServer> {
        (0..self.nodes.len())
            .filter(|&i| self.alive[i] && !self.frozen[i] && self.roles[i].is_none())
            .map(|i| &self.nodes[i])
            .collect()
    }

    /// The index (into the nodes) of the master that owns `slot` now, as a
    /// live master sees it.
    pub(crate) async fn master_of_slot(&self, slot: u16) -> usize {
        assert!(slot < SLOTS, "slot {slot} out of 0..16384");
        let asked = self.seed_node().port();
        let layout = Layout::of(&view(asked).await.unwrap_or_else(|e| panic!("{e}")));
        let owner = layout
            .ranges
            .iter()
            .find(|&&(first, last, _)| (first..=last).contains(&slot))
            .map(|&(_, _, port)| port)
            .unwrap_or_else(|| panic!("node {asked} sees no owner of slot {slot}"));
        self.index_of(owner)
    }

    /// `(port, DBSIZE)` of every live master, in node order.
    pub(crate) async fn keys_per_master(&self) -> Vec<(u16, u64)> {
        let mut sizes = Vec::new();
        for node in self.masters() {
            sizes.push((node.port(), must::<u64>(node, &["DBSIZE"]).await));
        }
        sizes
    }

    /// SIGKILLs master `index`, which must have a live replica, and returns
    /// once one of its replicas owns its slots, and every live node reports
    /// `cluster_state:ok` and agrees on the slot map (within [`CONVERGENCE`]).
    pub(crate) async fn kill_master_and_await_failover(&mut self, index: usize) {
        self.stop_master_and_await_failover(index, false).await;
    }

    /// Like [`kill_master_and_await_failover`](Self::kill_master_and_await_failover),
    /// but master `index` is frozen (`SIGSTOP`), not killed: its process and
    /// the connections to it stay, nothing answers (a hung host). Thawed when
    /// the cluster is dropped.
    pub(crate) async fn freeze_master_and_await_failover(&mut self, index: usize) {
        self.stop_master_and_await_failover(index, true).await;
    }

    async fn stop_master_and_await_failover(&mut self, index: usize, freeze: bool) {
        let port = self.nodes[index].port();
        assert!(
            self.alive[index] && self.roles[index].is_none(),
            "node {index} (port {port}) is not a live master"
        );
        let replicas: BTreeSet<u16> = (0..self.nodes.len())
            .filter(|&i| self.alive[i] && self.roles[i] == Some(index))
            .map(|i| self.nodes[i].port())
            .collect();
        assert!(
            !replicas.is_empty(),
            "master {index} (port {port}) has no live replica to fail over to"
        );
        let before = self.layout().await.unwrap_or_else(|e| panic!("{e}"));
        let owned: Vec<(u16, u16)> = before
            .ranges
            .iter()
            .filter(|range| range.2 == port)
            .map(|&(first, last, _)| (first, last))
            .collect();
        if freeze {
            self.nodes[index].freeze();
        } else {
            self.nodes[index].kill();
            self.alive[index] = false;
        }
        // A replica frozen by `freeze_replicas_of` missed what its master wrote
        // meanwhile: it wakes up now and takes over with an older copy.
        for (i, node) in self.nodes.iter().enumerate() {
            if self.frozen[i] {
                node.thaw();
            }
        }
        self.frozen.fill(false);
        self.frozen[index] = freeze;
        let deadline = Instant::now() + CONVERGENCE;
        let what = format!("a replica of node {index} (port {port}) takes over its slots");
        let this = &*self;
        let after = poll(deadline, &what, async || {
            let layout = this.layout().await?;
            for &(first, last) in &owned {
                let owner = layout
                    .ranges
                    .iter()
                    .find(|range| range.0 == first && range.1 == last)
                    .map(|range| range.2);
                if !owner.is_some_and(|owner| replicas.contains(&owner)) {
                    return Err(format!("slots {first}-{last} owned by {owner:?}"));
                }
            }
            Ok(layout)
        })
        .await;
        for (i, node) in self.nodes.iter().enumerate() {
            self.roles[i] = after
                .replicas
                .get(&node.port())
                .map(|&master| self.index_of(master));
        }
    }

    /// Thaws (`SIGCONT`) node `index`, frozen by
    /// [`freeze_master_and_await_failover`](Self::freeze_master_and_await_failover),
    /// without waiting: it wakes up believing it is still a master.
    pub(crate) fn thaw(&mut self, index: usize) {
        self.nodes[index].thaw();
        self.frozen[index] = false;
    }

    /// Returns once every live node reports `cluster_state:ok` and agrees on
    /// the slot map and replicas (a thawed master has rejoined as a replica).
    pub(crate) async fn await_agreement(&mut self) {
        let this = &*self;
        let after = poll(
            Instant::now() + CONVERGENCE,
            "the cluster agrees again",
            async || this.layout().await,
        )
        .await;
        for (i, node) in self.nodes.iter().enumerate() {
            self.roles[i] = after
                .replicas
                .get(&node.port())
                .map(|&master| self.index_of(master));
        }
    }

    /// Freezes (`SIGSTOP`) every replica of master `index` and cuts its link,
    /// so that what the master writes from now on never reaches them; the next
    /// [`kill_master_and_await_failover`](Self::kill_master_and_await_failover)
    /// of that master thaws them first, and one takes over with the older copy
    /// (what a failover to a lagging replica does).
    pub(crate) async fn freeze_replicas_of(&mut self, index: usize) {
        for i in 0..self.nodes.len() {
            if self.alive[i] && self.roles[i] == Some(index) {
                self.nodes[i].freeze();
                self.frozen[i] = true;
            }
        }
        // A frozen process's kernel still accepts what the master sends, and it
        // would apply it once thawed: the master drops its replicas' links, and
        // they cannot reconnect while frozen.
        self.nodes[index]
            .command(&["CLIENT", "KILL", "TYPE", "replica"])
            .await;
    }

    /// Runs `args` on the master that owns `slot` now, and returns its reply.
    pub(crate) async fn command_on_slot_owner(&self, slot: u16, args: &[&str]) -> redis::Value {
        let owner = self.master_of_slot(slot).await;
        self.nodes[owner].command(args).await
    }

    /// SIGKILLs node `index` and returns once every live node reports
    /// `cluster_state:fail` (a master without a replica: its slots are lost).
    pub(crate) async fn kill_node_and_await_down(&mut self, index: usize) {
        self.nodes[index].kill();
        self.alive[index] = false;
        let this = &*self;
        poll(
            Instant::now() + CONVERGENCE,
            &format!("the cluster reports the loss of node {index}"),
            async || {
                for (i, node) in this.nodes.iter().enumerate() {
                    if this.alive[i] && !this.frozen[i] {
                        let info: String = query(node.port(), &["CLUSTER", "INFO"]).await?;
                        if !info.lines().any(|l| l.trim() == "cluster_state:fail") {
                            return Err(format!("node {} still reports ok", node.port()));
                        }
                    }
                }
                Ok(())
            },
        )
        .await;
    }

    /// Starts node `index` again (same port, arguments and directory: it loads
    /// its cluster config, and the RDB snapshot a `SAVE` took, if any) and
    /// returns once the cluster is whole again: every node `cluster_state:ok`
    /// and agreeing on a slot map that covers every slot.
    pub(crate) async fn restart_node_and_await(&mut self, index: usize) {
        self.nodes[index].restart();
        self.alive[index] = true;
        let this = &*self;
        poll(
            Instant::now() + CONVERGENCE,
            &format!("node {index} rejoins the cluster"),
            async || this.layout().await.map(drop),
        )
        .await;
    }

    /// Starts moving `slot` from the master that owns it to master `to`, as
    /// `redis-cli --cluster reshard` does (`IMPORTING` on `to`, `MIGRATING` on
    /// the owner), and moves `keys` of its keys (`MIGRATE`): the slot is left
    /// half migrated until [`finish_migration`](Self::finish_migration).
    pub(crate) async fn start_migration(&self, slot: u16, to: usize, keys: usize) -> Migration {
        let from = self.master_of_slot(slot).await;
        assert_ne!(from, to, "slot {slot} is on node {to} already");
        let id = |i: usize| must::<String>(&self.nodes[i], &["CLUSTER", "MYID"]);
        let (from_id, to_id) = (id(from).await, id(to).await);
        let slot_text = slot.to_string();
        must::<()>(
            &self.nodes[to],
            &["CLUSTER", "SETSLOT", &slot_text, "IMPORTING", &from_id],
        )
        .await;
        must::<()>(
            &self.nodes[from],
            &["CLUSTER", "SETSLOT", &slot_text, "MIGRATING", &to_id],
        )
        .await;
        let migration = Migration {
            slot,
            from,
            to,
            to_id,
        };
        self.migrate_keys(&migration, keys).await;
        migration
    }

    /// Moves the rest of the slot's keys, gives the slot to its new master
    /// (`SETSLOT NODE` on every master) and returns once every node agrees.
    pub(crate) async fn finish_migration(&self, migration: Migration) {
        self.migrate_keys(&migration, usize::MAX).await;
        let slot = migration.slot.to_string();
        let setslot = ["CLUSTER", "SETSLOT", &slot, "NODE", &migration.to_id];
        must::<()>(&self.nodes[migration.to], &setslot).await;
        must::<()>(&self.nodes[migration.from], &setslot).await;
        for master in self.masters() {
            let port = master.port();
            if port != self.nodes[migration.to].port() && port != self.nodes[migration.from].port()
            {
                must::<()>(master, &setslot).await;
            }
        }
        let to = self.nodes[migration.to].port();
        poll(
            Instant::now() + CONVERGENCE,
            &format!("every node sees slot {slot} on node {}", migration.to),
            async || {
                let layout = self.layout().await?;
                let owner = layout
                    .ranges
                    .iter()
                    .find(|r| (r.0..=r.1).contains(&migration.slot))
                    .map(|r| r.2);
                if owner == Some(to) {
                    Ok(())
                } else {
                    Err(format!("slot {slot} on {owner:?}"))
                }
            },
        )
        .await;
    }

    /// Moves up to `count` keys of the migrating slot, a few at a time.
    async fn migrate_keys(&self, migration: &Migration, count: usize) {
        let (from, to) = (&self.nodes[migration.from], &self.nodes[migration.to]);
        let (slot, port) = (migration.slot.to_string(), to.port().to_string());
        let mut moved = 0;
        while moved < count {
            let batch = (count - moved).min(10).to_string();
            let keys: Vec<String> = must(from, &["CLUSTER", "GETKEYSINSLOT", &slot, &batch]).await;
            if keys.is_empty() {
                return;
            }
            let mut args = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
            args.extend(keys.iter().map(String::as_str));
            must::<redis::Value>(from, &args).await;
            moved += keys.len();
        }
    }

    /// Node `index`: masters first (in slot order, as started), then replicas.
    pub(crate) fn node(&self, index: usize) -> &RedisServer {
        &self.nodes[index]
    }

    /// How many nodes the cluster started with, killed ones included.
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn seed_node(&self) -> &RedisServer {
        self.masters()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("the cluster has no live master"))
    }

    fn index_of(&self, port: u16) -> usize {
        self.nodes
            .iter()
            .position(|node| node.port() == port)
            .unwrap_or_else(|| panic!("port {port} is no node of this cluster"))
    }

    /// The layout every live node agrees on, if each reports
    /// `cluster_state:ok`, the slot map covers every slot, and every replica's
    /// link to its master is up; otherwise what is not so yet.
    async fn layout(&self) -> Result<Layout, String> {
        let mut agreed: Option<(u16, Layout)> = None;
        // A frozen node cannot answer: the others speak for the cluster.
        for (node, _) in self
            .nodes
            .iter()
            .zip(self.alive.iter().zip(&self.frozen))
            .filter(|(_, (alive, frozen))| **alive && !**frozen)
        {
            let port = node.port();
            let info: String = query(port, &["CLUSTER", "INFO"]).await?;
            if !info.lines().any(|line| line.trim() == "cluster_state:ok") {
                return Err(format!("node {port} does not report cluster_state:ok"));
            }
            let layout = Layout::of(&view(port).await?);
            match &agreed {
                Some((other, seen)) if *seen != layout => {
                    return Err(format!(
                        "node {other} sees {seen:?}, node {port} {layout:?}"
                    ));
                }
                Some(_) => {}
                None => agreed = Some((port, layout)),
            }
        }
        let (_, layout) = agreed.ok_or_else(|| "no live node".to_owned())?;
        let mut next = 0u32;
        for &(first, last, _) in &layout.ranges {
            if u32::from(first) != next {
                return Err(format!("slots {next}..{first} have no owner"));
            }
            next = u32::from(last) + 1;
        }
        if next != u32::from(SLOTS) {
            return Err(format!("slots {next}..16384 have no owner"));
        }
        for &replica in layout.replicas.keys() {
            if self
                .nodes
                .iter()
                .zip(&self.frozen)
                .any(|(node, frozen)| *frozen && node.port() == replica)
            {
                continue;
            }
            let info: String = query(replica, &["INFO", "replication"]).await?;
            if !info
                .lines()
                .any(|line| line.trim() == "master_link_status:up")
            {
                return Err(format!("replica {replica}'s link to its master is not up"));
            }
        }
        Ok(layout)
    }
}

/// The hash slot of `key`, as Redis computes it: CRC16 (XMODEM) of the key, or
/// of its hash tag (what lies between the first `{` and the first `}` after
/// it, if that is not empty), modulo 16384.
pub(crate) fn slot_of(key: &str) -> u16 {
    let key = key.as_bytes();
    let hashed = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let len = rest.iter().position(|&b| b == b'}')?;
            (len > 0).then(|| &rest[..len])
        })
        .unwrap_or(key);
    crc16(hashed) % SLOTS
}

/// CRC16-XMODEM (polynomial 0x1021, initial value 0), Redis Cluster's key hash.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x1021
            };
        }
    }
    crc
}

/// `masters` contiguous ranges covering every slot, split as `redis-cli
/// --cluster create` splits them (0-5460, 5461-10922, 10923-16383 for three).
fn slot_ranges(masters: usize) -> Vec<(u16, u16)> {
    let per_master = f64::from(SLOTS) / masters as f64;
    let mut ranges = Vec::with_capacity(masters);
    let mut first = 0u16;
    for i in 0..masters {
        let last = if i + 1 == masters {
            SLOTS - 1
        } else {
            // At most 16383 and at least `first`: the cast cannot truncate.
            ((per_master * (i + 1) as f64).round() as u16 - 1).max(first)
        };
        ranges.push((first, last));
        first = last + 1;
    }
    ranges
}

/// Starts `count` cluster nodes, on threads of their own (each start waits for
/// its server to be ready).
fn spawn_nodes(count: usize) -> Vec<RedisServer> {
    let args = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        NODE_TIMEOUT_MS,
        "--cluster-replica-validity-factor",
        "0",
        // A replica's full sync starts at once (the default waits 5 s for more
        // replicas to share it).
        "--repl-diskless-sync-delay",
        "0",
    ];
    std::thread::scope(|scope| {
        let starting: Vec<_> = (0..count)
            .map(|_| scope.spawn(|| RedisServer::start_cluster_node(&args)))
            .collect();
        starting
            .into_iter()
            .map(|node| node.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// What every node must agree on: which master (port) owns which slot range,
/// and which node replicates which master.
#[derive(Debug, PartialEq)]
struct Layout {
    /// `(first, last, master port)`, sorted.
    ranges: Vec<(u16, u16, u16)>,
    /// Replica port → master port, failed replicas left out.
    replicas: BTreeMap<u16, u16>,
}

impl Layout {
    fn of(view: &[NodeLine]) -> Layout {
        let port_of = |id: &str| view.iter().find(|line| line.id == id).map(|line| line.port);
        let mut ranges: Vec<(u16, u16, u16)> = view
            .iter()
            .flat_map(|line| {
                line.slots
                    .iter()
                    .map(|&(first, last)| (first, last, line.port))
            })
            .collect();
        ranges.sort_unstable();
        let replicas = view
            .iter()
            .filter(|line| line.has("slave") && !line.has("fail") && !line.has("fail?"))
            .filter_map(|line| Some((line.port, port_of(line.master.as_deref()?)?)))
            .collect();
        Layout { ranges, replicas }
    }
}

/// One line of `CLUSTER NODES`: `<id> <ip:port@cport[,hostname]> <flags>
/// <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...`.
#[derive(Debug)]
struct NodeLine {
    id: String,
    port: u16,
    flags: Vec<String>,
    master: Option<String>,
    /// Slot ranges it owns (migrating/importing markers left out).
    slots: Vec<(u16, u16)>,
}

impl NodeLine {
    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    fn parse(line: &str) -> Result<NodeLine, String> {
        let bad = || format!("unexpected CLUSTER NODES line: {line:?}");
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            return Err(bad());
        }
        let address = fields[1].split(['@', ',']).next().ok_or_else(bad)?;
        let port = address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(bad)?;
        let mut slots = Vec::new();
        for range in fields[8..].iter().filter(|r| !r.starts_with('[')) {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let slot = |s: &str| s.parse::<u16>().map_err(|_| bad());
            slots.push((slot(first)?, slot(last)?));
        }
        Ok(NodeLine {
            id: fields[0].to_owned(),
            port,
            flags: fields[2].split(',').map(str::to_owned).collect(),
            master: (fields[3] != "-").then(|| fields[3].to_owned()),
            slots,
        })
    }
}

/// `CLUSTER NODES` of the node on `port`, parsed.
async fn view(port: u16) -> Result<Vec<NodeLine>, String> {
    let text: String = query(port, &["CLUSTER", "NODES"]).await?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(NodeLine::parse)
        .collect()
}

/// Calls `probe` every [`POLL`] until it answers `Ok` (convergence has no
/// event to await); panics with `what` and its last answer at `deadline`.
async fn poll<T>(
    deadline: Instant,
    what: &str,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    loop {
        let why = match probe().await {
            Ok(done) => return done,
            Err(why) => why,
        };
        assert!(
            Instant::now() < deadline,
            "Redis Cluster: {what} did not happen within {CONVERGENCE:?}; last seen: {why}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Runs one command on the node on `port`, on a connection of its own with
/// short timeouts (a probe must not hang a wait past its bound).
async fn query<T: redis::FromRedisValue>(port: u16, args: &[&str]) -> Result<T, String> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    let mut connection = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .map_err(|e| format!("invalid URL for node {port}: {e}"))?
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| format!("no connection to node {port}: {e}"))?;
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query_async(&mut connection)
        .await
        .map_err(|e| format!("{args:?} on node {port} failed: {e}"))
}

/// [`query`] on `node`, panicking with what failed.
async fn must<T: redis::FromRedisValue>(node: &RedisServer, args: &[&str]) -> T {
    query(node.port(), args)
        .await
        .unwrap_or_else(|e| panic!("Redis Cluster setup: {e}"))
}
