//! The Participant's side of a round: advertise keys, share keys, **mask** the update,
//! reveal shares for unmasking (Bonawitz et al. 2017, §4, with SecAgg+ neighbours).
//!
//! ```text
//! y_i = encode(x_i, w_i) + PRG(b_i) + Σ_{j ∈ N(i) ∩ U2, j > i} PRG(s_ij)
//!                                   - Σ_{j ∈ N(i) ∩ U2, j < i} PRG(s_ij)      (mod 2^b)
//! ```
//!
//! `b_i` is a fresh self-mask seed, `s_ij` the HKDF of the X25519 agreement of the mask
//! keys of `i` and `j` (equal for both), `U2` the clients that shared keys. A
//! [`Participant`] moves through the stages once, in order; calling a stage twice or out
//! of order is [`Error::StageOrder`], which is also what makes it reveal at most once
//! per round: never a self-mask share *and* a key share of the same neighbour.

use std::collections::BTreeMap;

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::fixed_point::Width;
use super::keys::{
    ClientSecret, PAIRWISE_INFO, ROUNDING_INFO, SHARE_KEY_INFO, SecretKey, SelfMaskSeed, hkdf32,
};
use super::messages::{
    AdvertiseKeys, ENCRYPTED_SHARE_LEN, EncryptedShare, MaskedInput, RevealedShare, ShareKeys,
    Stage, UnmaskShares,
};
use super::params::SecAggParams;
use super::prg::{MaskTerm, MaskWord, apply_masks_init};
use super::shamir::{self, SHARE_LEN, SecretShare};
use super::{by_sender, words_to_le_bytes};
use crate::types::Digest32;
use crate::{Error, Result};

/// Where a [`Participant`] is in the round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantStage {
    /// Keys advertised; next: [`Participant::share_keys`].
    Advertised,
    /// Shares sent; next: [`Participant::mask`].
    Shared,
    /// Masked input sent; next: [`Participant::unmask`].
    Masked,
    /// Shares revealed; the round is over for this client.
    Revealed,
}

impl ParticipantStage {
    fn name(self) -> &'static str {
        match self {
            ParticipantStage::Advertised => "advertised",
            ParticipantStage::Shared => "shared",
            ParticipantStage::Masked => "masked",
            ParticipantStage::Revealed => "revealed",
        }
    }
}

/// Shares of one neighbour's secrets, held for the unmask stage.
struct HeldShares {
    self_mask: SecretShare,
    mask_key: SecretShare,
}

/// One client of a subgroup's round. Holds secrets: no `Clone`, `Debug` or serde, and
/// every secret is zeroized when it is dropped.
pub struct Participant {
    params: SecAggParams,
    index: u32,
    graph: Vec<Vec<u32>>,
    context: [u8; 32],
    stage: ParticipantStage,
    cipher_key: SecretKey,
    mask_key: SecretKey,
    self_seed: SelfMaskSeed,
    cipher_publics: BTreeMap<u32, [u8; 32]>,
    mask_publics: BTreeMap<u32, [u8; 32]>,
    shared: Vec<u32>,
    held: BTreeMap<u32, HeldShares>,
}

/// The AEAD key between `me` and `peer` for share encryption.
fn share_cipher(
    me: &SecretKey,
    peer_public: &[u8; 32],
    peer: u32,
    context: &[u8; 32],
) -> Result<ChaCha20Poly1305> {
    let key = me.derive(peer_public, peer, context, SHARE_KEY_INFO)?;
    ChaCha20Poly1305::new_from_slice(key.as_ref())
        .map_err(|_| Error::SecAggParams("AEAD key of the wrong length".into()))
}

/// The Shamir point (1-based) `holder` gets among `owner`'s neighbours.
pub(crate) fn share_x(graph: &[Vec<u32>], owner: u32, holder: u32) -> Option<u8> {
    let pos = graph
        .get(owner as usize)?
        .iter()
        .position(|&j| j == holder)?;
    u8::try_from(pos + 1).ok()
}

impl Participant {
    /// Joins the round as client `index`: fresh keys and self-mask seed; returns the
    /// stage-0 message to publish.
    ///
    /// # Errors
    /// [`Error::SecAggParams`] / [`Error::FixedPoint`] for invalid parameters,
    /// [`Error::BadSender`] for an index outside the subgroup.
    pub fn new(params: SecAggParams, index: u32) -> Result<(Self, AdvertiseKeys)> {
        Self::with_keys(
            params,
            index,
            SecretKey::generate(),
            SecretKey::generate(),
            SelfMaskSeed::generate(),
        )
    }

    /// Joins the round as client `index` with keys and self-mask seed derived from
    /// `secret` and the round's context (HKDF-SHA256, one label per key), instead of
    /// fresh ones. The same secret in the same round gives the same client, so a
    /// process that crashed can rebuild its state by replaying the round's published
    /// messages; different rounds, subgroups or tasks give unrelated keys.
    ///
    /// Replaying [`Participant::share_keys`] draws new Shamir polynomials: publish only
    /// the first [`ShareKeys`] of a round, never a second one.
    ///
    /// # Errors
    /// As [`Participant::new`].
    pub fn from_secret(
        params: SecAggParams,
        index: u32,
        secret: &ClientSecret,
    ) -> Result<(Self, AdvertiseKeys)> {
        let context = params.context();
        let cipher = secret.derive(&context, index, b"cipher");
        let mask = secret.derive(&context, index, b"mask");
        let seed = secret.derive(&context, index, b"self-mask");
        Self::with_keys(
            params,
            index,
            SecretKey::from_bytes(*cipher),
            SecretKey::from_bytes(*mask),
            SelfMaskSeed::from_bytes(*seed),
        )
    }

    fn with_keys(
        params: SecAggParams,
        index: u32,
        cipher_key: SecretKey,
        mask_key: SecretKey,
        self_seed: SelfMaskSeed,
    ) -> Result<(Self, AdvertiseKeys)> {
        params.validate()?;
        if index >= params.clients {
            return Err(Error::BadSender {
                sender: index,
                reason: format!("no client {index} in a subgroup of {}", params.clients),
            });
        }
        let me = Self {
            graph: params.graph()?,
            context: params.context(),
            params,
            index,
            stage: ParticipantStage::Advertised,
            cipher_key,
            mask_key,
            self_seed,
            cipher_publics: BTreeMap::new(),
            mask_publics: BTreeMap::new(),
            shared: Vec::new(),
            held: BTreeMap::new(),
        };
        let advert = AdvertiseKeys {
            header: me.params.header(index, Stage::AdvertiseKeys),
            cipher_public: me.cipher_key.public(),
            mask_public: me.mask_key.public(),
        };
        Ok((me, advert))
    }

    /// This client's index in the subgroup.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Where the client is in the round.
    pub fn stage(&self) -> ParticipantStage {
        self.stage
    }

    fn expect(&self, stage: ParticipantStage, attempted: &'static str) -> Result<()> {
        if self.stage == stage {
            Ok(())
        } else {
            Err(Error::StageOrder {
                current: self.stage.name(),
                attempted,
            })
        }
    }

    fn my_neighbours(&self) -> &[Vec<u32>] {
        &self.graph
    }

    fn neighbours_of_me(&self) -> Vec<u32> {
        self.graph
            .get(self.index as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// Stage 1: given every advertisement published, Shamir-shares the self-mask seed
    /// and mask key among the neighbours and encrypts each neighbour's shares to it.
    ///
    /// # Errors
    /// [`Error::StageOrder`], [`Error::WrongBinding`] / [`Error::BadSender`] for a
    /// replayed, misdirected, duplicate or altered advertisement,
    /// [`Error::TooFewSurvivors`] when fewer than `threshold` neighbours advertised.
    pub fn share_keys(&mut self, adverts: &[AdvertiseKeys]) -> Result<ShareKeys> {
        self.expect(ParticipantStage::Advertised, "share keys")?;
        let adverts = by_sender(&self.params, adverts, Stage::AdvertiseKeys, |a| &a.header)?;
        let own = adverts.get(&self.index).ok_or_else(|| Error::BadSender {
            sender: self.index,
            reason: "this client's own advertisement is missing".into(),
        })?;
        if own.cipher_public != self.cipher_key.public()
            || own.mask_public != self.mask_key.public()
        {
            return Err(Error::BadSender {
                sender: self.index,
                reason: "this client's advertisement was altered".into(),
            });
        }
        super::reject_duplicate_keys(&adverts)?;
        let neighbours = self.neighbours_of_me();
        let present: Vec<u32> = neighbours
            .iter()
            .copied()
            .filter(|j| adverts.contains_key(j))
            .collect();
        if (present.len() as u32) < self.params.threshold {
            return Err(Error::TooFewSurvivors {
                survivors: present.len(),
                threshold: self.params.threshold,
            });
        }
        let k = neighbours.len() as u32;
        let t = self.params.threshold;
        let seed_shares = shamir::split(self.self_seed.bytes(), t, k)?;
        let key_shares = shamir::split(&self.mask_key.to_bytes(), t, k)?;
        let mut shares = Vec::with_capacity(present.len());
        for (pos, &j) in neighbours.iter().enumerate() {
            let Some(advert) = adverts.get(&j) else {
                continue;
            };
            let (Some(a), Some(b)) = (seed_shares.get(pos), key_shares.get(pos)) else {
                continue;
            };
            let mut plaintext = Zeroizing::new(Vec::with_capacity(2 * SHARE_LEN));
            plaintext.extend_from_slice(&a.to_bytes());
            plaintext.extend_from_slice(&b.to_bytes());
            let cipher = share_cipher(&self.cipher_key, &advert.cipher_public, j, &self.context)?;
            let aad = self.params.share_aad(self.index, j);
            let ciphertext = cipher
                .encrypt(
                    &Default::default(),
                    Payload {
                        msg: plaintext.as_slice(),
                        aad: &aad,
                    },
                )
                .map_err(|_| Error::SecAggParams("share encryption failed".into()))?;
            shares.push(EncryptedShare {
                recipient: j,
                ciphertext,
            });
        }
        for (&j, a) in &adverts {
            self.cipher_publics.insert(j, a.cipher_public);
            self.mask_publics.insert(j, a.mask_public);
        }
        self.stage = ParticipantStage::Shared;
        Ok(ShareKeys {
            header: self.params.header(self.index, Stage::ShareKeys),
            self_mask_commitment: Digest32(self.self_seed.commitment()),
            shares,
        })
    }

    /// Stage 2: given every share message published, keeps the shares addressed to this
    /// client and returns the masked input for `update` with `weight` (sample count).
    ///
    /// # Errors
    /// [`Error::StageOrder`]; [`Error::WrongLength`] for an update of the wrong length;
    /// [`Error::FixedPoint`] for NaN/infinite values or a bad weight; [`Error::Decryption`]
    /// for a share that fails authentication (forged or tampered);
    /// [`Error::BadSender`] / [`Error::WrongBinding`] for malformed or misdirected
    /// messages; [`Error::TooFewSurvivors`] when fewer than `threshold` neighbours shared.
    pub fn mask(
        &mut self,
        update: &[f32],
        weight: u64,
        share_msgs: &[ShareKeys],
    ) -> Result<MaskedInput> {
        let rounding = hkdf32(&self.context, self.self_seed.bytes(), ROUNDING_INFO);
        self.mask_with_rounding_seed(update, weight, share_msgs, &rounding)
    }

    /// [`Participant::mask`] with the stochastic-rounding seed given by the caller
    /// instead of derived from the client's secret seed, so the fixed-point encoding
    /// can be reproduced outside ([`super::FixedPoint::encode`] with the same seed).
    ///
    /// # Errors
    /// As [`Participant::mask`].
    pub fn mask_with_rounding_seed(
        &mut self,
        update: &[f32],
        weight: u64,
        share_msgs: &[ShareKeys],
        rounding_seed: &[u8; 32],
    ) -> Result<MaskedInput> {
        self.expect(ParticipantStage::Shared, "mask an update")?;
        if update.len() != self.params.vector_len as usize {
            return Err(Error::WrongLength {
                what: "update",
                sender: self.index,
                expected: u64::from(self.params.vector_len),
                found: update.len() as u64,
            });
        }
        let msgs = by_sender(&self.params, share_msgs, Stage::ShareKeys, |m| &m.header)?;
        if !msgs.contains_key(&self.index) {
            return Err(Error::BadSender {
                sender: self.index,
                reason: "this client's own share message is missing".into(),
            });
        }
        let mine = self.neighbours_of_me();
        let mut from_neighbours = Vec::new();
        for (&j, msg) in &msgs {
            if !self.mask_publics.contains_key(&j) {
                return Err(Error::BadSender {
                    sender: j,
                    reason: "shared keys without advertising".into(),
                });
            }
            if j != self.index && mine.contains(&j) {
                from_neighbours.push((j, *msg));
            }
        }
        // Decrypt in parallel; report the first failure in sender order.
        let opened: Vec<Result<HeldShares>> = from_neighbours
            .par_iter()
            .map(|&(j, msg)| self.open_share(j, msg))
            .collect();
        let mut held = BTreeMap::new();
        for ((j, _), shares) in from_neighbours.iter().zip(opened) {
            held.insert(*j, shares?);
        }
        let shared: Vec<u32> = msgs.keys().copied().collect();
        if (held.len() as u32) < self.params.threshold {
            return Err(Error::TooFewSurvivors {
                survivors: held.len(),
                threshold: self.params.threshold,
            });
        }
        let words = match self.params.width()? {
            Width::W32 => self.masked_words::<u32>(update, weight, &held, rounding_seed)?,
            Width::W64 => self.masked_words::<u64>(update, weight, &held, rounding_seed)?,
        };
        self.held = held;
        self.shared = shared;
        self.stage = ParticipantStage::Masked;
        Ok(MaskedInput {
            header: self.params.header(self.index, Stage::MaskedInput),
            width: self.params.width()?,
            words,
        })
    }

    fn open_share(&self, j: u32, msg: &ShareKeys) -> Result<HeldShares> {
        let mut mine = msg.shares.iter().filter(|s| s.recipient == self.index);
        let entry = mine.next().ok_or_else(|| Error::BadSender {
            sender: j,
            reason: format!("no share for neighbour {}", self.index),
        })?;
        if mine.next().is_some() {
            return Err(Error::BadSender {
                sender: j,
                reason: format!("two shares for client {}", self.index),
            });
        }
        if entry.ciphertext.len() != ENCRYPTED_SHARE_LEN {
            return Err(Error::WrongLength {
                what: "encrypted share",
                sender: j,
                expected: ENCRYPTED_SHARE_LEN as u64,
                found: entry.ciphertext.len() as u64,
            });
        }
        let public = self
            .cipher_publics
            .get(&j)
            .ok_or_else(|| Error::BadSender {
                sender: j,
                reason: "no advertised key".into(),
            })?;
        let cipher = share_cipher(&self.cipher_key, public, j, &self.context)?;
        let aad = self.params.share_aad(j, self.index);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &Default::default(),
                    Payload {
                        msg: &entry.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| Error::Decryption {
                    sender: j,
                    recipient: self.index,
                })?,
        );
        let mut a = [0u8; SHARE_LEN];
        let mut b = [0u8; SHARE_LEN];
        a.copy_from_slice(plain.get(..SHARE_LEN).unwrap_or(&[0; SHARE_LEN]));
        b.copy_from_slice(plain.get(SHARE_LEN..).unwrap_or(&[0; SHARE_LEN]));
        let held = HeldShares {
            self_mask: SecretShare::from_bytes(a),
            mask_key: SecretShare::from_bytes(b),
        };
        let x = share_x(self.my_neighbours(), j, self.index);
        if x != Some(held.self_mask.x()) || x != Some(held.mask_key.x()) {
            return Err(Error::BadSender {
                sender: j,
                reason: "share at the wrong evaluation point".into(),
            });
        }
        Ok(held)
    }

    fn masked_words<W: MaskWord>(
        &self,
        update: &[f32],
        weight: u64,
        held: &BTreeMap<u32, HeldShares>,
        rounding_seed: &[u8; 32],
    ) -> Result<Vec<u8>> {
        let fp = &self.params.fixed_point;
        fp.check_input::<W>(update, weight)?;
        let self_seed = self.self_seed.mask_seed(&self.context);
        let neighbours: Vec<u32> = held.keys().copied().collect();
        let seeds = neighbours
            .into_par_iter()
            .map(|j| {
                let public = self.mask_publics.get(&j).ok_or_else(|| Error::BadSender {
                    sender: j,
                    reason: "no advertised key".into(),
                })?;
                Ok((
                    j,
                    self.mask_key
                        .derive(public, j, &self.context, PAIRWISE_INFO)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut terms = vec![MaskTerm {
            seed: &self_seed,
            subtract: false,
        }];
        terms.extend(seeds.iter().map(|(j, s)| MaskTerm {
            seed: s,
            subtract: *j < self.index,
        }));
        let mut words = vec![W::default(); update.len() + 1];
        apply_masks_init(&mut words, &terms, |start, chunk| {
            fp.encode_chunk(update, weight, rounding_seed, start, chunk);
        });
        Ok(words_to_le_bytes(&words))
    }

    /// Stage 3: reveals, for each neighbour that shared keys, its self-mask share if it
    /// is among `survivors` and its mask-key share otherwise. Once per round.
    ///
    /// # Errors
    /// [`Error::StageOrder`] if called before masking or a second time (which is how a
    /// client never reveals both secrets of a neighbour); [`Error::BadSender`] when
    /// `survivors` lists an unknown client or omits this one;
    /// [`Error::TooFewSurvivors`] below the threshold.
    pub fn unmask(&mut self, survivors: &[u32]) -> Result<UnmaskShares> {
        self.expect(ParticipantStage::Masked, "reveal shares")?;
        let mut sorted = survivors.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        if let Some(&stranger) = sorted
            .iter()
            .find(|s| self.shared.binary_search(s).is_err())
        {
            return Err(Error::BadSender {
                sender: stranger,
                reason: "listed as a survivor but never shared keys".into(),
            });
        }
        if sorted.binary_search(&self.index).is_err() {
            return Err(Error::BadSender {
                sender: self.index,
                reason: "this client is not among the survivors: a dropped client reveals nothing"
                    .into(),
            });
        }
        if (sorted.len() as u32) < self.params.threshold {
            return Err(Error::TooFewSurvivors {
                survivors: sorted.len(),
                threshold: self.params.threshold,
            });
        }
        let mut self_mask_shares = Vec::new();
        let mut key_shares = Vec::new();
        for (&j, held) in &self.held {
            if sorted.binary_search(&j).is_ok() {
                self_mask_shares.push(RevealedShare {
                    owner: j,
                    share: held.self_mask.to_bytes(),
                });
            } else {
                key_shares.push(RevealedShare {
                    owner: j,
                    share: held.mask_key.to_bytes(),
                });
            }
        }
        self.held.clear();
        self.stage = ParticipantStage::Revealed;
        Ok(UnmaskShares {
            header: self.params.header(self.index, Stage::Unmask),
            survivors: sorted,
            self_mask_shares,
            key_shares,
        })
    }
}
