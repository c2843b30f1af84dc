//! Shamir secret sharing of 32-byte secrets over GF(2^8) (byte-wise polynomials of
//! degree `t - 1`, share `x` in `1..=255`), in **constant time**.
//!
//! The field is GF(2^8) modulo `x^8 + x^4 + x^3 + x^2 + 1` (0x11d), the field of
//! `blahaj`/`sharks`, whose shares interoperate with these (a test checks both ways).
//! The arithmetic is written here rather than taken from `blahaj` because `blahaj`
//! multiplies through log/exp tables indexed by the operands, so secret bytes
//! (coefficients, share values) would choose which cache lines are read (review hole
//! 8). Here a product by a public factor (an evaluation point, a Lagrange coefficient)
//! xors the factor's eight precomputed doublings under masks made from the secret's
//! bits; a general product is eight shift-and-xor steps under masks; neither has a
//! branch or a memory access that depends on a secret. Inverses (`a^254`, a fixed chain
//! of products) are only taken of public evaluation points. `vsss-rs`, the maintained
//! constant-time alternative, shares elements of prime-order fields, which would
//! change the share format and size for no gain on 32-byte secrets.
//!
//! Shares are secrets until revealed: [`SecretShare`] is zeroized on drop and has no
//! `Clone`, `Debug` or serde. On the wire a share is 33 bytes: `x || y`.

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

/// GF(2^8) arithmetic modulo 0x11d without secret-dependent branches or lookups.
mod gf256 {
    /// `a · b`: Russian-peasant multiplication, each step masked instead of branched.
    pub(super) fn mul(mut a: u8, mut b: u8) -> u8 {
        let mut product = 0u8;
        for _ in 0..8 {
            product ^= a & 0u8.wrapping_sub(b & 1);
            let carry = 0u8.wrapping_sub(a >> 7);
            a = (a << 1) ^ (0x1d & carry);
            b >>= 1;
        }
        product
    }

    /// Multiplication by a public factor: the factor's eight doublings are computed
    /// once (from public data), and a product selects them by masks built from the
    /// secret operand's bits: no branch, no lookup indexed by the secret.
    pub(super) struct PublicFactor([u8; 8]);

    impl PublicFactor {
        pub(super) fn new(factor: u8) -> Self {
            let mut doublings = [0u8; 8];
            let mut v = factor;
            for d in &mut doublings {
                *d = v;
                v = (v << 1) ^ (0x1d & 0u8.wrapping_sub(v >> 7));
            }
            Self(doublings)
        }

        pub(super) fn times(&self, secret: u8) -> u8 {
            let mut product = 0u8;
            for (i, d) in self.0.iter().enumerate() {
                product ^= d & 0u8.wrapping_sub((secret >> i) & 1);
            }
            product
        }
    }

    /// `a^-1 = a^254` (0 for 0), by a fixed square-and-multiply chain.
    pub(super) fn inv(a: u8) -> u8 {
        let a2 = mul(a, a);
        let a3 = mul(a2, a);
        let a6 = mul(a3, a3);
        let a12 = mul(a6, a6);
        let a15 = mul(a12, a3);
        let a30 = mul(a15, a15);
        let a60 = mul(a30, a30);
        let a120 = mul(a60, a60);
        let a126 = mul(a120, a6);
        let a252 = mul(a126, a126);
        mul(a252, a2)
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
    // coefficients[k][b]: the degree-(k+1) coefficient of byte b's polynomial.
    let mut coefficients = Zeroizing::new(vec![[0u8; 32]; threshold as usize - 1]);
    for c in coefficients.iter_mut() {
        rng.fill_bytes(c);
    }
    let mut shares = Vec::with_capacity(count as usize);
    for x in 1..=count {
        let x = x as u8;
        let by_x = gf256::PublicFactor::new(x);
        let mut y = Zeroizing::new([0u8; 32]);
        for (b, (out, s)) in y.iter_mut().zip(secret).enumerate() {
            // Horner: ((a_{t-1} x + a_{t-2}) x + ... + a_1) x + secret.
            let mut acc = 0u8;
            for c in coefficients.iter().rev() {
                acc = by_x.times(acc ^ c.get(b).copied().unwrap_or_default());
            }
            *out = acc ^ s;
        }
        let mut share = SecretShare([0u8; SHARE_LEN]);
        if let Some((first, rest)) = share.0.split_first_mut() {
            *first = x;
            rest.copy_from_slice(y.as_ref());
        }
        shares.push(share);
    }
    Ok(shares)
}

/// Recovers a secret from `threshold` or more shares: Lagrange interpolation at 0 over
/// the first `threshold` shares with distinct, non-zero `x`.
///
/// # Errors
/// [`Error::SecAggParams`] with fewer than `threshold` such shares, or a threshold
/// below 2.
pub fn combine(shares: &[SecretShare], threshold: u32) -> Result<Zeroizing<[u8; 32]>> {
    if threshold < 2 {
        return Err(Error::SecAggParams(format!(
            "Shamir recovery failed: threshold {threshold} is below 2"
        )));
    }
    let mut chosen: Vec<&SecretShare> = Vec::with_capacity(threshold as usize);
    for s in shares {
        if chosen.len() as u32 == threshold {
            break;
        }
        if s.x() != 0 && chosen.iter().all(|c| c.x() != s.x()) {
            chosen.push(s);
        }
    }
    if (chosen.len() as u32) < threshold {
        return Err(Error::SecAggParams(format!(
            "Shamir recovery failed: {} shares with distinct points, {threshold} needed",
            chosen.len()
        )));
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    for (j, share) in chosen.iter().enumerate() {
        // l_j(0) = Π_{m≠j} x_m / (x_m - x_j), from public points only.
        let xj = share.x();
        let mut l = 1u8;
        for (m, other) in chosen.iter().enumerate() {
            if m != j {
                l = gf256::mul(l, gf256::mul(other.x(), gf256::inv(other.x() ^ xj)));
            }
        }
        let by_l = gf256::PublicFactor::new(l);
        for (out, &y) in secret.iter_mut().zip(share.0.iter().skip(1)) {
            *out ^= by_l.times(y);
        }
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Every product against a plain (branching) reference, and every inverse.
    #[test]
    fn field_arithmetic_is_exact() {
        fn reference(a: u8, b: u8) -> u8 {
            let (mut a, mut b, mut p) = (u16::from(a), b, 0u16);
            while b != 0 {
                if b & 1 == 1 {
                    p ^= a;
                }
                a <<= 1;
                if a & 0x100 != 0 {
                    a ^= 0x11d;
                }
                b >>= 1;
            }
            p as u8
        }
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(gf256::mul(a, b), reference(a, b), "{a} * {b}");
            }
            let by_a = gf256::PublicFactor::new(a);
            for b in 0..=255u8 {
                assert_eq!(
                    by_a.times(b),
                    reference(a, b),
                    "{a} * {b} by a public factor"
                );
            }
            if a != 0 {
                assert_eq!(gf256::mul(a, gf256::inv(a)), 1, "inverse of {a}");
            }
        }
        assert_eq!(gf256::inv(0), 0);
    }

    /// Interoperates with `blahaj` (the same field) both ways.
    #[test]
    fn shares_interoperate_with_blahaj() {
        let secret: [u8; 32] = core::array::from_fn(|i| (i * 37 + 5) as u8);
        for (t, n) in [(2u32, 2u32), (3, 5), (26, 50), (255, 255)] {
            let ours = Dealer::from_seed(&[t as u8; 32])
                .split(&secret, t, n)
                .unwrap();
            let theirs: Vec<blahaj::Share> = ours
                .iter()
                .map(|s| blahaj::Share::try_from(&s.0[..]).unwrap())
                .collect();
            let sharks = blahaj::Sharks(t as u8);
            let recovered = sharks.recover(theirs.iter().take(t as usize)).unwrap();
            assert_eq!(recovered, secret.to_vec(), "t = {t}, n = {n}");
            let dealt: Vec<SecretShare> = blahaj::Sharks(t as u8)
                .dealer(&secret)
                .take(n as usize)
                .map(|s| SecretShare(Vec::<u8>::from(&s).try_into().unwrap()))
                .collect();
            assert_eq!(*combine(&dealt[(n - t) as usize..], t).unwrap(), secret);
            assert!(combine(&dealt[..t as usize - 1], t).is_err());
        }
        let (one, again) = (SecretShare([1; SHARE_LEN]), SecretShare([1; SHARE_LEN]));
        assert!(combine(&[one, again], 2).is_err(), "a repeated point");
    }
}
