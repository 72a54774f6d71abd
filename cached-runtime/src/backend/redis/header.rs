//! The header in front of every entry's value in Redis, and the epoch identity's
//! text form.
//!
//! `stamp` (20 ASCII digits) · epoch identity (16 ASCII hex digits) · TTL in ms ·
//! time stored in ms since 1970 (two big-endian u64). The READ script compares the
//! first two fields as text (Lua numbers cannot hold a u64, and text needs no
//! decoding), so they are ASCII; the last two are only read here.

/// Bytes before the codec bytes in an entry's value.
pub(super) const LEN: usize = 52;

/// An entry's header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) stamp: u64,
    pub(super) epoch: u64,
    pub(super) ttl_ms: u64,
    pub(super) stored_ms: u64,
}

impl Header {
    pub(super) fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[..20].copy_from_slice(format!("{:020}", self.stamp).as_bytes());
        out[20..36].copy_from_slice(&epoch_id(self.epoch));
        out[36..44].copy_from_slice(&self.ttl_ms.to_be_bytes());
        out[44..52].copy_from_slice(&self.stored_ms.to_be_bytes());
        out
    }

    pub(super) fn decode(value: &[u8]) -> Option<Header> {
        let (stamp, epoch) = decode_stamp(value)?;
        let field = |at: usize| -> Option<u64> {
            Some(u64::from_be_bytes(value.get(at..at + 8)?.try_into().ok()?))
        };
        Some(Header {
            stamp,
            epoch,
            ttl_ms: field(36)?,
            stored_ms: field(44)?,
        })
    }
}

/// The stamp and epoch identity at the start of `value` (the fields the READ
/// script checked), even when the rest of the header is missing.
pub(super) fn decode_stamp(value: &[u8]) -> Option<(u64, u64)> {
    let stamp = std::str::from_utf8(value.get(..20)?).ok()?.parse().ok()?;
    let epoch = parse_epoch_id(value.get(20..36)?)?;
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
    use super::*;

    #[test]
    fn a_header_reads_back_as_written() {
        let header = Header {
            stamp: 1_721_234_567_890_123,
            epoch: 0x0123_4567_89ab_cdef,
            ttl_ms: 300_000,
            stored_ms: 1_721_234_567_890,
        };
        let bytes = header.encode();
        assert_eq!(&bytes[..36], b"000017212345678901230123456789abcdef");
        assert_eq!(Header::decode(&bytes), Some(header));
        assert_eq!(
            decode_stamp(&bytes[..36]),
            Some((header.stamp, header.epoch))
        );
        assert_eq!(Header::decode(&bytes[..40]), None);
    }

    #[test]
    fn identities_are_sixteen_hex_digits() {
        assert_eq!(&epoch_id(0xff), b"00000000000000ff");
        assert_eq!(parse_epoch_id(b"00000000000000ff"), Some(0xff));
        assert_eq!(parse_epoch_id(b"ff"), None);
        assert_eq!(parse_epoch_id(b"zzzzzzzzzzzzzzzz"), None);
    }
}
