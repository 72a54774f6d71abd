//! The `Some` marker: a MessagePack ext of type [`SOME_TAG`] whose payload is the
//! value inside the `Some`, written in the same format.

/// The name under which rmp-serde writes (and reads) an ext: a newtype struct of
/// `(tag, bytes)`.
pub(super) const EXT_STRUCT: &str = rmp_serde::MSGPACK_EXT_STRUCT_NAME;

/// The ext type of a `Some` marker: the last application-defined type (0..=127),
/// the least likely to be taken by a value's own exts.
pub(super) const SOME_TAG: i8 = 127;

/// MessagePack's nil: how rmp-serde writes `None` and `()`.
pub(super) const NIL: u8 = 0xc0;

/// Appends the header of an ext of `len` payload bytes and type `tag` (the
/// shortest form, as rmp writes it).
fn write_ext_header(out: &mut Vec<u8>, len: usize, tag: i8) {
    let tag = tag.to_be_bytes()[0];
    match len {
        1 => out.push(0xd4),
        2 => out.push(0xd5),
        4 => out.push(0xd6),
        8 => out.push(0xd7),
        16 => out.push(0xd8),
        _ => match (u8::try_from(len), u16::try_from(len)) {
            (Ok(len), _) => out.extend_from_slice(&[0xc7, len]),
            (_, Ok(len)) => {
                out.push(0xc8);
                out.extend_from_slice(&len.to_be_bytes());
            }
            // A payload over 4 GiB cannot be stored: the serializer's own ext
            // writes a truncated length as well, and the decoder then fails on
            // the lengths, which is a miss.
            _ => {
                out.push(0xc9);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
        },
    }
    out.push(tag);
}

/// The size of the header of an ext with `len` payload bytes.
fn ext_header_len(len: usize) -> usize {
    match len {
        1 | 2 | 4 | 8 | 16 => 2,
        _ if len <= usize::from(u8::MAX) => 3,
        _ if len <= usize::from(u16::MAX) => 4,
        _ => 6,
    }
}

/// `inner` inside `levels` `Some` markers.
pub(super) fn nested_markers(levels: usize, inner: &[u8]) -> Vec<u8> {
    // Payload lengths from the innermost marker out.
    let mut lens = Vec::with_capacity(levels + 1);
    lens.push(inner.len());
    for _ in 0..levels {
        let last = lens[lens.len() - 1];
        lens.push(last + ext_header_len(last));
    }
    let mut out = Vec::with_capacity(lens[levels]);
    for &len in lens[..levels].iter().rev() {
        write_ext_header(&mut out, len, SOME_TAG);
    }
    out.extend_from_slice(inner);
    out
}

/// What starts at the front of `bytes`, as far as options are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Front {
    /// Nil: `None`.
    Nil,
    /// A `Some` marker: its header is `header` bytes, its payload `len` bytes.
    Some { header: usize, len: usize },
    /// An ext of another type: a value's own, read by rmp-serde.
    OtherExt,
    /// Anything else, or nothing (the reader reports the end of the input).
    Value,
}

/// Looks at the front of `bytes`.
pub(super) fn front(bytes: &[u8]) -> Front {
    let Some(&first) = bytes.first() else {
        return Front::Value;
    };
    let (header, len) = match first {
        NIL => return Front::Nil,
        0xd4 => (2, 1),
        0xd5 => (2, 2),
        0xd6 => (2, 4),
        0xd7 => (2, 8),
        0xd8 => (2, 16),
        0xc7 => match bytes.get(1) {
            Some(&len) => (3, usize::from(len)),
            None => return Front::Value,
        },
        0xc8 => match bytes.get(1..3) {
            Some(&[a, b]) => (4, usize::from(u16::from_be_bytes([a, b]))),
            _ => return Front::Value,
        },
        0xc9 => match bytes.get(1..5) {
            Some(&[a, b, c, d]) => (6, u32::from_be_bytes([a, b, c, d]) as usize),
            _ => return Front::Value,
        },
        _ => return Front::Value,
    };
    match bytes.get(header - 1) {
        Some(&tag) if tag == SOME_TAG.to_be_bytes()[0] => Front::Some { header, len },
        Some(_) => Front::OtherExt,
        None => Front::Value,
    }
}
