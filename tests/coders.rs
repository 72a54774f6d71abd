//! Coders: `CACHE_CODER`, `#[cached(coder = ...)]`, custom coders. A hit equals
//! the miss whatever the coder; a value written with another coder is a miss,
//! never an error; what JSON cannot hold exactly is served, not stored; JSON in
//! Redis reads as text.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::erased_serde;
use cachette::{Cache, Coder, CoderError, Config, CustomCoder, cached};
use serde::{Deserialize, Serialize};
use support::redis::{RedisServer, config};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
    tags: Vec<String>,
    nickname: Option<String>,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

fn profile(id: u64) -> Profile {
    RUNS.fetch_add(1, Ordering::SeqCst);
    Profile {
        id,
        name: format!("user {id}"),
        tags: vec!["a".into(), "b".into()],
        nickname: None,
    }
}

#[cached(expire = 300, namespace = "coders:json", coder = json)]
async fn json_profile(id: u64) -> Profile {
    profile(id)
}

#[cached(expire = 300, namespace = "coders:default")]
async fn default_profile(id: u64) -> Profile {
    profile(id)
}

/// JSON cannot tell `Some(())` from `None`.
#[cached(expire = 300, namespace = "coders:inexact", coder = json)]
async fn inexact(id: u64) -> Vec<Option<()>> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    vec![Some(()), None, Some(()).filter(|()| id > 0)]
}

/// MessagePack behind a marker, written through `erased_serde`.
struct Tagged;

impl CustomCoder for Tagged {
    fn name(&self) -> &'static str {
        "test-tagged-msgpack"
    }

    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        out: &mut Vec<u8>,
    ) -> Result<(), CoderError> {
        out.extend_from_slice(b"TAG:");
        let mut packer = rmp_serde::Serializer::new(out).with_struct_map();
        value.erased_serialize(&mut <dyn erased_serde::Serializer>::erase(&mut packer))?;
        Ok(())
    }

    fn decode(
        &self,
        bytes: &[u8],
        read: &mut dyn FnMut(
            &mut dyn erased_serde::Deserializer<'_>,
        ) -> Result<(), erased_serde::Error>,
    ) -> Result<(), CoderError> {
        let body = bytes.strip_prefix(b"TAG:").ok_or("no TAG: marker")?;
        let mut unpacker = rmp_serde::Deserializer::new(body);
        read(&mut <dyn erased_serde::Deserializer<'_>>::erase(
            &mut unpacker,
        ))?;
        Ok(())
    }
}

static TAGGED: Tagged = Tagged;

#[cached(expire = 300, namespace = "coders:custom", coder = TAGGED)]
async fn custom_profile(id: u64) -> Profile {
    profile(id)
}

/// Runs `call` twice; returns both values and how many times the body ran.
async fn twice<F, Fut, T>(cache: &Cache, call: F) -> (T, T, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let before = RUNS.load(Ordering::SeqCst);
    let a = cache.scope(call()).await;
    let b = cache.scope(call()).await;
    (a, b, RUNS.load(Ordering::SeqCst) - before)
}

#[tokio::test]
async fn every_coder_hits_with_what_the_miss_returned() {
    let cache = Cache::in_memory(Config::memory());
    let (a, b, runs) = twice(&cache, || json_profile(1)).await;
    assert_eq!((a, runs), (b, 1));
    let (a, b, runs) = twice(&cache, || custom_profile(1)).await;
    assert_eq!((a, runs), (b, 1));
}

#[tokio::test]
async fn what_json_cannot_hold_is_served_not_stored() {
    let cache = Cache::in_memory(Config::memory());
    let (a, b, runs) = twice(&cache, || inexact(1)).await;
    assert_eq!(a, vec![Some(()), None, Some(())]);
    assert_eq!(
        (a, runs),
        (b, 2),
        "computed each time, never read back as None"
    );
    let inexact = cache
        .stats()
        .functions
        .into_iter()
        .find(|f| f.function == "inexact")
        .unwrap();
    assert_eq!((inexact.errors, inexact.hits), (2, 0));
}

#[tokio::test]
async fn json_in_redis_reads_as_text_and_a_coder_change_is_a_miss() {
    let server = RedisServer::start(&[]);
    let packed = support::redis::serving(config(server.url())).await;
    let json = support::redis::serving(config(server.url()).coder(Coder::Json)).await;

    // CACHE_CODER=json: the function without `coder` writes JSON.
    let (a, _, runs) = twice(&json, || default_profile(7)).await;
    assert_eq!(runs, 1);
    let mut raw = server.client().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("fastapi-cache:coders:default:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let stored: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut raw)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.contains(r#"{"id":7,"name":"user 7","tags":["a","b"],"nickname":null}"#),
        "{text}"
    );

    // The instance still on MessagePack: a miss (it recomputes and overwrites),
    // not an error; then its own hits.
    let (b, c, runs) = twice(&packed, || default_profile(7)).await;
    assert_eq!((&a, &b, runs), (&c, &a, 1));
    // And back: JSON's reader meets MessagePack, a miss again.
    let (_, _, runs) = twice(&json, || default_profile(7)).await;
    assert_eq!(runs, 1);
}
