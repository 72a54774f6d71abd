//! Turning the fuzzer's bytes into structured inputs without a dependency (the
//! replay tests run on stable with the workspace's dependencies only): a reader
//! that never fails, returning zeros and empty data once the bytes run out.

/// A cursor over fuzzer bytes.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Input { bytes }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next byte, 0 when none is left.
    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&first, rest)) => {
                self.bytes = rest;
                first
            }
            None => 0,
        }
    }

    /// The next byte as a flag.
    pub fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// The next `N` bytes, zero-padded.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let taken = self.take(N);
        out[..taken.len()].copy_from_slice(taken);
        out
    }

    /// A `u16` (big-endian).
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.array())
    }

    /// A `u64` (big-endian).
    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }

    /// An `i64` (big-endian).
    pub fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.array())
    }

    /// An `i128` (big-endian).
    pub fn i128(&mut self) -> i128 {
        i128::from_be_bytes(self.array())
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.bytes.split_at(n.min(self.bytes.len()));
        self.bytes = rest;
        taken
    }

    /// Bytes whose length is the next byte.
    pub fn bytes(&mut self) -> &'a [u8] {
        let len = usize::from(self.byte());
        self.take(len)
    }

    /// A string whose byte length is the next byte (lossy UTF-8).
    pub fn string(&mut self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.bytes.len())
    }
}
