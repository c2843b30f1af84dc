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

use std::collections::{BTreeMap, BTreeSet};

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use rayon::prelude::*;
use zeroize::{Zeroize as _, Zeroizing};

use super::fixed_point::Width;
use super::keys::{
    ClientSecret, ROUNDING_INFO, SecretKey, SelfMaskSeed, hkdf32, pairwise_info, share_key_info,
};
use super::messages::{
    AdvertiseKeys, ENCRYPTED_SHARE_LEN, EncryptedShare, MaskedInput, RevealedShare, ShareKeys,
    Stage, UnmaskShares,
};
use super::params::SecAggParams;
use super::prg::{MaskTerm, MaskWord, apply_masks_init};
use super::shamir::{self, SHARE_LEN, SecretShare, ShareKind};
use super::view::{self, Exclusions};
use super::words_to_le_bytes;
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
pub(super) struct HeldShares {
    pub(super) self_mask: SecretShare,
    pub(super) mask_key: SecretShare,
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
    /// Seeds the ChaCha20 generator of this client's Shamir coefficients: independent
    /// of the self-mask seed, which is rebuilt in public when the client survives.
    dealer_seed: Zeroizing<[u8; 32]>,
    cipher_publics: BTreeMap<u32, [u8; 32]>,
    mask_publics: BTreeMap<u32, [u8; 32]>,
    shared: Vec<u32>,
    pub(super) held: BTreeMap<u32, HeldShares>,
}

/// The AEAD for the shares `sender` encrypts to `recipient`. `me` is the local end's
/// cipher key (the sender's when encrypting, the recipient's when decrypting), `peer`
/// and `peer_public` the other end's index and advertised cipher key. Both indices go
/// into the HKDF info ([`share_key_info`]), so the two directions of a pair never share
/// a keystream or a Poly1305 key.
fn share_cipher(
    me: &SecretKey,
    peer_public: &[u8; 32],
    peer: u32,
    context: &[u8; 32],
    (sender, recipient): (u32, u32),
) -> Result<ChaCha20Poly1305> {
    let key = me.derive(
        peer_public,
        peer,
        context,
        &share_key_info(sender, recipient),
    )?;
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
            super::keys::fresh_bytes(),
        )
    }

    /// Joins the round as client `index` with keys and self-mask seed derived from
    /// `secret` and the round's context (HKDF-SHA256, one label per key), instead of
    /// fresh ones. The same secret in the same round gives the same client, so a
    /// process that crashed can rebuild its state by replaying the round's published
    /// messages; different rounds, subgroups or tasks give unrelated keys.
    ///
    /// Replaying [`Participant::share_keys`] after a restart returns the same
    /// [`ShareKeys`], byte for byte: the Shamir coefficients come from the secret too.
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
            secret.derive(&context, index, b"shamir-dealer"),
        )
    }

    fn with_keys(
        params: SecAggParams,
        index: u32,
        cipher_key: SecretKey,
        mask_key: SecretKey,
        self_seed: SelfMaskSeed,
        dealer_seed: Zeroizing<[u8; 32]>,
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
            dealer_seed,
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
    /// and mask key among the neighbours and encrypts each neighbour's shares to it,
    /// with a public commitment to each share. Advertisements that break the rules of
    /// [`super::view`] (copied or small-order keys, two from one sender, mis-bound) are
    /// left out, as every other party leaves them out: their senders are dropped.
    ///
    /// # Errors
    /// [`Error::StageOrder`]; [`Error::BadSender`] when this client's own advertisement
    /// is missing, altered or excluded; [`Error::TooFewSurvivors`] when fewer than
    /// `threshold` neighbours' advertisements count.
    pub fn share_keys(&mut self, adverts: &[AdvertiseKeys]) -> Result<ShareKeys> {
        self.expect(ParticipantStage::Advertised, "share keys")?;
        let mut excluded = Exclusions::default();
        let u1 = view::advertised(&self.params, adverts, &mut excluded);
        let own = u1.get(&self.index).ok_or_else(|| Error::BadSender {
            sender: self.index,
            reason: "this client's own advertisement is missing or excluded".into(),
        })?;
        if own.cipher_public != self.cipher_key.public()
            || own.mask_public != self.mask_key.public()
        {
            return Err(Error::BadSender {
                sender: self.index,
                reason: "this client's advertisement was altered".into(),
            });
        }
        let neighbours = self.neighbours_of_me();
        let present = neighbours.iter().filter(|j| u1.contains_key(j)).count();
        if (present as u32) < self.params.threshold {
            return Err(Error::TooFewSurvivors {
                survivors: present,
                threshold: self.params.threshold,
            });
        }
        let k = neighbours.len() as u32;
        let t = self.params.threshold;
        // Coefficients from the client's own dealer seed: a client rebuilt from its
        // secret after a restart deals the same shares again.
        let mut dealer = shamir::Dealer::from_seed(&self.dealer_seed);
        let seed_shares = dealer.split(self.self_seed.bytes(), t, k)?;
        let key_shares = dealer.split(&self.mask_key.to_bytes(), t, k)?;
        let mut shares = Vec::with_capacity(present);
        for (pos, &j) in neighbours.iter().enumerate() {
            let Some(advert) = u1.get(&j) else {
                continue;
            };
            let (Some(a), Some(b)) = (seed_shares.get(pos), key_shares.get(pos)) else {
                continue;
            };
            let (a, b) = (Zeroizing::new(a.to_bytes()), Zeroizing::new(b.to_bytes()));
            let mut plaintext = Zeroizing::new(Vec::with_capacity(2 * SHARE_LEN));
            plaintext.extend_from_slice(a.as_ref());
            plaintext.extend_from_slice(b.as_ref());
            let cipher = share_cipher(
                &self.cipher_key,
                &advert.cipher_public,
                j,
                &self.context,
                (self.index, j),
            )?;
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
                commitments: [
                    shamir::commit(&self.context, self.index, j, ShareKind::SelfMask, &a),
                    shamir::commit(&self.context, self.index, j, ShareKind::MaskKey, &b),
                ],
            });
        }
        for (&j, a) in &u1 {
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
    /// The input is masked against every neighbour whose share message counts (the
    /// public rules of [`super::view`]), as that neighbour masks against this client. A
    /// neighbour whose share to this client does not decrypt, or does not match its
    /// public commitment, costs only itself: this client holds no share of it and so
    /// cannot help rebuild its secrets.
    ///
    /// # Errors
    /// [`Error::StageOrder`]; [`Error::WrongLength`] for an update of the wrong length;
    /// [`Error::FixedPoint`] for NaN/infinite values or a bad weight;
    /// [`Error::BadSender`] when this client's own share message is missing or
    /// excluded; [`Error::TooFewSurvivors`] when fewer than `threshold` neighbours'
    /// share messages count (this client's secrets could not be rebuilt).
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
        let u1: BTreeSet<u32> = self.mask_publics.keys().copied().collect();
        let u2 = view::shared(
            &self.params,
            &self.graph,
            &u1,
            share_msgs,
            &mut Exclusions::default(),
        );
        if !u2.contains_key(&self.index) {
            return Err(Error::BadSender {
                sender: self.index,
                reason: "this client's own share message is missing or excluded".into(),
            });
        }
        let from_neighbours: Vec<(u32, &ShareKeys)> = self
            .neighbours_of_me()
            .into_iter()
            .filter_map(|j| u2.get(&j).map(|m| (j, *m)))
            .collect();
        if (from_neighbours.len() as u32) < self.params.threshold {
            return Err(Error::TooFewSurvivors {
                survivors: from_neighbours.len(),
                threshold: self.params.threshold,
            });
        }
        // Decrypt in parallel; a share that fails is simply not held.
        let opened: Vec<Option<HeldShares>> = from_neighbours
            .par_iter()
            .map(|&(j, msg)| self.open_share(j, msg).ok())
            .collect();
        let mut held = BTreeMap::new();
        for ((j, _), shares) in from_neighbours.iter().zip(opened) {
            if let Some(shares) = shares {
                held.insert(*j, shares);
            }
        }
        let maskers: Vec<u32> = from_neighbours.iter().map(|(j, _)| *j).collect();
        let words = match self.params.width()? {
            Width::W32 => self.masked_words::<u32>(update, weight, &maskers, rounding_seed)?,
            Width::W64 => self.masked_words::<u64>(update, weight, &maskers, rounding_seed)?,
        };
        self.held = held;
        self.shared = u2.keys().copied().collect();
        self.stage = ParticipantStage::Masked;
        Ok(MaskedInput {
            header: self.params.header(self.index, Stage::MaskedInput),
            width: self.params.width()?,
            words,
        })
    }

    /// Opens neighbour `j`'s share entry for this client: decrypts it and checks both
    /// shares against the evaluation point and the public commitments.
    pub(super) fn open_share(&self, j: u32, msg: &ShareKeys) -> Result<HeldShares> {
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
        let cipher = share_cipher(&self.cipher_key, public, j, &self.context, (j, self.index))?;
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
        let committed = |kind: ShareKind, share: &[u8; SHARE_LEN]| {
            entry.commitments.get(kind as usize)
                == Some(&shamir::commit(&self.context, j, self.index, kind, share))
        };
        let ok = committed(ShareKind::SelfMask, &a) && committed(ShareKind::MaskKey, &b);
        let held = HeldShares {
            self_mask: SecretShare::from_bytes(a),
            mask_key: SecretShare::from_bytes(b),
        };
        a.zeroize();
        b.zeroize();
        let x = share_x(self.my_neighbours(), j, self.index);
        if !ok || x != Some(held.self_mask.x()) || x != Some(held.mask_key.x()) {
            return Err(Error::BadSender {
                sender: j,
                reason: "share at the wrong evaluation point or not the committed one".into(),
            });
        }
        Ok(held)
    }

    fn masked_words<W: MaskWord>(
        &self,
        update: &[f32],
        weight: u64,
        maskers: &[u32],
        rounding_seed: &[u8; 32],
    ) -> Result<Vec<u8>> {
        let fp = &self.params.fixed_point;
        fp.check_input::<W>(update, weight)?;
        let self_seed = self.self_seed.mask_seed(&self.context);
        let seeds = maskers
            .par_iter()
            .copied()
            .map(|j| {
                let public = self.mask_publics.get(&j).ok_or_else(|| Error::BadSender {
                    sender: j,
                    reason: "no advertised key".into(),
                })?;
                Ok((
                    j,
                    self.mask_key.derive(
                        public,
                        j,
                        &self.context,
                        &pairwise_info(self.index, j),
                    )?,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Known plaintext: the same plaintext sent both ways over one pair must give
    /// unrelated ciphertexts. With one key and nonce for both directions they were equal,
    /// so `ct(i→j) ⊕ ct(j→i)` was `p(i→j) ⊕ p(j→i)` for any plaintexts (review, hole 1).
    #[test]
    fn the_two_directions_of_a_pair_use_independent_keystreams() {
        let context = [7u8; 32];
        let (a, b) = (SecretKey::generate(), SecretKey::generate());
        let plain = [0x42u8; 2 * SHARE_LEN];
        let seal = |me: &SecretKey, peer_public: &[u8; 32], dir: (u32, u32)| {
            share_cipher(me, peer_public, 0, &context, dir)
                .unwrap()
                .encrypt(&Default::default(), &plain[..])
                .unwrap()
        };
        let a_to_b = seal(&a, &b.public(), (0, 1));
        let b_to_a = seal(&b, &a.public(), (1, 0));
        assert_eq!(a_to_b.len(), ENCRYPTED_SHARE_LEN);
        let same_keystream = a_to_b
            .iter()
            .zip(&b_to_a)
            .take(2 * SHARE_LEN)
            .filter(|(x, y)| x == y)
            .count();
        // Independent keystreams agree on about 1 byte in 256 by chance.
        assert!(
            same_keystream < 8,
            "{same_keystream} equal ciphertext bytes"
        );
        assert_ne!(
            a_to_b[2 * SHARE_LEN..],
            b_to_a[2 * SHARE_LEN..],
            "Poly1305 tags"
        );
        // Each end derives the same key for one direction, and only that direction's
        // ciphertext opens under it.
        let b_opens = |ct: &[u8], dir| {
            share_cipher(&b, &a.public(), 0, &context, dir)
                .unwrap()
                .decrypt(&Default::default(), ct)
        };
        assert_eq!(b_opens(&a_to_b, (0, 1)).unwrap(), plain);
        assert!(b_opens(&a_to_b, (1, 0)).is_err());
        assert!(b_opens(&b_to_a, (0, 1)).is_err());
    }
}
