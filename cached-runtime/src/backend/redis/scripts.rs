//! The Lua scripts of the Redis store. Their text is constant: keys and values
//! travel as `KEYS` and `ARGV`, never pasted into the source (a namespace is data,
//! never code), and they run by SHA (`EVALSHA`), loaded once.
//!
//! The epoch key holds `{id}:{n}`: the identity of this incarnation of the epoch
//! (16 hex digits, chosen when the key is created) and its counter (see the module
//! docs of `redis`, "Losing the epoch"). Every script reads it with the same
//! lines ([`epoch_lines`]); anything else in that key (a layout of an earlier
//! version, garbage) reads as "no epoch".

use std::sync::LazyLock;

use redis::Script;

/// Reads the epoch in `KEYS[$key]` into the locals `id` (16 hex digits) and `n`
/// (a number); both `nil` when there is none.
macro_rules! epoch_lines {
    ($key:literal) => {
        concat!(
            "local id, n\n",
            "local epoch = redis.call('GET', KEYS[",
            $key,
            "])\n",
            "if epoch and #epoch > 17 and string.sub(epoch, 17, 17) == ':' then\n",
            "  n = tonumber(string.sub(epoch, 18))\n",
            "  if n then id = string.sub(epoch, 1, 16) end\n",
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

/// Reads an entry if it is fresh: the namespace versions and the epoch are checked
/// on the server, so the reply is one value (the entry) on a hit: one command, one
/// round trip, one element to parse.
///
/// An entry is fresh if its stamp is at least every version it lives under *and*
/// it was stamped under the current epoch (same identity). When there is no epoch
/// (a flush, a restart without persistence, an eviction, a first start), one is
/// created here, with a new identity, so that every stamp handed out carries one:
/// a value computed under it can be told apart from one computed before the loss.
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
/// Replies: the value (a hit), `SAME` (a hit on the copy held), `{n, id}` (a miss:
/// compute under stamp `n` of epoch `id`), or `n` (a miss; Redis has no epoch and
/// refused to create one).
pub(super) static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        r"
local newest = 0
for i = 3, #KEYS do
  local version = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if version > newest then
    newest = version
  end
end
",
        epoch_lines!("2"),
        r"
if id then
  local value = redis.call('GET', KEYS[1])
  if value and string.sub(value, 21, 36) == id then
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
        r"
  local set = redis.pcall('SET', KEYS[2], id .. ':' .. string.format('%.0f', n), 'PX', ARGV[4])
  if type(set) == 'table' and set.err then
    return n
  end
end
if newest > n then
  n = newest
end
return {n, id}
",
    ))
});

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
        r"
local stamp = tonumber(ARGV[1])
if id ~= ARGV[5] or not stamp or stamp > n then
  return -1
end
for i = 3, #KEYS do
  local version = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if version > stamp then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
",
    ))
});

/// Whether a value computed under a stamp is still fresh (a single-flight waiter's
/// check before taking the leader's value): the same test as [`PUT`], without the
/// write. Read-only.
///
/// `KEYS` as for [`READ`]. `ARGV[1]` stamp, `ARGV[2]` the stamp's epoch identity.
/// Returns 1 if fresh, 0 if invalidated since, -1 if the epoch changed since.
pub(super) static FRESH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        epoch_lines!("2"),
        r"
local stamp = tonumber(ARGV[1])
if id ~= ARGV[2] or not stamp or stamp > n then
  return -1
end
for i = 3, #KEYS do
  local version = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if version > stamp then
    return 0
  end
end
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
            "if not id then\n",
            "  n = 0\n  ",
            new_identity!("3"),
            "end\n",
            r"
local version = n + 1
local current = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if version < now then
  version = now
end
if version <= current then
  version = current + 1
end
local text = string.format('%.0f', version)
redis.call('SET', KEYS[1], id .. ':' .. text, 'PX', ARGV[2])
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
/// with a new identity, so no value stamped before the loss is stored or taken
/// after it. (Lua numbers are doubles: exact up to 2^53 µs, the year 2255.)
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
