//! The swap-or-not shuffle (Hoang, Morris, Rogaway 2012), as Ethereum's beacon chain uses
//! it to form committees (`compute_shuffled_index`), with two EVM-minded changes:
//! Keccak-256 instead of SHA-256 (no precompile call) and big-endian integers (what
//! `abi.encodePacked` writes).
//!
//! For `count` items and a 32-byte `seed`, each of [`SHUFFLE_ROUNDS`] rounds `r` does:
//!
//! ```text
//! pivot    = uint64(keccak256(seed || uint8(r))[0..8]) mod count      (big-endian)
//! flip     = (pivot + count - index) mod count
//! position = max(index, flip)
//! source   = keccak256(seed || uint8(r) || uint32(position / 256))   (big-endian)
//! bit      = (source[(position mod 256) / 8] >> (position mod 8)) & 1
//! index    = flip if bit == 1 else index
//! ```
//!
//! Each round is an involution pairing `index` with `flip`, so the whole is a permutation;
//! the image of one index costs `2 * SHUFFLE_ROUNDS` hashes, independent of `count`,
//! which is what lets a contract check one membership without storing the assignment.

use crate::hash::keccak256;
use crate::types::Digest32;
use crate::{Error, Result};

/// Rounds of the shuffle (as the beacon chain).
pub const SHUFFLE_ROUNDS: u8 = 90;

/// Largest list the shuffle is defined for (positions travel as `uint32`).
pub const MAX_SHUFFLE_COUNT: u64 = u32::MAX as u64;

fn pivot(seed: &Digest32, round: u8, count: u64) -> u64 {
    let mut input = [0u8; 33];
    input[..32].copy_from_slice(seed.as_bytes());
    input[32] = round;
    let h = keccak256(&input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    u64::from_be_bytes(first) % count
}

fn source(seed: &Digest32, round: u8, block: u32) -> [u8; 32] {
    let mut input = [0u8; 37];
    input[..32].copy_from_slice(seed.as_bytes());
    input[32] = round;
    input[33..].copy_from_slice(&block.to_be_bytes());
    keccak256(&input)
}

fn bit(source: &[u8; 32], position: u64) -> bool {
    let byte = source
        .get(((position % 256) / 8) as usize)
        .copied()
        .unwrap_or_default();
    (byte >> (position % 8)) & 1 == 1
}

fn check_count(index: u64, count: u64) -> Result<()> {
    if count == 0 || count > MAX_SHUFFLE_COUNT {
        return Err(Error::Assignment(format!(
            "cannot shuffle {count} items (1..={MAX_SHUFFLE_COUNT})"
        )));
    }
    if index >= count {
        return Err(Error::Assignment(format!(
            "index {index} is outside a list of {count}"
        )));
    }
    Ok(())
}

/// Where the item at `index` of a `count`-long list lands after shuffling with `seed`.
///
/// # Errors
/// [`Error::Assignment`] when `index >= count` or `count` is 0 or above
/// [`MAX_SHUFFLE_COUNT`].
pub fn shuffled_index(mut index: u64, count: u64, seed: &Digest32) -> Result<u64> {
    check_count(index, count)?;
    for round in 0..SHUFFLE_ROUNDS {
        let flip = (pivot(seed, round, count) + count - index) % count;
        let position = index.max(flip);
        if bit(&source(seed, round, (position / 256) as u32), position) {
            index = flip;
        }
    }
    Ok(index)
}

/// [`shuffled_index`] of every index `0..count` at once, sharing each round's hashes:
/// `SHUFFLE_ROUNDS * (1 + ceil(count / 256))` hashes in all.
///
/// # Errors
/// [`Error::Assignment`] when `count` is 0 or above [`MAX_SHUFFLE_COUNT`].
pub fn shuffle_positions(count: u64, seed: &Digest32) -> Result<Vec<u64>> {
    check_count(0, count)?;
    let mut images: Vec<u64> = (0..count).collect();
    let blocks = count.div_ceil(256);
    for round in 0..SHUFFLE_ROUNDS {
        let pivot = pivot(seed, round, count);
        let sources: Vec<[u8; 32]> = (0..blocks).map(|b| source(seed, round, b as u32)).collect();
        for index in &mut images {
            let flip = (pivot + count - *index) % count;
            let position = (*index).max(flip);
            let src = sources
                .get((position / 256) as usize)
                .copied()
                .unwrap_or_default();
            if bit(&src, position) {
                *index = flip;
            }
        }
    }
    Ok(images)
}
