//! The two Lua scripts of the Redis store. Their text is constant: keys and values
//! travel as `KEYS` and `ARGV`, never pasted into the source (a namespace is data,
//! never code), and they run by SHA (`EVALSHA`), loaded once.

use std::sync::LazyLock;

use redis::Script;

/// Stores an entry unless a namespace it lives under was invalidated after the
/// entry's stamp (the slow-miss race), and keeps the epoch alive while entries are
/// written.
///
/// `KEYS[1]` entry, `KEYS[2]` epoch, `KEYS[3..]` the "all" version and the versions
/// of every namespace prefix of the entry's key. `ARGV[1]` stamp, `ARGV[2]` TTL in
/// ms, `ARGV[3]` value, `ARGV[4]` epoch TTL in ms. Returns 1 if stored, 0 if stale.
pub(super) static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local stamp = tonumber(ARGV[1])
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
/// grows; if the epoch was lost, it is moved past the namespace's last version.
///
/// `KEYS[1]` epoch, `KEYS[2]` version key. `ARGV[1]` version TTL in ms, `ARGV[2]`
/// epoch TTL in ms. Returns the new version.
pub(super) static INVALIDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local version = redis.call('INCR', KEYS[1])
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if version <= current then
  version = current + 1
  redis.call('SET', KEYS[1], version)
end
redis.call('SET', KEYS[2], version, 'PX', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return version
",
    )
});
