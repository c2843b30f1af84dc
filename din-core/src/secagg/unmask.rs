//! The Evaluator's side of a round: from the public messages alone, **unmask** the sum
//! of the survivors' updates. Every honest Evaluator of the subgroup runs this on the
//! same messages and gets the same bytes (paper §5.1 step 3: the contract accepts the
//! aggregate more than half of them submit).
//!
//! ```text
//! U1 ⊇ U2 ⊇ U3 ⊇ U4   advertised ⊇ shared keys ⊇ sent masked input (survivors) ⊇ revealed
//! sum = Σ_{i ∈ U3} y_i - Σ_{i ∈ U3} PRG(b_i)
//!       + Σ_{j ∈ U2 \ U3} Σ_{i ∈ N(j) ∩ U3} ±PRG(s_ij)          (mod 2^b)
//! ```
//!
//! `b_i` is rebuilt from `t` self-mask shares revealed by `i`'s neighbours and checked
//! against `i`'s commitment; a dropped client's mask key is rebuilt from `t` key shares
//! and checked against its advertised public key. For each client, shares come from
//! the lowest-indexed revealing neighbours, so the choice is deterministic. Fewer than
//! `t` survivors, or fewer than `t` shares of any needed secret, is a typed error: the
//! round fails rather than return a wrong sum.

use std::collections::{BTreeMap, BTreeSet};

use super::fixed_point::{FixedPoint, Width};
use super::keys::{PAIRWISE_INFO, SecretKey, SelfMaskSeed};
use super::mask::share_x;
use super::messages::{AdvertiseKeys, MaskedInput, RevealedShare, ShareKeys, Stage, UnmaskShares};
use super::params::SecAggParams;
use super::prg::{MaskTerm, MaskWord, add_le_vectors, apply_masks};
use super::shamir::{self, SecretShare};
use super::{by_sender, le_bytes_to_words, reject_duplicate_keys, words_to_le_bytes};
use crate::hash::sha256;
use crate::{Error, Result};

/// The unmasked sum of a subgroup: what Evaluators hash, compare and submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgroupSum {
    /// Word width.
    pub width: Width,
    /// `vector_len + 1` little-endian words: the weighted fixed-point sums, then the
    /// total weight.
    pub words: Vec<u8>,
    /// Clients whose updates are in the sum.
    pub survivors: Vec<u32>,
    /// Clients that shared keys but sent no masked input.
    pub dropped: Vec<u32>,
}

impl SubgroupSum {
    /// `SHA-256` of the words: the value Evaluators agree on.
    pub fn digest(&self) -> [u8; 32] {
        sha256(&self.words)
    }

    /// The weighted mean of the survivors' updates and their total weight.
    ///
    /// # Errors
    /// [`Error::FixedPoint`] for a zero total weight.
    pub fn mean(&self, fixed_point: &FixedPoint) -> Result<(Vec<f32>, u64)> {
        match self.width {
            Width::W32 => fixed_point.decode_mean(&le_bytes_to_words::<u32>(&self.words)),
            Width::W64 => fixed_point.decode_mean(&le_bytes_to_words::<u64>(&self.words)),
        }
    }
}

/// Unmasks the subgroup's sum from every message of the round.
///
/// # Errors
/// [`Error::WrongBinding`], [`Error::BadSender`], [`Error::WrongLength`] for replayed,
/// forged, misdirected, duplicate or wrong-length messages; [`Error::TooFewSurvivors`];
/// [`Error::NotEnoughShares`]; [`Error::ConflictingReveal`] when a client's self-mask
/// and key shares are both revealed; [`Error::ShareMismatch`] when a rebuilt secret
/// contradicts its commitment.
pub fn unmask(
    params: &SecAggParams,
    adverts: &[AdvertiseKeys],
    share_msgs: &[ShareKeys],
    masked: &[MaskedInput],
    reveals: &[UnmaskShares],
) -> Result<SubgroupSum> {
    params.validate()?;
    let t = params.threshold;
    let graph = params.graph()?;
    let context = params.context();
    let width = params.width()?;
    let words_len = (params.vector_len as usize + 1) * width.bytes();

    let u1 = by_sender(params, adverts, Stage::AdvertiseKeys, |m| &m.header)?;
    reject_duplicate_keys(&u1)?;
    let u2 = by_sender(params, share_msgs, Stage::ShareKeys, |m| &m.header)?;
    for &j in u2.keys() {
        if !u1.contains_key(&j) {
            return Err(Error::BadSender {
                sender: j,
                reason: "shared keys without advertising".into(),
            });
        }
    }
    let u3 = by_sender(params, masked, Stage::MaskedInput, |m| &m.header)?;
    for (&j, m) in &u3 {
        if !u2.contains_key(&j) {
            return Err(Error::BadSender {
                sender: j,
                reason: "sent a masked input without sharing keys".into(),
            });
        }
        if m.width != width {
            return Err(Error::WrongLength {
                what: "masked input word width",
                sender: j,
                expected: u64::from(width.bits()),
                found: u64::from(m.width.bits()),
            });
        }
        if m.words.len() != words_len {
            return Err(Error::WrongLength {
                what: "masked input",
                sender: j,
                expected: words_len as u64,
                found: m.words.len() as u64,
            });
        }
    }
    let survivors: Vec<u32> = u3.keys().copied().collect();
    if (survivors.len() as u32) < t {
        return Err(Error::TooFewSurvivors {
            survivors: survivors.len(),
            threshold: t,
        });
    }
    let dropped: Vec<u32> = u2.keys().copied().filter(|j| !u3.contains_key(j)).collect();
    let u4 = by_sender(params, reveals, Stage::Unmask, |m| &m.header)?;

    // Gather revealed shares per owner, checking every one is legitimate.
    let mut seed_shares: BTreeMap<u32, Vec<(u32, RevealedShare)>> = BTreeMap::new();
    let mut key_shares: BTreeMap<u32, Vec<(u32, RevealedShare)>> = BTreeMap::new();
    for (&h, r) in &u4 {
        if !u3.contains_key(&h) {
            return Err(Error::BadSender {
                sender: h,
                reason: "revealed shares without a masked input".into(),
            });
        }
        if r.survivors != survivors {
            return Err(Error::WrongBinding {
                sender: h,
                field: "survivor set",
                expected: format!("{survivors:?}"),
                found: format!("{:?}", r.survivors),
            });
        }
        for (list, is_seed, out) in [
            (&r.self_mask_shares, true, &mut seed_shares),
            (&r.key_shares, false, &mut key_shares),
        ] {
            let mut owners = BTreeSet::new();
            for s in list {
                let j = s.owner;
                if !owners.insert(j) {
                    return Err(Error::BadSender {
                        sender: h,
                        reason: format!("two shares for client {j}"),
                    });
                }
                if is_seed != u3.contains_key(&j) {
                    return Err(Error::ConflictingReveal { owner: j });
                }
                if !u2.contains_key(&j) || share_x(&graph, j, h) != Some(s.share[0]) {
                    return Err(Error::BadSender {
                        sender: h,
                        reason: format!("holds no share of client {j} at that point"),
                    });
                }
                out.entry(j).or_default().push((h, *s));
            }
        }
    }

    let combine = |owner: u32, secret: &'static str, shares: Option<&Vec<(u32, RevealedShare)>>| {
        let shares = shares.map(Vec::as_slice).unwrap_or_default();
        if (shares.len() as u32) < t {
            return Err(Error::NotEnoughShares {
                owner,
                secret,
                have: shares.len(),
                need: t,
            });
        }
        // BTreeMap iteration gave holders in ascending order: take the first t.
        let chosen: Vec<SecretShare> = shares
            .iter()
            .take(t as usize)
            .map(|(_, s)| SecretShare::from_bytes(s.share))
            .collect();
        shamir::combine(&chosen, t)
    };

    let mut self_seeds = Vec::with_capacity(survivors.len());
    for &i in &survivors {
        let bytes = combine(i, "self-mask seed", seed_shares.get(&i))?;
        let seed = SelfMaskSeed::from_bytes(*bytes);
        let committed = u2.get(&i).map(|m| m.self_mask_commitment.0);
        if committed != Some(seed.commitment()) {
            return Err(Error::ShareMismatch {
                owner: i,
                secret: "self-mask seed",
            });
        }
        self_seeds.push(seed.mask_seed(&context));
    }
    let mut pairwise = Vec::new();
    for &j in &dropped {
        let needed: Vec<u32> = graph
            .get(j as usize)
            .map(|ns| ns.iter().copied().filter(|i| u3.contains_key(i)).collect())
            .unwrap_or_default();
        if needed.is_empty() {
            continue;
        }
        let key = SecretKey::from_bytes(*combine(j, "mask key", key_shares.get(&j))?);
        if u1.get(&j).map(|a| a.mask_public) != Some(key.public()) {
            return Err(Error::ShareMismatch {
                owner: j,
                secret: "mask key",
            });
        }
        for i in needed {
            let public = u1.get(&i).map(|a| a.mask_public).unwrap_or_default();
            // Survivor i added +PRG(s_ij) if j > i, -PRG(s_ij) if j < i: undo it.
            pairwise.push((j > i, key.derive(&public, i, &context, PAIRWISE_INFO)?));
        }
    }
    let inputs: Vec<&[u8]> = survivors
        .iter()
        .filter_map(|i| u3.get(i).map(|m| m.words.as_slice()))
        .collect();
    let words = match width {
        Width::W32 => sum_and_unmask::<u32>(&inputs, &self_seeds, &pairwise, params),
        Width::W64 => sum_and_unmask::<u64>(&inputs, &self_seeds, &pairwise, params),
    };
    Ok(SubgroupSum {
        width,
        words,
        survivors,
        dropped,
    })
}

fn sum_and_unmask<W: MaskWord>(
    inputs: &[&[u8]],
    self_seeds: &[zeroize::Zeroizing<[u8; 32]>],
    pairwise: &[(bool, zeroize::Zeroizing<[u8; 32]>)],
    params: &SecAggParams,
) -> Vec<u8> {
    let mut acc = vec![W::default(); params.vector_len as usize + 1];
    add_le_vectors(&mut acc, inputs);
    let mut terms: Vec<MaskTerm<'_>> = self_seeds
        .iter()
        .map(|s| MaskTerm {
            seed: s,
            subtract: true,
        })
        .collect();
    terms.extend(pairwise.iter().map(|(subtract, s)| MaskTerm {
        seed: s,
        subtract: *subtract,
    }));
    apply_masks(&mut acc, &terms);
    words_to_le_bytes(&acc)
}
