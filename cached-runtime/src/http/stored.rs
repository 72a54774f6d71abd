//! A stored HTTP response: what is kept, how it is laid out, how a hit is rebuilt.
//!
//! The layout after the codec header (kind `Http`) is plain length-prefixed binary,
//! so a hit reads the body without copying it:
//!
//! ```text
//! u16 status | u16 header count | (u16 name len, name, u32 value len, value)* |
//! u16 etag len, etag | body
//! ```
//!
//! Kept: the status, the end-to-end headers the handler set (`Content-Type`, `Vary`,
//! custom ones), the body, and an ETag computed from the body. Dropped: hop-by-hop
//! headers, `Date`, `Age`, `Content-Length` (recomputed), and the headers the cache
//! sets itself (`Cache-Control`, `ETag`, the `X-FastAPI-Cache` header).

use std::sync::OnceLock;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};

use crate::codec::{self, DecodeError, Kind};

/// The type name written in the codec header of HTTP entries.
const TYPE_NAME: &str = "cachette::http::StoredResponse";

/// A response as stored.
#[derive(Debug)]
pub(crate) struct StoredResponse {
    /// The tag of the handler that stored it (see `key::function`).
    pub(crate) function: u64,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) etag: HeaderValue,
    /// `headers` plus the cache header, the ETag, `Content-Length` and placeholders
    /// for `Cache-Control` and `Age`: what a hit clones (made on the first hit,
    /// then kept with the entry's parsed response).
    hit_headers: OnceLock<HeaderMap>,
}

/// Headers never stored (hop-by-hop, or set by the cache on every answer).
fn is_dropped(name: &HeaderName, cache_header: &str) -> bool {
    matches!(
        *name,
        header::CONNECTION
            | header::TRANSFER_ENCODING
            | header::TE
            | header::TRAILER
            | header::UPGRADE
            | header::PROXY_AUTHENTICATE
            | header::PROXY_AUTHORIZATION
            | header::DATE
            | header::AGE
            | header::CONTENT_LENGTH
            | header::CACHE_CONTROL
            | header::ETAG
            | header::SET_COOKIE
    ) || name.as_str() == "keep-alive"
        || name.as_str().eq_ignore_ascii_case(cache_header)
}

/// A strong ETag from the body: the same in every process and after every restart.
pub(crate) fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let tag = format!("\"{}\"", hex::encode(&digest[..16]));
    HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

impl StoredResponse {
    /// What to store of a response.
    pub(crate) fn new(
        function: u64,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
        cache_header: &str,
    ) -> Self {
        let mut kept = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if !is_dropped(name, cache_header) {
                kept.append(name.clone(), value.clone());
            }
        }
        let etag = etag_of(&body);
        StoredResponse {
            function,
            status,
            headers: kept,
            body,
            etag,
            hit_headers: OnceLock::new(),
        }
    }

    /// The headers of a hit with these cache header (`HIT`, `STALE`),
    /// `Cache-Control` and `Age` values: a clone of the prebuilt map (its values
    /// are shared, not copied) whose per-hit values (one each: none is ever
    /// stored) are replaced in place.
    pub(crate) fn hit_headers_at(
        &self,
        cache_header: &HeaderName,
        status: &'static str,
        cache_control: HeaderValue,
        age: Duration,
    ) -> HeaderMap {
        let mut headers = self.hit_headers(cache_header).clone();
        let mut cache_control = Some(cache_control);
        // A walk over the few entries costs less than hashed lookups.
        for (name, value) in headers.iter_mut() {
            if name == header::CACHE_CONTROL {
                if let Some(cc) = cache_control.take() {
                    *value = cc;
                }
            } else if name == header::AGE {
                *value = super::values::age(age);
            } else if status != "HIT" && name == cache_header {
                *value = HeaderValue::from_static(status);
            }
        }
        headers
    }

    /// The headers of a hit, but for `Cache-Control` and `Age`, whose slots hold
    /// placeholders to be replaced.
    fn hit_headers(&self, cache_header: &HeaderName) -> &HeaderMap {
        self.hit_headers.get_or_init(|| {
            let mut map = HeaderMap::with_capacity(self.headers.len() + 4);
            for (name, value) in &self.headers {
                map.append(name.clone(), value.clone());
            }
            map.insert(cache_header.clone(), HeaderValue::from_static("HIT"));
            map.insert(header::ETAG, self.etag.clone());
            map.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
            map.insert(header::AGE, HeaderValue::from_static("0"));
            // axum sets it from the body's size when absent; present, the map
            // does not have to grow.
            map.insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
            map
        })
    }

    /// Header + binary layout.
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(64 + self.body.len());
        codec::write_header(&mut out, Kind::Http, TYPE_NAME, self.function);
        let mut buf = BytesMut::from(&out[..]);
        buf.put_u16(self.status.as_u16());
        let count = self.headers.len().min(usize::from(u16::MAX));
        buf.put_u16(count as u16);
        for (name, value) in self.headers.iter().take(count) {
            buf.put_u16(name.as_str().len() as u16);
            buf.put_slice(name.as_str().as_bytes());
            buf.put_u32(value.len() as u32);
            buf.put_slice(value.as_bytes());
        }
        buf.put_u16(self.etag.len() as u16);
        buf.put_slice(self.etag.as_bytes());
        buf.put_slice(&self.body);
        buf.freeze()
    }

    /// Reads what [`StoredResponse::encode`] wrote for the handler whose tag is
    /// `function`; the body is not copied.
    pub(crate) fn decode(bytes: &Bytes, function: u64) -> Result<Self, DecodeError> {
        let payload = codec::read_header(bytes, Kind::Http, TYPE_NAME, function)?;
        let start = bytes.len() - payload.len();
        let mut r = Reader { bytes, pos: start };
        let status = StatusCode::from_u16(r.u16()?).map_err(|_| bad("status"))?;
        let count = r.u16()?;
        // The count is unchecked data: it sizes nothing beyond what real
        // responses carry (a map past `http`'s limit panics).
        let mut headers = HeaderMap::with_capacity(usize::from(count).min(64));
        for _ in 0..count {
            let len = usize::from(r.u16()?);
            let name = HeaderName::from_bytes(r.take(len)?).map_err(|_| bad("header name"))?;
            let len = r.u32()? as usize;
            let value =
                HeaderValue::from_maybe_shared(r.slice(len)?).map_err(|_| bad("header value"))?;
            headers
                .try_append(name, value)
                .map_err(|_| bad("header count"))?;
        }
        let len = usize::from(r.u16()?);
        let etag = HeaderValue::from_maybe_shared(r.slice(len)?).map_err(|_| bad("etag"))?;
        let body = bytes.slice(r.pos..);
        Ok(StoredResponse {
            function,
            status,
            headers,
            body,
            etag,
            hit_headers: OnceLock::new(),
        })
    }
}

fn bad(what: &str) -> DecodeError {
    DecodeError::new(format!("stored HTTP response has an invalid {what}"))
}

struct Reader<'a> {
    bytes: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| DecodeError::new("stored HTTP response is truncated".into()))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn slice(&mut self, len: usize) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        self.take(len)?;
        Ok(self.bytes.slice(start..self.pos))
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_keeps_end_to_end_headers_only() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert("x-custom", HeaderValue::from_static("1"));
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
        h.insert("x-fastapi-cache", HeaderValue::from_static("MISS"));
        let stored = StoredResponse::new(
            7,
            StatusCode::OK,
            &h,
            Bytes::from_static(b"{\"a\":1}"),
            "X-FastAPI-Cache",
        );
        let back = StoredResponse::decode(&stored.encode(), 7).unwrap();
        assert_eq!(back.status, StatusCode::OK);
        assert_eq!(back.body, Bytes::from_static(b"{\"a\":1}"));
        assert_eq!(back.etag, stored.etag);
        assert_eq!(back.headers.len(), 2);
        assert_eq!(back.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(back.headers["x-custom"], "1");
    }

    #[test]
    fn etags_are_strong_quoted_and_stable() {
        let a = etag_of(b"hello");
        assert_eq!(a, etag_of(b"hello"));
        assert_ne!(a, etag_of(b"hellp"));
        let s = a.to_str().unwrap();
        assert!(s.starts_with('"') && s.ends_with('"') && !s.starts_with("W/"));
        // sha256("hello") starts with 2cf24dba5fb0a30e26e83b2ac5b9e29e.
        assert_eq!(s, "\"2cf24dba5fb0a30e26e83b2ac5b9e29e\"");
    }

    #[test]
    fn truncated_or_foreign_bytes_do_not_decode() {
        let stored = StoredResponse::new(
            7,
            StatusCode::OK,
            &HeaderMap::new(),
            Bytes::from_static(b"body"),
            "x",
        );
        let bytes = stored.encode();
        for cut in 0..bytes.len() - 4 {
            assert!(
                StoredResponse::decode(&bytes.slice(..cut), 7).is_err(),
                "cut at {cut}"
            );
        }
        assert!(StoredResponse::decode(&Bytes::from_static(b"garbage"), 7).is_err());
        let value = Bytes::from(codec::encode(&5u32, 7).unwrap());
        assert!(StoredResponse::decode(&value, 7).is_err());
        // Stored by another handler (two handlers whose keys meet).
        assert!(StoredResponse::decode(&bytes, 8).is_err());
    }

    /// Header names: ones the cache keeps, ones it drops, and arbitrary tokens.
    fn header_names() -> impl Strategy<Value = HeaderName> {
        prop_oneof![
            prop::sample::select(vec![
                "content-type",
                "vary",
                "x-custom",
                "link",
                "set-cookie",
                "connection",
                "etag",
                "cache-control",
                "content-length",
                "x-fastapi-cache",
                "keep-alive",
            ])
            .prop_map(HeaderName::from_static),
            "[a-z0-9-]{1,12}".prop_map(|n| HeaderName::from_bytes(n.as_bytes()).unwrap()),
        ]
    }

    /// Any bytes a header value may hold, non-UTF-8 (obs-text) included.
    fn header_values() -> impl Strategy<Value = HeaderValue> {
        let byte = prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff];
        prop::collection::vec(byte, 0..24)
            .prop_map(|bytes| HeaderValue::from_bytes(&bytes).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_stored_response_reads_back_as_it_was_kept(
            status in 100u16..=999,
            headers in prop::collection::vec((header_names(), header_values()), 0..12),
            body in prop::collection::vec(any::<u8>(), 0..300),
            cache_header in prop_oneof![Just("X-FastAPI-Cache"), Just("x-custom")],
        ) {
            let status = StatusCode::from_u16(status).unwrap();
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                map.append(name, value);
            }
            let body = Bytes::from(body);
            let stored = StoredResponse::new(7, status, &map, body.clone(), cache_header);
            let back = StoredResponse::decode(&stored.encode(), 7).unwrap();

            prop_assert_eq!(back.status, status);
            prop_assert_eq!(&back.body, &body);
            prop_assert_eq!(&back.etag, &etag_of(&body));
            // Every kept header, every value of it in order, nothing else.
            let mut kept = 0;
            for name in map.keys() {
                let values: Vec<&HeaderValue> = back.headers.get_all(name).iter().collect();
                if is_dropped(name, cache_header) {
                    prop_assert!(values.is_empty(), "{} was stored", name);
                } else {
                    let sent: Vec<&HeaderValue> = map.get_all(name).iter().collect();
                    prop_assert_eq!(&values, &sent, "values of {}", name);
                    kept += sent.len();
                }
            }
            prop_assert_eq!(back.headers.len(), kept);
        }
    }
}
