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

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Block};
use rayon::prelude::*;

/// Words per chunk of parallel mask work: a chunk and its keystream buffer stay in L1.
pub const CHUNK_WORDS: usize = 4 * 1024;

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

/// AES-128-CTR keystream of one seed. The counter blocks are encrypted in place, in
/// large batches, which lets the `aes` crate use its widest (VAES) backend.
struct Keystream {
    cipher: Aes128,
    iv: u128,
}

impl Keystream {
    fn new(seed: &[u8; 32]) -> Self {
        let mut key = [0u8; 16];
        let mut iv = [0u8; 16];
        key.copy_from_slice(&seed[..16]);
        iv.copy_from_slice(&seed[16..]);
        let cipher = Aes128::new(&key.into());
        zeroize::Zeroize::zeroize(&mut key);
        Self {
            cipher,
            iv: u128::from_be_bytes(iv),
        }
    }

    /// Writes the keystream from block `first_block` on into `bytes`.
    fn fill(&self, first_block: u128, bytes: &mut [u8]) {
        let (blocks, tail) = Block::slice_as_chunks_mut(bytes);
        let mut counter = self.iv.wrapping_add(first_block);
        let lo = counter as u64;
        if lo.checked_add(blocks.len() as u64).is_some() {
            // Fast path: the high half is constant; write it and the big-endian low half
            // without 128-bit arithmetic per block.
            let hi = ((counter >> 64) as u64).to_be_bytes();
            for (k, block) in blocks.iter_mut().enumerate() {
                let (h, l) = block.split_at_mut(8);
                h.copy_from_slice(&hi);
                l.copy_from_slice(&(lo + k as u64).to_be_bytes());
            }
            counter = counter.wrapping_add(blocks.len() as u128);
        } else {
            for block in blocks.iter_mut() {
                *block = Block::from(counter.to_be_bytes());
                counter = counter.wrapping_add(1);
            }
        }
        self.cipher.encrypt_blocks(blocks);
        if !tail.is_empty() {
            let mut last = Block::from(counter.to_be_bytes());
            self.cipher.encrypt_block(&mut last);
            let n = tail.len();
            tail.copy_from_slice(last.get(..n).unwrap_or_default());
        }
    }
}

/// Writes words `offset .. offset + out.len()` of the mask of `seed` into `out`.
pub fn expand_into<W: MaskWord>(seed: &[u8; 32], offset: u64, out: &mut [W]) {
    let ks = Keystream::new(seed);
    let start = u128::from(offset) * W::BYTES as u128;
    let skip = (start % 16) as usize;
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(out);
    if skip == 0 {
        ks.fill(start / 16, bytes);
    } else {
        let mut tmp = vec![0u8; skip + bytes.len()];
        ks.fill(start / 16, &mut tmp);
        bytes.copy_from_slice(tmp.get(skip..).unwrap_or_default());
    }
    if cfg!(target_endian = "big") {
        for w in out.iter_mut() {
            *w = w.le_to_native();
        }
    }
}

/// The first `len` words of the mask of `seed`.
pub fn expand<W: MaskWord>(seed: &[u8; 32], len: usize) -> Vec<W> {
    let mut out = vec![W::default(); len];
    apply_masks(
        &mut out,
        &[MaskTerm {
            seed,
            subtract: false,
        }],
    );
    out
}

#[cfg(test)]
fn expand_by_chunks<W: MaskWord>(seed: &[u8; 32], len: usize) -> Vec<W> {
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
    apply_masks_init(acc, terms, |_, _| {});
}

/// [`apply_masks`], first filling each chunk with `init(first word index, chunk)`, so
/// that producing the vector and masking it is one pass over memory.
pub(crate) fn apply_masks_init<W: MaskWord>(
    acc: &mut [W],
    terms: &[MaskTerm<'_>],
    init: impl Fn(usize, &mut [W]) + Sync + Send,
) {
    // One key schedule per mask, shared by every chunk (chunk starts are block-aligned).
    let keystreams: Vec<Keystream> = terms.iter().map(|t| Keystream::new(t.seed)).collect();
    acc.par_chunks_mut(CHUNK_WORDS).enumerate().for_each_init(
        || vec![W::default(); CHUNK_WORDS],
        |buf, (i, chunk)| {
            init(i * CHUNK_WORDS, chunk);
            let Some(buf) = buf.get_mut(..chunk.len()) else {
                return;
            };
            let first_block = (i * CHUNK_WORDS * W::BYTES / 16) as u128;
            for (term, ks) in terms.iter().zip(&keystreams) {
                ks.fill(first_block, bytemuck::cast_slice_mut(buf));
                if cfg!(target_endian = "big") {
                    for w in buf.iter_mut() {
                        *w = w.le_to_native();
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_key_schedule_gives_the_same_words() {
        for len in [0, 1, 5, CHUNK_WORDS - 1, CHUNK_WORDS, 3 * CHUNK_WORDS + 7] {
            assert_eq!(
                expand::<u32>(&[3; 32], len),
                expand_by_chunks::<u32>(&[3; 32], len)
            );
            assert_eq!(
                expand::<u64>(&[4; 32], len),
                expand_by_chunks::<u64>(&[4; 32], len)
            );
        }
    }
}
