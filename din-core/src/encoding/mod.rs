//! The canonical binary encoding of DIN protocol messages.
//!
//! Everything that is hashed, signed, stored by CID or compared between Evaluators is
//! encoded one way only, so that two honest implementations produce identical bytes.
//! The format, version 1:
//!
//! ```text
//! message   = version:u8 (= 1) || tag:u8 || body
//! u8..u128  = fixed width, big-endian
//! bool      = 0x00 | 0x01                       (any other byte is rejected)
//! bytes     = len:u32 || len bytes              (len bounded per field)
//! string    = bytes, valid UTF-8
//! [u8; N]   = N bytes (addresses: 20, digests and seeds: 32)
//! cid       = bytes holding the binary CID; re-encoding must reproduce them exactly
//! list<T>   = count:u32 || count items          (count bounded per field)
//! option<T> = 0x00 | 0x01 || T
//! enum      = discriminant:u8 || fields of that variant
//! struct    = its fields in declaration order, no padding, no field names
//! ```
//!
//! Decoding is panic-free: every read goes through [`Reader`], which checks the bytes
//! left before reading, bounds every length by the field's limit *and* by the input
//! left (so a forged count cannot make the decoder allocate), and a top-level decode
//! fails with [`Error::TrailingBytes`] when bytes remain. Types with invariants (a task
//! configuration, a manifest, a score) are validated after decoding, so a decoded value
//! is always a valid one.
//!
//! ```
//! use din_core::{Message, UpdateRecord};
//! # fn main() -> din_core::Result<()> {
//! # let record = din_core::types::example_update_record();
//! let bytes = record.to_canonical_bytes();
//! assert_eq!(UpdateRecord::from_canonical_bytes(&bytes)?, record);
//! assert!(UpdateRecord::from_canonical_bytes(&bytes[..bytes.len() - 1]).is_err());
//! # Ok(()) }
//! ```

mod reader;
mod writer;

pub use reader::Reader;
pub use writer::Writer;

use crate::{Error, Result};

/// The encoding version written by this build, and the only one it reads.
pub const ENCODING_VERSION: u8 = 1;

/// Largest byte string a single field may hold (16 MiB).
pub const MAX_BYTES: u32 = 16 << 20;

/// Largest number of items a single list may hold.
pub const MAX_ITEMS: u32 = 1 << 20;

/// A value with a canonical body encoding (see the [module docs](self)).
///
/// Nested values are written with [`Canonical::encode`] and read with
/// [`Canonical::decode`]; top-level messages add the version byte and type tag through
/// [`Message`].
pub trait Canonical: Sized {
    /// Appends this value's body to `w`.
    fn encode(&self, w: &mut Writer);

    /// Reads one value from `r`, validating its invariants.
    ///
    /// # Errors
    /// Any [`Error`] describing truncated, over-long or invalid input.
    fn decode(r: &mut Reader<'_>) -> Result<Self>;

    /// Bytes the encoding is expected to take (a capacity hint for large values, so that
    /// encoding a multi-megabyte vector allocates once).
    fn size_hint(&self) -> usize {
        64
    }
}

/// A top-level protocol message: a [`Canonical`] value with a version byte and type tag.
pub trait Message: Canonical {
    /// The type tag written after the version byte.
    const TAG: u8;
    /// A human name used in error messages.
    const NAME: &'static str;

    /// Encodes this message: version, tag, body.
    fn to_canonical_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(2 + self.size_hint());
        w.u8(ENCODING_VERSION);
        w.u8(Self::TAG);
        self.encode(&mut w);
        w.into_bytes()
    }

    /// Decodes a whole message, rejecting other versions, other types and trailing bytes.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`], [`Error::WrongType`], [`Error::TrailingBytes`],
    /// or any error from decoding the body.
    fn from_canonical_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version = r.u8("encoding version")?;
        if version != ENCODING_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: ENCODING_VERSION,
            });
        }
        let tag = r.u8("type tag")?;
        if tag != Self::TAG {
            return Err(Error::WrongType {
                expected: Self::NAME,
                expected_tag: Self::TAG,
                found: tag,
            });
        }
        let value = Self::decode(&mut r)?;
        r.finish(Self::NAME)?;
        Ok(value)
    }
}

macro_rules! canonical_int {
    ($($t:ty => $w:ident),* $(,)?) => {$(
        impl Canonical for $t {
            fn encode(&self, w: &mut Writer) {
                w.$w(*self);
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self> {
                r.$w(stringify!($t))
            }
        }
    )*};
}
canonical_int!(u8 => u8, u16 => u16, u32 => u32, u64 => u64, u128 => u128, bool => bool);

impl Canonical for String {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.as_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        r.string("string", MAX_BYTES)
    }
}

impl<const N: usize> Canonical for [u8; N] {
    fn encode(&self, w: &mut Writer) {
        w.raw(self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        r.array("fixed bytes")
    }
}

impl<T: Canonical> Canonical for Option<T> {
    fn encode(&self, w: &mut Writer) {
        match self {
            None => w.u8(0),
            Some(v) => {
                w.u8(1);
                v.encode(w);
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8("option flag")? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(r)?)),
            other => Err(Error::invalid(
                "option flag",
                format!("expected 0 or 1, found {other}"),
            )),
        }
    }
}

impl<T: Canonical> Canonical for Vec<T> {
    fn encode(&self, w: &mut Writer) {
        w.list(self, |w, item| item.encode(w));
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        r.list("list", MAX_ITEMS, T::decode)
    }
}

impl Canonical for cid::Cid {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.to_bytes());
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let raw = r.bytes("cid", 256)?;
        let cid = cid::Cid::try_from(raw).map_err(|e| Error::invalid("cid", e.to_string()))?;
        if cid.to_bytes() != raw {
            return Err(Error::invalid("cid", "non-canonical CID bytes"));
        }
        Ok(cid)
    }
}
