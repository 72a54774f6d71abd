//! The workspace's Redis harness (`tests/support/{redis,cluster}.rs` at the
//! repository root), included by path as `tests/redis.rs` includes `redis.rs`:
//! `cluster.rs` finds `RedisServer` as `super::redis`, so both sit in this module.
#![allow(dead_code)]

#[path = "../../../../tests/support/redis.rs"]
pub(crate) mod redis;

#[path = "../../../../tests/support/cluster.rs"]
pub(crate) mod cluster;
