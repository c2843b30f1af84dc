//! Shamir secret sharing of 32-byte secrets over GF(2^8), through the maintained `blahaj`
//! crate (byte-wise polynomials of degree `t - 1`, share `x` in `1..=255`).
//!
//! Shares are secrets until revealed: [`SecretShare`] is zeroized on drop and has no
//! `Clone`, `Debug` or serde. On the wire a share is 33 bytes: `x || y`.

use blahaj::{Share, Sharks};
use chacha20::ChaCha20Rng;
use rand::SeedableRng as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result};

/// Bytes of an encoded share: one for `x`, 32 for `y`.
pub const SHARE_LEN: usize = 33;
/// Most shares one secret can have (GF(2^8) has 255 non-zero points).
pub const MAX_SHARES: u32 = 255;

/// Which secret of a client a share belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareKind {
    /// The self-mask seed (revealed for survivors).
    SelfMask = 0,
    /// The mask key (revealed for dropped clients).
    MaskKey = 1,
}

/// The public commitment to the share of `owner`'s `kind` secret that `holder` holds in
/// the round whose context is `context`: `SHA-256("din/secagg/v2/share" || context ||
/// owner u32 BE || holder u32 BE || kind u8 || share)`. A share's 32 `y` bytes are
/// uniform (its polynomial has random coefficients), so the hash hides it.
pub fn commit(
    context: &[u8; 32],
    owner: u32,
    holder: u32,
    kind: ShareKind,
    share: &[u8; SHARE_LEN],
) -> crate::Digest32 {
    let mut input = Zeroizing::new(Vec::with_capacity(64 + 9 + SHARE_LEN));
    input.extend_from_slice(b"din/secagg/v2/share");
    input.extend_from_slice(context);
    input.extend_from_slice(&owner.to_be_bytes());
    input.extend_from_slice(&holder.to_be_bytes());
    input.push(kind as u8);
    input.extend_from_slice(share);
    crate::Digest32(crate::hash::sha256(&input))
}

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
/// (0-based) has `x = m + 1`. Coefficients come from the operating system's CSPRNG.
///
/// # Errors
/// [`Error::SecAggParams`] unless `2 <= threshold <= count <= 255`.
pub fn split(secret: &[u8; 32], threshold: u32, count: u32) -> Result<Vec<SecretShare>> {
    split_with(secret, threshold, count, &mut rand::rng())
}

/// A source of Shamir coefficients seeded by a secret: ChaCha20 (a CSPRNG) keyed by a
/// 32-byte seed, so the same seed deals the same polynomials. The seed must be secret
/// and used for one set of secrets only (din derives it per client and round). Zeroized
/// on drop with the generator's state; no `Clone` or `Debug`.
pub struct Dealer(ChaCha20Rng);

impl Dealer {
    /// A dealer whose coefficients are the ChaCha20 keystream of `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ChaCha20Rng::from_seed(*seed))
    }

    /// As [`split`], with this dealer's coefficients; successive calls draw successive
    /// (independent) coefficients.
    ///
    /// # Errors
    /// As [`split`].
    pub fn split(
        &mut self,
        secret: &[u8; 32],
        threshold: u32,
        count: u32,
    ) -> Result<Vec<SecretShare>> {
        split_with(secret, threshold, count, &mut self.0)
    }
}

fn split_with<R: rand::CryptoRng>(
    secret: &[u8; 32],
    threshold: u32,
    count: u32,
    rng: &mut R,
) -> Result<Vec<SecretShare>> {
    if threshold < 2 || threshold > count || count > MAX_SHARES {
        return Err(Error::SecAggParams(format!(
            "Shamir needs 2 <= threshold ({threshold}) <= shares ({count}) <= {MAX_SHARES}"
        )));
    }
    let dealer = Sharks(threshold as u8).dealer_rng(secret, rng);
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
