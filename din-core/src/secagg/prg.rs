//! The mask generator: AES-128 in counter mode, expanded into words modulo 2^32 or 2^64.
//!
//! A 32-byte seed gives the AES-128 key (bytes 0..16) and the initial counter block
//! (bytes 16..32, incremented as a 128-bit big-endian integer, as NIST SP 800-38A and
//! OpenSSL's `aes-128-ctr`). Word `i` of the mask is the keystream's bytes
//! `[i*w, (i+1)*w)` read little-endian (`w` = 4 or 8). Counter mode can seek, so any
//! slice of a mask is computed without the bytes before it: masks are built chunk by
//! chunk, in parallel, with identical results whatever the split.
//!
//! Never a statistical generator: an adversary who sees masked vectors and does not
//! know the seed sees AES output.

use aes::Aes128;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use rayon::prelude::*;

/// Words per chunk of parallel mask work (64 KiB of `u32`, 128 KiB of `u64`).
pub const CHUNK_WORDS: usize = 16 * 1024;

/// A word of a masked vector: `u32` (modulus 2^32) or `u64` (modulus 2^64).
pub trait MaskWord:
    bytemuck::Pod + Default + Copy + Send + Sync + Eq + std::fmt::Debug + 'static
{
    /// Bytes per word.
    const BYTES: usize;
    /// Wrapping addition modulo the word size.
    fn add(self, other: Self) -> Self;
    /// Wrapping subtraction modulo the word size.
    fn sub(self, other: Self) -> Self;
    /// Converts a word read in native order from little-endian keystream bytes.
    fn le_to_native(self) -> Self;
    /// The word as a `u64`.
    fn to_u64(self) -> u64;
    /// The low bits of a `u64`.
    fn from_u64_truncate(v: u64) -> Self;
    /// Reads a word from `BYTES` little-endian bytes (zero if fewer are given).
    fn read_le(bytes: &[u8]) -> Self;
}

macro_rules! mask_word {
    ($t:ty) => {
        impl MaskWord for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            fn add(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            fn sub(self, other: Self) -> Self {
                self.wrapping_sub(other)
            }
            fn le_to_native(self) -> Self {
                <$t>::from_le(self)
            }
            fn to_u64(self) -> u64 {
                self as u64
            }
            fn from_u64_truncate(v: u64) -> Self {
                v as $t
            }
            fn read_le(bytes: &[u8]) -> Self {
                bytes
                    .try_into()
                    .map(<$t>::from_le_bytes)
                    .unwrap_or_default()
            }
        }
    };
}
mask_word!(u32);
mask_word!(u64);

/// Writes words `offset .. offset + out.len()` of the mask of `seed` into `out`.
pub fn expand_into<W: MaskWord>(seed: &[u8; 32], offset: u64, out: &mut [W]) {
    let mut key = [0u8; 16];
    let mut iv = [0u8; 16];
    key.copy_from_slice(&seed[..16]);
    iv.copy_from_slice(&seed[16..]);
    let mut cipher = Ctr128BE::<Aes128>::new(&key.into(), &iv.into());
    zeroize::Zeroize::zeroize(&mut key);
    cipher.seek(offset * W::BYTES as u64);
    out.fill(W::default());
    cipher.apply_keystream(bytemuck::cast_slice_mut(out));
    if cfg!(target_endian = "big") {
        for w in out.iter_mut() {
            *w = w.le_to_native();
        }
    }
}

/// The first `len` words of the mask of `seed`.
pub fn expand<W: MaskWord>(seed: &[u8; 32], len: usize) -> Vec<W> {
    let mut out = vec![W::default(); len];
    out.par_chunks_mut(CHUNK_WORDS)
        .enumerate()
        .for_each(|(i, chunk)| expand_into(seed, (i * CHUNK_WORDS) as u64, chunk));
    out
}

/// One mask to add to (or subtract from) a vector.
pub(crate) struct MaskTerm<'a> {
    pub(crate) seed: &'a [u8; 32],
    pub(crate) subtract: bool,
}

/// `acc += Σ ±mask(term)` over all terms, chunk-parallel. Wrapping arithmetic is
/// associative and commutative, so the result is bit-exact whatever the scheduling.
pub(crate) fn apply_masks<W: MaskWord>(acc: &mut [W], terms: &[MaskTerm<'_>]) {
    acc.par_chunks_mut(CHUNK_WORDS).enumerate().for_each_init(
        || vec![W::default(); CHUNK_WORDS],
        |buf, (i, chunk)| {
            let Some(buf) = buf.get_mut(..chunk.len()) else {
                return;
            };
            for term in terms {
                expand_into(term.seed, (i * CHUNK_WORDS) as u64, buf);
                if term.subtract {
                    chunk
                        .iter_mut()
                        .zip(buf.iter())
                        .for_each(|(a, m)| *a = a.sub(*m));
                } else {
                    chunk
                        .iter_mut()
                        .zip(buf.iter())
                        .for_each(|(a, m)| *a = a.add(*m));
                }
            }
        },
    );
}

/// `acc += Σ vectors`, each given as little-endian bytes; chunk-parallel, bit-exact.
pub(crate) fn add_le_vectors<W: MaskWord>(acc: &mut [W], vectors: &[&[u8]]) {
    acc.par_chunks_mut(CHUNK_WORDS)
        .enumerate()
        .for_each(|(i, chunk)| {
            let start = i * CHUNK_WORDS * W::BYTES;
            let end = start + chunk.len() * W::BYTES;
            for v in vectors {
                if let Some(part) = v.get(start..end) {
                    chunk
                        .iter_mut()
                        .zip(part.chunks_exact(W::BYTES))
                        .for_each(|(a, b)| *a = a.add(W::read_le(b)));
                }
            }
        });
}
