//! The two Lua scripts of the Redis store. Their text is constant: keys and values
//! travel as `KEYS` and `ARGV`, never pasted into the source (a namespace is data,
//! never code), and they run by SHA (`EVALSHA`), loaded once.

use std::sync::LazyLock;

use redis::Script;

/// Reads an entry if it is fresh: the namespace versions are checked on the server,
/// so the reply is one value (the entry) or one integer (the stamp to compute a new
/// one under): one command, one round trip, one element to parse.
///
/// `KEYS[1]` entry, `KEYS[2]` epoch, `KEYS[3..]` the "all" version and the versions
/// of every namespace prefix. `ARGV[1]`, `ARGV[2]`: the header and length of the
/// copy this process already holds (empty when none); when the fresh value is that
/// copy, the reply is the status `SAME` instead of the value, so it is not sent
/// again. The entry's value starts with its stamp as 20 ASCII digits.
pub(super) static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local newest = 0
for i = 3, #KEYS do
  local version = tonumber(redis.call('GET', KEYS[i]) or '0')
  if version > newest then
    newest = version
  end
end
local value = redis.call('GET', KEYS[1])
if value then
  local stamp = tonumber(string.sub(value, 1, 20))
  if stamp and stamp >= newest then
    if ARGV[1] ~= '' and #value == tonumber(ARGV[2]) and string.sub(value, 1, #ARGV[1]) == ARGV[1] then
      return {ok = 'SAME'}
    end
    return value
  end
end
local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
if newest > epoch then
  epoch = newest
end
return epoch
",
    )
});

/// Stores an entry unless a namespace it lives under was invalidated after the
/// entry's stamp (the slow-miss race), and keeps the epoch alive while entries are
/// written.
///
/// `KEYS[1]` entry, `KEYS[2]` epoch, `KEYS[3..]` the "all" version and the versions
/// of every namespace prefix of the entry's key (the same keys as `READ`). `ARGV[1]`
/// stamp, `ARGV[2]` TTL in ms, `ARGV[3]` value, `ARGV[4]` epoch TTL in ms. Returns 1
/// if stored, 0 if stale.
pub(super) static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local stamp = tonumber(ARGV[1])
local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
if stamp > epoch then
  -- Stamped under an epoch this Redis no longer has (a restart without
  -- persistence, a flush): the value may predate invalidations made since.
  return 0
end
for i = 3, #KEYS do
  local version = tonumber(redis.call('GET', KEYS[i]) or '0')
  if version > stamp then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
",
    )
});

/// Records a new version for one namespace prefix (or for "all"): one write,
/// whatever the number of entries. The version is taken from the epoch, which only
/// grows and is never below the server's clock in microseconds: if the epoch was
/// lost (a restart without persistence, a flush, an eviction), it starts again
/// above every stamp issued before, so no value read before the loss can pass for
/// newer than an invalidation made after it. (Lua numbers are doubles: exact up to
/// 2^53 µs, the year 2255.)
///
/// `KEYS[1]` epoch, `KEYS[2]` version key. `ARGV[1]` version TTL in ms, `ARGV[2]`
/// epoch TTL in ms. Returns the new version.
pub(super) static INVALIDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local version = tonumber(redis.call('INCR', KEYS[1]))
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if version < now then
  version = now
end
if version <= current then
  version = current + 1
end
local text = string.format('%.0f', version)
redis.call('SET', KEYS[1], text)
redis.call('SET', KEYS[2], text, 'PX', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return version
",
    )
});
