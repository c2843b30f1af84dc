//! The four messages of a secure-aggregation round, as public data (stored by CID and
//! referenced on-chain in DIN, so every Evaluator sees the same ones).
//!
//! Each opens with a [`Header`] binding it to a task, round, subgroup, sender and stage;
//! a message replayed from another round or stage, or delivered for another subgroup,
//! fails that check with [`crate::Error::WrongBinding`]. Sender authenticity comes from
//! the chain (a message is submitted by its sender's account) and, for shares, from
//! the AEAD keyed by the claimed sender's advertised key.

use serde::{Deserialize, Serialize};

use super::fixed_point::Width;
use super::shamir::SHARE_LEN;
use crate::encoding::{Canonical, MAX_BYTES, Message, Reader, Writer};
use crate::types::{Digest32, Round, SubgroupId, TaskId};
use crate::{Error, Result};

/// Most clients (and so shares, neighbours, survivors) a message may list.
pub const MAX_CLIENTS: u32 = 1 << 16;
/// Bytes of an encrypted share: two 33-byte shares and a 16-byte AEAD tag.
pub const ENCRYPTED_SHARE_LEN: usize = 2 * SHARE_LEN + 16;

/// The stages of a round, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Clients publish their two public keys.
    AdvertiseKeys,
    /// Clients publish encrypted Shamir shares for their neighbours.
    ShareKeys,
    /// Clients publish their masked input.
    MaskedInput,
    /// Surviving clients reveal the shares that unmask the sum.
    Unmask,
}

impl Stage {
    /// The stage's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Stage::AdvertiseKeys => "advertise-keys",
            Stage::ShareKeys => "share-keys",
            Stage::MaskedInput => "masked-input",
            Stage::Unmask => "unmask",
        }
    }
}

impl Canonical for Stage {
    fn encode(&self, w: &mut Writer) {
        w.u8(*self as u8);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8("stage")? {
            0 => Ok(Stage::AdvertiseKeys),
            1 => Ok(Stage::ShareKeys),
            2 => Ok(Stage::MaskedInput),
            3 => Ok(Stage::Unmask),
            other => Err(Error::invalid("stage", format!("unknown stage {other}"))),
        }
    }
}

/// Who sent a message, for which round of which subgroup, at which stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    /// The task.
    pub task: TaskId,
    /// The round.
    pub round: Round,
    /// The subgroup.
    pub subgroup: SubgroupId,
    /// The sender's index in the subgroup.
    pub sender: u32,
    /// The stage.
    pub stage: Stage,
}

impl Canonical for Header {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.round.encode(w);
        self.subgroup.encode(w);
        w.u32(self.sender);
        self.stage.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            task: TaskId::decode(r)?,
            round: Round::decode(r)?,
            subgroup: SubgroupId::decode(r)?,
            sender: r.u32("sender")?,
            stage: Stage::decode(r)?,
        })
    }
}

/// Stage 0: a client's two public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertiseKeys {
    /// Binding.
    pub header: Header,
    /// X25519 public key for share encryption.
    pub cipher_public: [u8; 32],
    /// X25519 public key for pairwise masks.
    pub mask_public: [u8; 32],
}

impl Canonical for AdvertiseKeys {
    fn encode(&self, w: &mut Writer) {
        self.header.encode(w);
        w.raw(&self.cipher_public);
        w.raw(&self.mask_public);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            header: Header::decode(r)?,
            cipher_public: r.array("cipher public key")?,
            mask_public: r.array("mask public key")?,
        })
    }
}

impl Message for AdvertiseKeys {
    const TAG: u8 = 0x10;
    const NAME: &'static str = "secagg advertise-keys";
}

/// One neighbour's shares, encrypted to it, with public commitments to each share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedShare {
    /// The neighbour it is for.
    pub recipient: u32,
    /// ChaCha20-Poly1305 of `self-mask share || mask-key share`, under the key of this
    /// direction of the pair ([`super::keys::share_key_info`]).
    pub ciphertext: Vec<u8>,
    /// [`super::shamir::commit`] of the self-mask-seed share and of the mask-key share:
    /// the recipient checks what it decrypts against them, and Evaluators check what it
    /// reveals, so a wrong revealed share is set aside instead of breaking the round.
    pub commitments: [Digest32; 2],
}

impl Canonical for EncryptedShare {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.recipient);
        w.bytes(&self.ciphertext);
        self.commitments[0].encode(w);
        self.commitments[1].encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            recipient: r.u32("recipient")?,
            ciphertext: r.bytes("encrypted share", 1024)?.to_vec(),
            commitments: [Digest32::decode(r)?, Digest32::decode(r)?],
        })
    }
}

/// Stage 1: a client's encrypted shares and its commitment to its self-mask seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareKeys {
    /// Binding.
    pub header: Header,
    /// `SHA-256` of the self-mask seed, checked when the seed is reconstructed.
    pub self_mask_commitment: Digest32,
    /// One entry per neighbour that advertised keys.
    pub shares: Vec<EncryptedShare>,
}

impl Canonical for ShareKeys {
    fn encode(&self, w: &mut Writer) {
        self.header.encode(w);
        self.self_mask_commitment.encode(w);
        self.shares.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            header: Header::decode(r)?,
            self_mask_commitment: Digest32::decode(r)?,
            shares: r.list("encrypted shares", MAX_CLIENTS, EncryptedShare::decode)?,
        })
    }
}

impl Message for ShareKeys {
    const TAG: u8 = 0x11;
    const NAME: &'static str = "secagg share-keys";
}

/// Stage 2: a client's masked input, `vector_len + 1` little-endian words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedInput {
    /// Binding.
    pub header: Header,
    /// Word width.
    pub width: Width,
    /// The words, little-endian, packed.
    pub words: Vec<u8>,
}

impl Canonical for MaskedInput {
    fn encode(&self, w: &mut Writer) {
        self.header.encode(w);
        self.width.encode(w);
        w.bytes(&self.words);
    }
    fn size_hint(&self) -> usize {
        128 + self.words.len()
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let header = Header::decode(r)?;
        let width = Width::decode(r)?;
        Ok(Self {
            header,
            width,
            words: r.bytes("masked words", MAX_BYTES * 64)?.to_vec(),
        })
    }
}

impl Message for MaskedInput {
    const TAG: u8 = 0x12;
    const NAME: &'static str = "secagg masked-input";
}

/// A share revealed at unmasking: whose secret, and the 33-byte share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealedShare {
    /// The client whose secret this is a share of.
    pub owner: u32,
    /// `x || y`.
    #[serde(with = "share_hex")]
    pub share: [u8; SHARE_LEN],
}

impl Canonical for RevealedShare {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.owner);
        w.raw(&self.share);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            owner: r.u32("share owner")?,
            share: r.array("share")?,
        })
    }
}

/// Stage 3: a surviving client's reveal, for the survivor set it was shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmaskShares {
    /// Binding.
    pub header: Header,
    /// The survivor set (clients whose masked input counts), sorted.
    pub survivors: Vec<u32>,
    /// Shares of surviving neighbours' self-mask seeds.
    pub self_mask_shares: Vec<RevealedShare>,
    /// Shares of dropped neighbours' mask keys.
    pub key_shares: Vec<RevealedShare>,
}

impl Canonical for UnmaskShares {
    fn encode(&self, w: &mut Writer) {
        self.header.encode(w);
        w.list(&self.survivors, |w, s| w.u32(*s));
        self.self_mask_shares.encode(w);
        self.key_shares.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            header: Header::decode(r)?,
            survivors: r.list("survivors", MAX_CLIENTS, |r| r.u32("survivor"))?,
            self_mask_shares: r.list("self-mask shares", MAX_CLIENTS, RevealedShare::decode)?,
            key_shares: r.list("key shares", MAX_CLIENTS, RevealedShare::decode)?,
        })
    }
}

impl Message for UnmaskShares {
    const TAG: u8 = 0x13;
    const NAME: &'static str = "secagg unmask";
}

mod share_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::SHARE_LEN;

    pub(super) fn serialize<S: Serializer>(v: &[u8; SHARE_LEN], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[u8; SHARE_LEN], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; SHARE_LEN];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// A message of one stage of a round: its stage, and the header that binds it.
pub trait StageMessage: Message {
    /// The stage its messages are published at.
    const STAGE: Stage;
    /// The header binding it to a task, round, subgroup, sender and stage.
    fn header(&self) -> &Header;
}

macro_rules! stage_message {
    ($($ty:ty => $stage:expr),* $(,)?) => {$(
        impl StageMessage for $ty {
            const STAGE: Stage = $stage;
            fn header(&self) -> &Header {
                &self.header
            }
        }
    )*};
}

stage_message!(
    AdvertiseKeys => Stage::AdvertiseKeys,
    ShareKeys => Stage::ShareKeys,
    MaskedInput => Stage::MaskedInput,
    UnmaskShares => Stage::Unmask,
);
