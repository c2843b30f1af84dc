//! Reading canonical fields from untrusted bytes, without panicking.

use crate::{Error, Result};

/// A cursor over untrusted input. Every read checks the bytes left first.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Fails with [`Error::TrailingBytes`] unless everything was read.
    ///
    /// # Errors
    /// [`Error::TrailingBytes`] when bytes remain.
    pub fn finish(self, context: &'static str) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                context,
                count: self.rest.len(),
            })
        }
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] when fewer than `n` bytes are left.
    pub fn take(&mut self, n: usize, context: &'static str) -> Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(Error::Truncated {
                context,
                needed: n,
                remaining: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn array<const N: usize>(&mut self, context: &'static str) -> Result<[u8; N]> {
        let bytes = self.take(N, context)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u8(&mut self, context: &'static str) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array(context)?))
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u16(&mut self, context: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(context)?))
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u32(&mut self, context: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(context)?))
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u64(&mut self, context: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(context)?))
    }

    /// Reads a big-endian `u128`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u128(&mut self, context: &'static str) -> Result<u128> {
        Ok(u128::from_be_bytes(self.array(context)?))
    }

    /// Reads a boolean; only `0x00` and `0x01` are accepted.
    ///
    /// # Errors
    /// [`Error::Truncated`] or [`Error::InvalidValue`].
    pub fn bool(&mut self, context: &'static str) -> Result<bool> {
        match self.u8(context)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::invalid(
                context,
                format!("boolean must be 0 or 1, found {other}"),
            )),
        }
    }

    /// Reads a `u32` length or count, checks it against `max`, and against the bytes
    /// left given that each item takes at least `min_item_len` bytes.
    fn len(&mut self, context: &'static str, max: u32, min_item_len: usize) -> Result<usize> {
        let len = self.u32(context)?;
        if len > max {
            return Err(Error::TooLong {
                field: context,
                len: u64::from(len),
                max: u64::from(max),
            });
        }
        let len = usize::try_from(len).map_err(|_| Error::TooLong {
            field: context,
            len: u64::from(len),
            max: usize::MAX as u64,
        })?;
        let needed = len.saturating_mul(min_item_len);
        if needed > self.rest.len() {
            return Err(Error::Truncated {
                context,
                needed,
                remaining: self.rest.len(),
            });
        }
        Ok(len)
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    ///
    /// # Errors
    /// [`Error::TooLong`] or [`Error::Truncated`].
    pub fn bytes(&mut self, context: &'static str, max: u32) -> Result<&'a [u8]> {
        let len = self.len(context, max, 1)?;
        self.take(len, context)
    }

    /// Reads a length-prefixed UTF-8 string of at most `max` bytes.
    ///
    /// # Errors
    /// [`Error::TooLong`], [`Error::Truncated`] or [`Error::InvalidValue`].
    pub fn string(&mut self, context: &'static str, max: u32) -> Result<String> {
        let bytes = self.bytes(context, max)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| Error::invalid(context, format!("not UTF-8: {e}")))
    }

    /// Reads a count-prefixed list of at most `max` items, each read by `item`.
    ///
    /// The count is checked against the bytes left (every item takes at least one
    /// byte), so a forged count cannot make the decoder allocate.
    ///
    /// # Errors
    /// [`Error::TooLong`], [`Error::Truncated`], or the item decoder's error.
    pub fn list<T>(
        &mut self,
        context: &'static str,
        max: u32,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let count = self.len(context, max, 1)?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(item(self)?);
        }
        Ok(out)
    }
}
