//! The header in front of every entry's value in Redis, and the epoch identity's
//! text form.
//!
//! `stamp` (20 ASCII digits) · epoch identity (16 ASCII hex digits) · TTL in ms ·
//! time stored in ms since 1970 · the computation's time in µs (XFetch's Δ, see
//! `stale`) (three big-endian u64). Values stored with the 52-byte header of
//! earlier versions (no Δ) do not decode after it and are recomputed. The READ script compares the
//! first two fields as text (Lua numbers cannot hold a u64, and text needs no
//! decoding), so they are ASCII; the last two are only read here.
//!
//! Written when a value is stored, read back on every hit, and sent back to the
//! READ script as the near copy's proof (a hit on the very bytes this process
//! holds is answered without them): the field offsets live here and nowhere else.

use std::ops::Range;

/// Bytes before the codec bytes in an entry's value.
pub(super) const LEN: usize = 60;

/// The stamp: 20 ASCII digits (the widest u64 has 20).
const STAMP: Range<usize> = 0..20;
/// The epoch identity: 16 ASCII lowercase hex digits.
const EPOCH: Range<usize> = 20..36;
/// The TTL in ms, big-endian.
const TTL: Range<usize> = 36..44;
/// The time stored in ms since 1970, big-endian.
const STORED: Range<usize> = 44..52;
/// How long the value took to compute, in µs, big-endian.
const DELTA: Range<usize> = 52..LEN;

/// An entry's header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) stamp: u64,
    pub(super) epoch: u64,
    pub(super) ttl_ms: u64,
    pub(super) stored_ms: u64,
    pub(super) delta_us: u64,
}

impl Header {
    pub(super) fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[STAMP].copy_from_slice(format!("{:020}", self.stamp).as_bytes());
        out[EPOCH].copy_from_slice(&epoch_id(self.epoch));
        out[TTL].copy_from_slice(&self.ttl_ms.to_be_bytes());
        out[STORED].copy_from_slice(&self.stored_ms.to_be_bytes());
        out[DELTA].copy_from_slice(&self.delta_us.to_be_bytes());
        out
    }

    pub(super) fn decode(value: &[u8]) -> Option<Header> {
        let (stamp, epoch) = decode_stamp(value)?;
        let field = |at: Range<usize>| -> Option<u64> {
            Some(u64::from_be_bytes(value.get(at)?.try_into().ok()?))
        };
        Some(Header {
            stamp,
            epoch,
            ttl_ms: field(TTL)?,
            stored_ms: field(STORED)?,
            delta_us: field(DELTA)?,
        })
    }
}

/// The epoch identity's text in an encoded header (what the scripts compare).
pub(super) fn epoch_text(header: &[u8; LEN]) -> &[u8] {
    &header[EPOCH]
}

/// The stamp and epoch identity at the start of `value` (the fields the READ
/// script checked), even when the rest of the header is missing.
pub(super) fn decode_stamp(value: &[u8]) -> Option<(u64, u64)> {
    let stamp = std::str::from_utf8(value.get(STAMP)?).ok()?.parse().ok()?;
    let epoch = parse_epoch_id(value.get(EPOCH)?)?;
    Some((stamp, epoch))
}

/// An epoch identity as the scripts write it: 16 lowercase hex digits.
pub(super) fn epoch_id(epoch: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(format!("{epoch:016x}").as_bytes());
    out
}

/// The identity in an epoch's text form (16 hex digits).
pub(super) fn parse_epoch_id(text: &[u8]) -> Option<u64> {
    if text.len() != 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_header_reads_back_as_written() {
        let header = Header {
            stamp: 1_721_234_567_890_123,
            epoch: 0x0123_4567_89ab_cdef,
            ttl_ms: 300_000,
            stored_ms: 1_721_234_567_890,
            delta_us: 3,
        };
        let bytes = header.encode();
        assert_eq!(&bytes[..36], b"000017212345678901230123456789abcdef");
        assert_eq!(epoch_text(&bytes), b"0123456789abcdef");
        assert_eq!(Header::decode(&bytes), Some(header));
        assert_eq!(
            decode_stamp(&bytes[..36]),
            Some((header.stamp, header.epoch))
        );
        assert_eq!(Header::decode(&bytes[..40]), None);
    }

    #[test]
    fn the_extremes_fit_their_fields() {
        for n in [0, 1, u64::MAX] {
            let header = Header {
                stamp: n,
                epoch: n,
                ttl_ms: n,
                stored_ms: n,
                delta_us: 3,
            };
            let bytes = header.encode();
            assert_eq!(Header::decode(&bytes), Some(header), "{n}");
        }
        let max = Header {
            stamp: u64::MAX,
            epoch: u64::MAX,
            ttl_ms: 0,
            stored_ms: 0,
            delta_us: 3,
        }
        .encode();
        assert_eq!(&max[..36], b"18446744073709551615ffffffffffffffff");
    }

    #[test]
    fn the_codec_bytes_after_the_header_are_not_read() {
        let header = Header {
            stamp: 7,
            epoch: 9,
            ttl_ms: 1_000,
            stored_ms: 2_000,
            delta_us: 3,
        };
        let mut value = header.encode().to_vec();
        value.extend_from_slice(b"\x00\xffpayload");
        assert_eq!(Header::decode(&value), Some(header));
    }

    #[test]
    fn a_damaged_header_is_rejected_not_misread() {
        let good = Header {
            stamp: 42,
            epoch: 0xabc,
            ttl_ms: 1,
            stored_ms: 2,
            delta_us: 3,
        }
        .encode();
        // Every truncation: the stamp survives exactly when its two text fields do.
        for len in 0..LEN {
            assert_eq!(Header::decode(&good[..len]), None, "{len} bytes");
            let stamp = decode_stamp(&good[..len]);
            assert_eq!(stamp.is_some(), len >= 36, "{len} bytes");
        }
        let mut bad = good;
        bad[5] = b'x';
        assert_eq!(Header::decode(&bad), None, "a stamp that is not digits");
        let mut bad = good;
        bad[25] = b'g';
        assert_eq!(Header::decode(&bad), None, "an identity that is not hex");
        let mut bad = good;
        bad[0] = 0xff;
        assert_eq!(Header::decode(&bad), None, "not UTF-8");
        // A stamp above u64::MAX does not wrap.
        let mut bad = good;
        bad[..20].copy_from_slice(b"99999999999999999999");
        assert_eq!(Header::decode(&bad), None);
    }

    #[test]
    fn identities_are_sixteen_hex_digits() {
        assert_eq!(&epoch_id(0xff), b"00000000000000ff");
        assert_eq!(&epoch_id(u64::MAX), b"ffffffffffffffff");
        assert_eq!(parse_epoch_id(b"00000000000000ff"), Some(0xff));
        assert_eq!(parse_epoch_id(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_epoch_id(b"ff"), None);
        assert_eq!(parse_epoch_id(b"000000000000000ff"), None);
        assert_eq!(parse_epoch_id(b"zzzzzzzzzzzzzzzz"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_header_reads_back(
            stamp: u64,
            epoch: u64,
            ttl_ms: u64,
            stored_ms: u64,
            delta_us: u64,
            payload in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let header = Header { stamp, epoch, ttl_ms, stored_ms, delta_us };
            let bytes = header.encode();
            // The text fields are what the READ script compares as text.
            prop_assert!(bytes[..20].iter().all(u8::is_ascii_digit));
            prop_assert!(bytes[20..36].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
            prop_assert_eq!(epoch_text(&bytes), &epoch_id(epoch)[..]);
            let mut value = bytes.to_vec();
            value.extend_from_slice(&payload);
            prop_assert_eq!(Header::decode(&value), Some(header));
            prop_assert_eq!(decode_stamp(&value), Some((stamp, epoch)));
            prop_assert_eq!(parse_epoch_id(&epoch_id(epoch)), Some(epoch));
        }
    }
}
