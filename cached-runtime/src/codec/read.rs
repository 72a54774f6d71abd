//! MessagePack at the byte level: what the next value is, read from a slice.

use std::fmt;

use super::marker::NIL;

/// Why a payload could not be read.
#[derive(Debug)]
pub(super) struct Error(pub(super) String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

#[cold]
fn short(missing: usize) -> Error {
    Error(format!("the value ends {missing} bytes short"))
}

/// The start of a value: a scalar, or the length of what follows (arrays and
/// maps); strings, binaries and exts carry their bytes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Head<'de> {
    Nil,
    Bool(bool),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Str(&'de [u8]),
    Bin(&'de [u8]),
    Array(usize),
    Map(usize),
    Ext(i8, &'de [u8]),
}

impl Head<'_> {
    /// What the value is, for error messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Head::Nil => "nil",
            Head::Bool(_) => "a bool",
            Head::U8(_) | Head::U16(_) | Head::U32(_) | Head::U64(_) => "an unsigned integer",
            Head::I8(_) | Head::I16(_) | Head::I32(_) | Head::I64(_) => "a signed integer",
            Head::F32(_) | Head::F64(_) => "a float",
            Head::Str(_) => "a string",
            Head::Bin(_) => "a binary",
            Head::Array(_) => "an array",
            Head::Map(_) => "a map",
            Head::Ext(..) => "an ext",
        }
    }
}

/// The unread part of a payload.
#[derive(Debug)]
pub(super) struct Bytes<'de>(pub(super) &'de [u8]);

impl<'de> Bytes<'de> {
    /// The next `n` bytes.
    #[inline]
    pub(super) fn take(&mut self, n: usize) -> Result<&'de [u8], Error> {
        match self.0.split_at_checked(n) {
            Some((taken, rest)) => {
                self.0 = rest;
                Ok(taken)
            }
            None => Err(short(n - self.0.len())),
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    #[inline]
    fn len16(&mut self) -> Result<usize, Error> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    #[inline]
    fn len32(&mut self) -> Result<usize, Error> {
        Ok(u32::from_be_bytes(self.array()?) as usize)
    }

    /// The first byte, not consumed.
    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// Reads the start of the next value (inlined: the caller's match on the
    /// result then folds into this one).
    #[inline(always)]
    pub(super) fn head(&mut self) -> Result<Head<'de>, Error> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Head::U8(marker),
            0x80..=0x8f => Head::Map(usize::from(marker & 0x0f)),
            0x90..=0x9f => Head::Array(usize::from(marker & 0x0f)),
            0xa0..=0xbf => Head::Str(self.take(usize::from(marker & 0x1f))?),
            NIL => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => {
                let len = usize::from(self.u8()?);
                Head::Bin(self.take(len)?)
            }
            0xc5 => {
                let len = self.len16()?;
                Head::Bin(self.take(len)?)
            }
            0xc6 => {
                let len = self.len32()?;
                Head::Bin(self.take(len)?)
            }
            0xc7 => {
                let len = usize::from(self.u8()?);
                self.ext(len)?
            }
            0xc8 => {
                let len = self.len16()?;
                self.ext(len)?
            }
            0xc9 => {
                let len = self.len32()?;
                self.ext(len)?
            }
            0xca => Head::F32(f32::from_be_bytes(self.array()?)),
            0xcb => Head::F64(f64::from_be_bytes(self.array()?)),
            0xcc => Head::U8(self.u8()?),
            0xcd => Head::U16(u16::from_be_bytes(self.array()?)),
            0xce => Head::U32(u32::from_be_bytes(self.array()?)),
            0xcf => Head::U64(u64::from_be_bytes(self.array()?)),
            0xd0 => Head::I8(i8::from_be_bytes(self.array()?)),
            0xd1 => Head::I16(i16::from_be_bytes(self.array()?)),
            0xd2 => Head::I32(i32::from_be_bytes(self.array()?)),
            0xd3 => Head::I64(i64::from_be_bytes(self.array()?)),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let len = usize::from(self.u8()?);
                Head::Str(self.take(len)?)
            }
            0xda => {
                let len = self.len16()?;
                Head::Str(self.take(len)?)
            }
            0xdb => {
                let len = self.len32()?;
                Head::Str(self.take(len)?)
            }
            0xdc => Head::Array(self.len16()?),
            0xdd => Head::Array(self.len32()?),
            0xde => Head::Map(self.len16()?),
            0xdf => Head::Map(self.len32()?),
            0xe0..=0xff => Head::I8(i8::from_be_bytes([marker])),
            // 0xc1: never used by MessagePack.
            _ => return Err(Error(format!("0x{marker:02x} is not a MessagePack marker"))),
        })
    }

    fn ext(&mut self, len: usize) -> Result<Head<'de>, Error> {
        let tag = i8::from_be_bytes(self.array()?);
        Ok(Head::Ext(tag, self.take(len)?))
    }
}
