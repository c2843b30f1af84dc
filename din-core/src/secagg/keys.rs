//! Key agreement and key derivation for secure aggregation.
//!
//! Each client holds two X25519 key pairs per round: a *cipher* pair, whose agreements
//! key the AEAD that carries Shamir shares to neighbours, and a *mask* pair, whose
//! agreements seed the pairwise masks. Every agreed secret goes through HKDF-SHA256 with
//! the round's context as salt and a purpose label as info, so keys never repeat across
//! tasks, rounds, subgroups or purposes. The share key's info also names the sender and
//! the recipient, in that order ([`share_key_info`]): the X25519 agreement of a pair is
//! symmetric, and one key for both directions would make the XOR of the two directions'
//! ciphertexts the XOR of their plaintexts (and repeat the Poly1305 one-time key).
//!
//! Version 2 of the labels (`din/secagg/v2/...`): version 1 used one share key per pair.

use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result};

/// HKDF info prefix of the AEAD key for the shares one client sends another; the full
/// info is [`share_key_info`].
pub const SHARE_KEY_INFO: &[u8] = b"din/secagg/v2/share-key";
/// HKDF info prefix of the pairwise mask seed between two clients; the full info is
/// [`pairwise_info`].
pub const PAIRWISE_INFO: &[u8] = b"din/secagg/v2/pairwise-mask";
/// HKDF info for a client's self-mask seed.
pub const SELF_MASK_INFO: &[u8] = b"din/secagg/v2/self-mask";
/// HKDF info for a client's rounding seed.
pub const ROUNDING_INFO: &[u8] = b"din/secagg/v2/rounding";
/// HKDF info prefix of the per-round keys derived from a [`ClientSecret`].
pub const ROUND_KEYS_INFO: &[u8] = b"din/secagg/v2/round-keys/";

/// The HKDF info of the pairwise mask seed of clients `a` and `b`: [`PAIRWISE_INFO`] `||
/// min(a, b) u32 BE || max(a, b) u32 BE`. Binding the seed to the pair, not only to the
/// agreement, matters because X25519 cannot tell a key from the same key plus a torsion
/// point: a client advertising such a twisted copy of a neighbour's key would otherwise
/// share that neighbour's seeds with every common neighbour, whose masks then cancel.
pub fn pairwise_info(a: u32, b: u32) -> Vec<u8> {
    let mut info = PAIRWISE_INFO.to_vec();
    info.extend_from_slice(&a.min(b).to_be_bytes());
    info.extend_from_slice(&a.max(b).to_be_bytes());
    info
}

/// The HKDF info of the AEAD key for the shares `sender` encrypts to `recipient`:
/// [`SHARE_KEY_INFO`] `|| sender as u32 BE || recipient as u32 BE`. The two directions
/// of a pair get independent keys, and each key encrypts exactly one message (one
/// sender's shares for one recipient in one round, re-published byte for byte after a
/// restart), so the all-zero nonce never meets two plaintexts.
pub fn share_key_info(sender: u32, recipient: u32) -> Vec<u8> {
    let mut info = SHARE_KEY_INFO.to_vec();
    info.extend_from_slice(&sender.to_be_bytes());
    info.extend_from_slice(&recipient.to_be_bytes());
    info
}

/// 32 fresh bytes from the operating system's CSPRNG (through `rand`'s thread RNG, a
/// ChaCha12 generator seeded and reseeded from the OS).
pub(crate) fn fresh_bytes() -> Zeroizing<[u8; 32]> {
    use rand::Rng as _;
    let mut out = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(out.as_mut());
    out
}

/// An X25519 secret key. Zeroized on drop; no `Clone`, `Debug` or serde.
#[derive(ZeroizeOnDrop)]
pub struct SecretKey(StaticSecret);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(StaticSecret::from(*fresh_bytes()))
    }

    /// The key from its 32 bytes (as reconstructed from Shamir shares).
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = Self(StaticSecret::from(bytes));
        bytes.zeroize();
        key
    }

    /// The key's bytes, for Shamir sharing.
    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }

    /// `HKDF-SHA256(salt = context, ikm = X25519(self, peer), info)`.
    ///
    /// # Errors
    /// [`Error::BadSender`] (with `peer_index`) when `peer` is a low-order point, whose
    /// agreement would be predictable.
    pub fn derive(
        &self,
        peer: &[u8; 32],
        peer_index: u32,
        context: &[u8; 32],
        info: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>> {
        let shared = self.0.diffie_hellman(&PublicKey::from(*peer));
        if !shared.was_contributory() {
            return Err(Error::BadSender {
                sender: peer_index,
                reason: "public key is a low-order point".into(),
            });
        }
        Ok(hkdf32(context, shared.as_bytes(), info))
    }
}

/// `HKDF-SHA256(salt, ikm, info)` to 32 bytes.
pub(crate) fn hkdf32(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expansion cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, out.as_mut());
    out
}

/// A client's self-mask seed `b_i`. Zeroized on drop; no `Clone`, `Debug` or serde.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SelfMaskSeed([u8; 32]);

impl SelfMaskSeed {
    /// A fresh random seed.
    pub fn generate() -> Self {
        Self(*fresh_bytes())
    }

    /// The seed from its bytes (as reconstructed from Shamir shares).
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let seed = Self(bytes);
        bytes.zeroize();
        seed
    }

    /// The raw seed, for sharing and commitment.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The public commitment to this seed: `SHA-256(seed)`.
    pub fn commitment(&self) -> [u8; 32] {
        crate::hash::sha256(&self.0)
    }

    /// The AES-CTR seed of the self mask, bound to the round context.
    pub(crate) fn mask_seed(&self, context: &[u8; 32]) -> Zeroizing<[u8; 32]> {
        hkdf32(context, &self.0, SELF_MASK_INFO)
    }
}

/// A client's long-term secret from which its keys of every round are derived
/// ([`crate::secagg::Participant::from_secret`]), so that a client process that
/// crashes mid-round and restarts recovers the same keys and can finish the round.
/// Keep it like a wallet key (the `din` roles store it in a 0600 file). Zeroized on
/// drop; no `Clone`, `Debug` or serde.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ClientSecret([u8; 32]);

impl ClientSecret {
    /// A fresh random secret from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(*fresh_bytes())
    }

    /// The secret from its stored bytes.
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        Self(*bytes)
    }

    /// The secret's bytes, to store it.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    /// A 32-byte key for another purpose of the same holder, `HKDF-SHA256(salt =
    /// "din/client-secret/v1", ikm = secret, info = label)`: distinct labels give
    /// independent keys (e.g. an Evaluator's X25519 key, its score salts).
    pub fn derive_key(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        hkdf32(b"din/client-secret/v1", &self.0, label)
    }

    /// `HKDF-SHA256(salt = context, ikm = secret, info = ROUND_KEYS_INFO || label ||
    /// index as u32 BE)`: a key for one purpose of client `index` in the round whose
    /// context is `context`.
    pub(crate) fn derive(
        &self,
        context: &[u8; 32],
        index: u32,
        label: &[u8],
    ) -> Zeroizing<[u8; 32]> {
        let mut info = ROUND_KEYS_INFO.to_vec();
        info.extend_from_slice(label);
        info.extend_from_slice(&index.to_be_bytes());
        hkdf32(context, &self.0, &info)
    }
}

/// HKDF salt of the [`RoundRatchet`]'s steps.
pub const RATCHET_INFO: &[u8] = b"din/secagg/v2/ratchet";

/// A forward-secure chain of per-round client secrets (review hole 6): the chain value
/// of round `r + 1` is `HKDF(salt = RATCHET_INFO, ikm = value of r, info = "next")`, and
/// round `r`'s secret is `HKDF(salt = RATCHET_INFO, ikm = value of r, info = "round")`.
/// A Participant keeps only the value of its current round and advances (erasing the
/// old value) once a round is over, so a copy of its state taken after round `r` yields
/// the secrets of rounds `> r` at most: the keys that masked its earlier updates, still
/// on IPFS, cannot be derived again. Within a round the value stays, so a crashed
/// client rebuilds the same keys. Zeroized on drop; no `Clone`, `Debug` or serde.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RoundRatchet {
    round: u32,
    value: [u8; 32],
}

impl RoundRatchet {
    /// Bytes of [`RoundRatchet::to_bytes`]: the round (u32 BE) and the chain value.
    pub const LEN: usize = 36;

    /// A fresh chain at round 0, from the OS CSPRNG.
    pub fn generate() -> Self {
        Self {
            round: 0,
            value: *fresh_bytes(),
        }
    }

    /// The chain as stored.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] unless `bytes` is [`RoundRatchet::LEN`] long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (round, value) = bytes
            .split_first_chunk::<4>()
            .and_then(|(r, v)| Some((u32::from_be_bytes(*r), <[u8; 32]>::try_from(v).ok()?)))
            .ok_or_else(|| {
                Error::invalid(
                    "round ratchet",
                    format!("{} bytes, not {}", bytes.len(), Self::LEN),
                )
            })?;
        Ok(Self { round, value })
    }

    /// The chain's bytes, to store it.
    pub fn to_bytes(&self) -> Zeroizing<[u8; Self::LEN]> {
        let mut out = Zeroizing::new([0u8; Self::LEN]);
        let (round, value) = out.split_at_mut(4);
        round.copy_from_slice(&self.round.to_be_bytes());
        value.copy_from_slice(&self.value);
        out
    }

    /// The earliest round whose secret can still be derived.
    pub fn round(&self) -> u32 {
        self.round
    }

    fn value_at(&self, round: u32) -> Zeroizing<[u8; 32]> {
        let mut v = Zeroizing::new(self.value);
        for _ in self.round..round {
            let next = hkdf32(RATCHET_INFO, v.as_ref(), b"next");
            *v = *next;
        }
        v
    }

    /// The secret of `round` (at or after the chain's round), from which that round's
    /// keys are derived ([`crate::secagg::Participant::from_secret`]).
    ///
    /// # Errors
    /// [`Error::SecAggParams`] for a round before the chain's: its secret was erased.
    pub fn secret_for(&self, round: u32) -> Result<ClientSecret> {
        if round < self.round {
            return Err(Error::SecAggParams(format!(
                "the secrets of round {round} were erased (this client's ratchet is at round {})",
                self.round
            )));
        }
        let v = self.value_at(round);
        Ok(ClientSecret::from_bytes(hkdf32(
            RATCHET_INFO,
            v.as_ref(),
            b"round",
        )))
    }

    /// Moves the chain to `round`, erasing every earlier value (no-op for an earlier
    /// round).
    pub fn advance_to(&mut self, round: u32) {
        if round > self.round {
            let v = self.value_at(round);
            self.value = *v;
            self.round = round;
        }
    }
}
