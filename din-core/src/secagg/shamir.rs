//! Shamir secret sharing of 32-byte secrets over GF(2^8), through the maintained `blahaj`
//! crate (byte-wise polynomials of degree `t - 1`, share `x` in `1..=255`).
//!
//! Shares are secrets until revealed: [`SecretShare`] is zeroized on drop and has no
//! `Clone`, `Debug` or serde. On the wire a share is 33 bytes: `x || y`.

use blahaj::{Share, Sharks};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result};

/// Bytes of an encoded share: one for `x`, 32 for `y`.
pub const SHARE_LEN: usize = 33;
/// Most shares one secret can have (GF(2^8) has 255 non-zero points).
pub const MAX_SHARES: u32 = 255;

/// One share of a 32-byte secret. Zeroized on drop; no `Clone`, `Debug` or serde.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretShare([u8; SHARE_LEN]);

impl SecretShare {
    /// The share's evaluation point.
    pub fn x(&self) -> u8 {
        self.0[0]
    }

    /// The encoded share, `x || y`.
    pub fn to_bytes(&self) -> [u8; SHARE_LEN] {
        self.0
    }

    /// A share from its encoding.
    pub fn from_bytes(bytes: [u8; SHARE_LEN]) -> Self {
        Self(bytes)
    }
}

/// Splits `secret` into `count` shares, any `threshold` of which recover it; share `m`
/// (0-based) has `x = m + 1`.
///
/// # Errors
/// [`Error::SecAggParams`] unless `2 <= threshold <= count <= 255`.
pub fn split(secret: &[u8; 32], threshold: u32, count: u32) -> Result<Vec<SecretShare>> {
    if threshold < 2 || threshold > count || count > MAX_SHARES {
        return Err(Error::SecAggParams(format!(
            "Shamir needs 2 <= threshold ({threshold}) <= shares ({count}) <= {MAX_SHARES}"
        )));
    }
    let dealer = Sharks(threshold as u8).dealer_rng(secret, &mut rand::rng());
    Ok(dealer
        .take(count as usize)
        .map(|mut share| {
            let mut bytes = Zeroizing::new(Vec::<u8>::from(&share));
            share.zeroize();
            let mut out = [0u8; SHARE_LEN];
            if let Some(src) = bytes.get(..SHARE_LEN) {
                out.copy_from_slice(src);
            }
            bytes.zeroize();
            SecretShare(out)
        })
        .collect())
}

/// Recovers a secret from `threshold` or more shares with distinct `x`.
///
/// # Errors
/// [`Error::SecAggParams`] with fewer than `threshold` distinct shares.
pub fn combine(shares: &[SecretShare], threshold: u32) -> Result<Zeroizing<[u8; 32]>> {
    let parsed: Vec<Share> = shares
        .iter()
        .filter_map(|s| Share::try_from(&s.0[..]).ok())
        .collect();
    let sharks = Sharks(threshold.min(255) as u8);
    let mut secret = Zeroizing::new(
        sharks
            .recover(parsed.iter())
            .map_err(|e| Error::SecAggParams(format!("Shamir recovery failed: {e}")))?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if secret.len() != 32 {
        return Err(Error::SecAggParams(format!(
            "recovered a {}-byte secret, expected 32",
            secret.len()
        )));
    }
    out.copy_from_slice(&secret);
    secret.zeroize();
    for mut p in parsed {
        p.zeroize();
    }
    Ok(out)
}
