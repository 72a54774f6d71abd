//! The Lua scripts of the Redis store. Their text is constant: keys and values
//! travel as `KEYS` and `ARGV`, never pasted into the source (a namespace is data,
//! never code). The data scripts ([`READ`], [`PUT`], [`PUT_LEASED`], [`FRESH`],
//! [`INVALIDATE`]) run
//! by SHA (`EVALSHA`) and are only ever loaded into a server's script cache right
//! after the epoch was rotated there ([`ROTATE`], sent with `EVAL`; see `restart`).
//! The lease scripts ([`LEASE_TAKE`], [`LEASE_RENEW`], [`LEASE_RELEASE`]) touch
//! only a lease key and are sent with `EVAL` (see `lease`).
//!
//! The epoch key holds `{id}:{n}` or `{id}:{n}:{server}`: the identity of this
//! incarnation of the epoch (16 hex digits, chosen when the key is created), its
//! counter, and the server it was created or last checked on (16 hex digits of the
//! SHA-1 of the server's `run_id` and `master_replid`; absent when the server does
//! not let the cache run `INFO`). See the module docs of `redis`, "Losing the
//! epoch" and "Restarts and failovers". Every script reads it with the same lines
//! (`epoch_lines!`); anything else in that key (a layout of an earlier version,
//! garbage) reads as "no epoch".

use std::sync::LazyLock;

use redis::Script;

/// Reads the epoch in `KEYS[$key]` into the locals `id` (16 hex digits) and `n`
/// (a number), both `nil` when there is none; `epoch` is the key's text and
/// `colon` the position of the `:` before the server part (`nil` when absent).
/// `unreadable` is `true` when the key holds something that is not an epoch
/// (garbage, another type: a list, a hash): it is then treated as lost, exactly
/// like an epoch lost in a restart (see the module docs, "Metadata the cache did
/// not write"). A `pcall`: a key of another type is not an error.
macro_rules! epoch_lines {
    ($key:literal) => {
        concat!(
            "local id, n, colon, unreadable\n",
            "local epoch = redis.pcall('GET', KEYS[",
            $key,
            "])\n",
            "if type(epoch) ~= 'string' then\n",
            "  if epoch then unreadable = true end\n",
            "  epoch = nil\n",
            "end\n",
            "if epoch and #epoch > 17 and string.sub(epoch, 17, 17) == ':' then\n",
            "  colon = string.find(epoch, ':', 18, true)\n",
            "  n = string.sub(epoch, 18, (colon or 0) - 1)\n",
            "  n = #n <= 16 and string.match(n, '^%d+$') and tonumber(n) or nil\n",
            "  if n and n > 9007199254740991 then n = nil end\n",
            "  if n then id = string.sub(epoch, 1, 16) end\n",
            "end\n",
            "if epoch and not id then unreadable = true end\n",
        )
    };
}

/// Reads the version in `KEYS[$key]` into the local `$var`: `0` when the key
/// does not exist, `nil` when it holds anything but the decimal number the cache
/// writes (garbage, another type, a number above 2^53 - 1, which Lua's doubles
/// cannot count past). A `pcall`: a key of another type is not an error.
macro_rules! version_lines {
    ($var:ident, $key:expr) => {
        concat!(
            "local raw = redis.pcall('GET', ",
            $key,
            ")\n",
            "local ",
            stringify!($var),
            " = 0\n",
            "if raw then\n  ",
            stringify!($var),
            " = type(raw) == 'string' and #raw <= 16 and string.match(raw, '^%d+$') and tonumber(raw) or nil\n",
            "  if ",
            stringify!($var),
            " and ",
            stringify!($var),
            " > 9007199254740991 then ",
            stringify!($var),
            " = nil end\n",
            "end\n",
        )
    };
}

/// A new epoch identity in the local `id`: the first 16 hex digits of the SHA-1 of
/// this instance's random token (`ARGV[$token]`) and the server time in µs
/// (`time`, a `TIME` reply). Two incarnations share an identity only if the same
/// instance created both in the same microsecond of the server clock.
macro_rules! new_identity {
    ($token:literal) => {
        concat!(
            "id = string.sub(redis.sha1hex(ARGV[",
            $token,
            "] .. ':' .. time[1] .. ':' .. time[2]), 1, 16)\n",
        )
    };
}

/// The server this script runs on, in the local `server`: 16 hex digits of the
/// SHA-1 of its `run_id` (new at every start of the process) and `master_replid`
/// (new at every promotion of a replica), or `nil` when `INFO` is refused (an ACL)
/// or says neither. Only run when an epoch is created or rotated (`INFO` formats a
/// few hundred bytes: too slow for every lookup).
macro_rules! server_lines {
    () => {
        r"
local server
local info = redis.pcall('INFO', 'server')
local replication = redis.pcall('INFO', 'replication')
if type(info) == 'string' and type(replication) == 'string' then
  local run = string.match(info, 'run_id:(%x+)')
  local replid = string.match(replication, 'master_replid:(%x+)')
  if run and replid then
    server = string.sub(redis.sha1hex(run .. ':' .. replid), 1, 16)
  end
end
"
    };
}

/// Reads an entry if it is fresh: the namespace versions and the epoch are checked
/// on the server, so the reply is one value (the entry) on a hit: one command, one
/// round trip, one element to parse.
///
/// An entry is fresh if its stamp is at least every version it lives under *and*
/// it was stamped under the current epoch (same identity). When there is no epoch
/// (a flush, a restart without persistence, an eviction, a first start), one is
/// created here, with a new identity (and the server it was created on), so that
/// every stamp handed out carries one: a value computed under it can be told apart
/// from one computed before the loss.
/// The write is a `pcall`: when Redis refuses writes (full, read-only) the reply is
/// a bare stamp without identity, which no store accepts.
///
/// `KEYS[1]` entry, `KEYS[2]` epoch, `KEYS[3..]` the "all" version and the versions
/// of every namespace prefix. `ARGV[1]`, `ARGV[2]`: the header and length of the
/// copy this process already holds (empty when none); when the fresh value is that
/// copy, the reply is the status `SAME` instead of the value, so it is not sent
/// again. `ARGV[3]`: this instance's token, `ARGV[4]`: the epoch TTL in ms (both
/// only used when the epoch is created).
///
/// A version key that holds anything but a number (garbage, another type) is
/// *unreadable*: treated as lost, it is repaired here (see the module docs,
/// "Metadata the cache did not write"): set, with the epoch's counter, above every
/// stamp issued before (`ARGV[5]`: the version TTL in ms), so nothing stamped
/// before is served or stored; the lookup is a miss. The indices in `KEYS` of
/// every unreadable key (the epoch's, `2`, included) follow `n` and `id` in a
/// miss's reply, for the store to name them in a warning.
///
/// Replies: the value (a hit), `SAME` (a hit on the copy held), `{n, id, ..}` (a miss:
/// compute under stamp `n` of epoch `id`), or `n` (a miss; Redis has no epoch and
/// refused to create one).
pub(super) static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        r"
local newest = 0
local unreadable_versions = {}
for i = 3, #KEYS do
",
        version_lines!(version, "KEYS[i]"),
        r"
  if not version then
    unreadable_versions[#unreadable_versions + 1] = i
  elseif version > newest then
    newest = version
  end
end
",
        epoch_lines!("2"),
        r"
local unreadable_epoch = unreadable
if id then
  local value = #unreadable_versions == 0 and redis.pcall('GET', KEYS[1])
  if type(value) == 'string' and string.sub(value, 21, 36) == id then
    local stamp = tonumber(string.sub(value, 1, 20))
    if stamp and stamp >= newest then
      if ARGV[1] ~= '' and #value == tonumber(ARGV[2]) and string.sub(value, 1, #ARGV[1]) == ARGV[1] then
        return {ok = 'SAME'}
      end
      return value
    end
  end
else
  local time = redis.call('TIME')
  n = tonumber(time[1]) * 1000000 + tonumber(time[2])
  if newest > n then
    n = newest
  end
",
        new_identity!("3"),
        server_lines!(),
        r"
  local text = id .. ':' .. string.format('%.0f', n)
  colon = nil
  if server then
    text = text .. ':' .. server
    colon = #id + 1 + #string.format('%.0f', n) + 1
  end
  epoch = text
  local set = redis.pcall('SET', KEYS[2], text, 'PX', ARGV[4])
  if type(set) == 'table' and set.err then
    return n
  end
end
if newest > n then
  -- A version above the epoch's counter (written by hand: the cache keeps the
  -- counter at or above every version): raise the counter to it, or every
  -- store under the stamps handed out here would be refused.
  n = newest
  local kept = ''
  if colon then
    kept = string.sub(epoch, colon)
  end
  local set = redis.pcall('SET', KEYS[2], id .. ':' .. string.format('%.0f', n) .. kept, 'PX', ARGV[4])
  if type(set) == 'table' and set.err then
    return n
  end
end
if #unreadable_versions > 0 then
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
  local version = n + 1
  if now > version then
    version = now
  end
  local text = string.format('%.0f', version)
  for _, i in ipairs(unreadable_versions) do
    local set = redis.pcall('SET', KEYS[i], text, 'PX', ARGV[5])
    if type(set) == 'table' and set.err then
      return n
    end
  end
  local kept = ''
  if colon then
    kept = string.sub(epoch, colon)
  end
  local set = redis.pcall('SET', KEYS[2], id .. ':' .. text .. kept, 'PX', ARGV[4])
  if type(set) == 'table' and set.err then
    return n
  end
  n = version
end
if unreadable_epoch then
  unreadable_versions[#unreadable_versions + 1] = 2
end
return {n, id, unpack(unreadable_versions)}
",
    ))
});

/// The freshness test of [`PUT`] and [`FRESH`], after `epoch_lines!`: returns -1
/// when the stamp (`ARGV[1]`) was read under another epoch than the current one
/// (its identity is in `$id`), 0 when a version it lives under (`KEYS[3..]`) is
/// newer than the stamp, and goes on when it is fresh.
macro_rules! stamp_check {
    ($id:literal) => {
        stamp_check!($id, "#KEYS")
    };
    ($id:literal, $last:literal) => {
        concat!(
            r"
local stamp = tonumber(ARGV[1])
if id ~= ",
            $id,
            r" or not stamp or stamp > n then
  return -1
end
for i = 3, ",
            $last,
            r" do
",
            version_lines!(version, "KEYS[i]"),
            r"
  if not version or version > stamp then
    return 0
  end
end
"
        )
    };
}

/// Stores an entry unless a namespace it lives under was invalidated after the
/// entry's stamp (the slow-miss race) or the epoch the stamp was read from is gone
/// (a flush or a restart since: invalidations made meanwhile may have been lost
/// with it), and keeps the epoch alive while entries are written.
///
/// Unflagged on purpose: under `maxmemory` a store must be refused (`-OOM`), not
/// forced in.
///
/// `KEYS` as for [`READ`]. `ARGV[1]` stamp, `ARGV[2]` TTL in ms, `ARGV[3]` value,
/// `ARGV[4]` epoch TTL in ms, `ARGV[5]` the stamp's epoch identity. Returns 1 if
/// stored, 0 if invalidated since the stamp, -1 if the epoch changed since.
pub(super) static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        epoch_lines!("2"),
        stamp_check!("ARGV[5]"),
        r"
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
",
    ))
});

/// [`PUT`] for a value computed under a cross-instance lease (see `lease`): also
/// refused (-2) unless the lease key still holds this computation's token. A
/// leader that outlived its lease (renewals failed, the process stalled) cannot
/// overwrite what the next leader stores, whether that one still holds the lease
/// or already released it.
///
/// `KEYS` as for [`PUT`], then the lease key (last). `ARGV` as for [`PUT`], then
/// `ARGV[6]` the lease token. Returns 1 if stored, 0 if invalidated since the
/// stamp, -1 if the epoch changed since, -2 if the lease is not this
/// computation's any more.
pub(super) static PUT_LEASED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        epoch_lines!("2"),
        stamp_check!("ARGV[5]", "#KEYS - 1"),
        r"
if redis.pcall('GET', KEYS[#KEYS]) ~= ARGV[6] then
  return -2
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
",
    ))
});

/// Takes an entry's lease if nobody holds it (see `lease`). Not a data script:
/// sent with `EVAL` (it reads no entry, version or epoch, so a server that lost
/// its script cache needs no rotation for it).
///
/// A key there that no cache wrote is taken over (see the `redis` module docs,
/// "Metadata the cache did not write"): one of another type, one without a TTL,
/// or one whose TTL is longer than any lease may be (`ARGV[3]`, in ms: the
/// longest `REDIS_LOCK_LEASE` accepted). Otherwise waiters would wait on it until
/// they gave up, for every cold call of that key.
///
/// `KEYS[1]` the lease key. `ARGV[1]` the token, `ARGV[2]` the lease in ms,
/// `ARGV[3]` the longest lease in ms. Returns `{1, 0}` when taken, `{0, ms}` when
/// held by another computation with `ms` left.
pub(super) const LEASE_TAKE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, 0}
end
local left = redis.call('PTTL', KEYS[1])
local kind = redis.call('TYPE', KEYS[1])
if type(kind) == 'table' then
  kind = kind.ok
end
if kind ~= 'string' or left < 0 or left > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, 0}
end
return {0, left}
";

/// Extends a lease this computation still holds. `KEYS[1]` the lease key.
/// `ARGV[1]` the token, `ARGV[2]` the lease in ms. Returns 1 if extended, 0 if
/// the lease is not this computation's any more.
pub(super) const LEASE_RENEW: &str = r"
if redis.pcall('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Ends a lease this computation still holds and tells the waiting processes
/// how it ended, in one step: they cannot see the lease gone without the
/// message following it. A lease that is not this computation's any more is
/// left alone and nothing is published (its holder's waiters wait for it).
///
/// `KEYS[1]` the lease key. `ARGV[1]` the token, `ARGV[2]` the wake channel,
/// `ARGV[3]` the message (see `wake`). Returns 1 if released, 0 if not held.
pub(super) const LEASE_RELEASE: &str = r"
if redis.pcall('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
";

/// Whether a value computed under a stamp is still fresh (a single-flight waiter's
/// check before taking the leader's value): the same test as [`PUT`], without the
/// write. Read-only.
///
/// `KEYS` as for [`READ`]. `ARGV[1]` stamp, `ARGV[2]` the stamp's epoch identity.
/// Returns 1 if fresh, 0 if invalidated since, -1 if the epoch changed since.
pub(super) static FRESH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        epoch_lines!("2"),
        stamp_check!("ARGV[2]"),
        r"
return 1
",
    ))
});

/// The body of [`INVALIDATE`] (and of [`INVALIDATE_UNFLAGGED`]).
macro_rules! invalidate_body {
    () => {
        concat!(
            r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
",
            epoch_lines!("1"),
            r"
local kept = ''
if id then
  if colon then
    kept = string.sub(epoch, colon)
  end
else
  n = 0
  ",
            new_identity!("3"),
            server_lines!(),
            r"
  if server then
    kept = ':' .. server
  end
end
local version = n + 1
",
            version_lines!(current, "KEYS[2]"),
            r"
current = current or 0
if version < now then
  version = now
end
if version <= current then
  version = current + 1
end
local text = string.format('%.0f', version)
redis.call('SET', KEYS[1], id .. ':' .. text .. kept, 'PX', ARGV[2])
redis.call('SET', KEYS[2], text, 'PX', ARGV[1])
return version
",
        )
    };
}

/// Records a new version for one namespace prefix (or for "all"): one write,
/// whatever the number of entries. The version is taken from the epoch, which only
/// grows and is never below the server's clock in microseconds. If the epoch was
/// lost (a restart without persistence, a flush, an eviction), it is created again
/// with a new identity (and the server it is created on), so no value stamped
/// before the loss is stored or taken after it; otherwise its identity and server
/// are kept. (Lua numbers are doubles: exact up to 2^53 µs, the year 2255.)
///
/// Flagged `allow-oom` (Redis 7): an invalidation writes a few bytes and must be
/// recorded even when Redis is full and refuses every store, or other instances
/// would keep serving what it invalidated. Redis 6 does not compile the flag line:
/// [`INVALIDATE_UNFLAGGED`] is the same script without it.
///
/// `KEYS[1]` epoch, `KEYS[2]` version key. `ARGV[1]` version TTL in ms, `ARGV[2]`
/// epoch TTL in ms, `ARGV[3]` this instance's token (for a new identity). Returns the
/// new version.
pub(super) static INVALIDATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(concat!("#!lua flags=allow-oom\n", invalidate_body!())));

/// [`INVALIDATE`] for a Redis that does not know script flags (before 7.0). Redis
/// refuses it when full: the invalidation is then applied locally and replayed.
pub(super) static INVALIDATE_UNFLAGGED: LazyLock<Script> =
    LazyLock::new(|| Script::new(invalidate_body!()));

/// The body of [`ROTATE`] (and of [`ROTATE_UNFLAGGED`]).
macro_rules! rotate_body {
    () => {
        concat!(
            epoch_lines!("1"),
            server_lines!(),
            r"
if ARGV[3] ~= 'force' then
  if not id then
    return 0
  end
  if not server then
    return 2
  end
  if colon and string.sub(epoch, colon + 1) == server then
    return 0
  end
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
if not n or n < now then
  n = now
end
local old = id
id = string.sub(redis.sha1hex(ARGV[1] .. ':' .. time[1] .. ':' .. time[2] .. ':' .. (epoch or '')), 1, 16)
if id == old then
  id = string.sub(redis.sha1hex(id), 1, 16)
end
local text = id .. ':' .. string.format('%.0f', n)
if server then
  text = text .. ':' .. server
end
redis.call('SET', KEYS[1], text, 'PX', ARGV[2])
",
            version_lines!(all, "KEYS[2]"),
            r"
all = all or 0
if all < n then
  all = n
end
redis.call('SET', KEYS[2], string.format('%.0f', all), 'PX', ARGV[4])
if old then
  return 1
end
return 3
",
        )
    };
}

/// Replaces the epoch with a new identity: every entry and every stamp of the
/// previous one becomes a miss / is refused. The counter never goes below the old
/// one nor the server clock in µs; the server it runs on is recorded with it.
/// It also raises the "all" version to the new counter (never lowering it): that
/// changes nothing for the new epoch's stamps, which start there, and is how
/// other instances' near caches learn of the rotation (they track `#all`, not
/// the epoch key, which every store touches; see `tracking`).
///
/// Run by the store (with `EVAL`, never loaded for `EVALSHA`) on a server that
/// may have lost recent writes (see `restart`): with `ARGV[3]` = `force`, always
/// (the server's script cache was found empty); otherwise only if the epoch
/// records another server than this one (a connection's first check). No epoch:
/// nothing of an earlier epoch can be served, nothing is written unless forced.
///
/// Flagged `allow-oom` for the same reason as [`INVALIDATE`]: a full Redis that
/// restarted must still let the cache rotate, or it could record no invalidation
/// either. [`ROTATE_UNFLAGGED`] is the same script for Redis 6.
///
/// `KEYS[1]` epoch, `KEYS[2]` the "all" version. `ARGV[1]` this instance's token,
/// `ARGV[2]` epoch TTL in ms, `ARGV[3]` `force` or `check`, `ARGV[4]` version TTL
/// in ms. Returns 1 if rotated, 0 if nothing was to be done,
/// 2 if the server cannot be told (`INFO` refused) and nothing was done, 3 if
/// forced on a server that held no epoch (one was created: a new server, or one
/// that lost the cache's keys).
pub(super) const ROTATE: &str = concat!("#!lua flags=allow-oom\n", rotate_body!());

/// [`ROTATE`] for a Redis that does not know script flags (before 7.0).
pub(super) const ROTATE_UNFLAGGED: &str = rotate_body!();
