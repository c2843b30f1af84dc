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
//! The sets follow the public rules of [`super::view`]: a client whose message breaks
//! them is excluded and treated as dropped, and named in the result. Every revealed
//! share is checked against the commitment its owner published for that holder
//! ([`super::shamir::commit`]); a share that does not match, or that reveals what must
//! stay hidden, is set aside and its revealer named. `b_i` is then rebuilt from the
//! first `t` checked self-mask shares in ascending holder order and checked against
//! `i`'s seed commitment; a dropped client's mask key likewise, checked against its
//! advertised public key. So honest Evaluators choose the same shares whatever the
//! message order. Fewer than `t` survivors, fewer than `t` checked shares of a needed
//! secret, or committed shares that do not rebuild the committed secret (a dealer that
//! cheated: named in the error) fail the round with a typed error rather than return a
//! wrong sum.

use std::collections::{BTreeMap, BTreeSet};

use super::fixed_point::{FixedPoint, Width};
use super::keys::{SecretKey, SelfMaskSeed, pairwise_info};
use super::mask::share_x;
use super::messages::{AdvertiseKeys, MaskedInput, RevealedShare, ShareKeys, Stage, UnmaskShares};
use super::params::SecAggParams;
use super::prg::{MaskTerm, MaskWord, add_le_vectors, apply_masks};
use super::shamir::{self, SecretShare, ShareKind};
use super::view::{self, Exclusion, ExclusionReason, Exclusions};
use super::{le_bytes_to_words, words_to_le_bytes};
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
    /// Clients that shared keys but sent no masked input that counts.
    pub dropped: Vec<u32>,
    /// Clients whose message was set aside at some stage, and why (sorted by sender,
    /// then stage).
    pub excluded: Vec<Exclusion>,
}

impl SubgroupSum {
    /// `SHA-256` of the words: the value Evaluators agree on.
    pub fn digest(&self) -> [u8; 32] {
        sha256(&self.words)
    }

    /// Checks the sum against the task's bounds ([`FixedPoint::check_sum`] for its
    /// survivors): Evaluators reject a sum that fails on chain (review hole 4).
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn check_bounds(&self, fixed_point: &FixedPoint) -> Result<()> {
        let clients = u32::try_from(self.survivors.len()).unwrap_or(u32::MAX);
        match self.width {
            Width::W32 => fixed_point.check_sum(&le_bytes_to_words::<u32>(&self.words), clients),
            Width::W64 => fixed_point.check_sum(&le_bytes_to_words::<u64>(&self.words), clients),
        }
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
/// [`Error::SecAggParams`] / [`Error::FixedPoint`] for invalid parameters;
/// [`Error::TooFewSurvivors`]; [`Error::NotEnoughShares`] when fewer than `t` checked
/// shares of a needed secret were revealed; [`Error::ShareMismatch`] when a client's
/// committed shares rebuild another secret than it committed to (that client cheated).
/// Malformed, mis-bound, duplicated or out-of-order messages and wrong reveals are not
/// errors: they are excluded ([`SubgroupSum::excluded`]).
pub fn unmask(
    params: &SecAggParams,
    adverts: &[AdvertiseKeys],
    share_msgs: &[ShareKeys],
    masked: &[MaskedInput],
    reveals: &[UnmaskShares],
) -> Result<SubgroupSum> {
    unmask_excluding(params, adverts, share_msgs, masked, reveals, &[])
}

/// [`unmask`] for messages the transport already sifted: `excluded` names the senders
/// whose messages it set aside (undecodable bytes, a header claiming another sender
/// than the account that recorded it); they are reported with the others.
///
/// # Errors
/// As [`unmask`].
pub fn unmask_excluding(
    params: &SecAggParams,
    adverts: &[AdvertiseKeys],
    share_msgs: &[ShareKeys],
    masked: &[MaskedInput],
    reveals: &[UnmaskShares],
    excluded: &[Exclusion],
) -> Result<SubgroupSum> {
    params.validate()?;
    let t = params.threshold;
    let graph = params.graph()?;
    let context = params.context();
    let width = params.width()?;

    let mut out = Exclusions::default();
    out.extend(excluded.iter().copied());
    let u1 = view::advertised(params, adverts, &mut out);
    let u1_set: BTreeSet<u32> = u1.keys().copied().collect();
    let u2 = view::shared(params, &graph, &u1_set, share_msgs, &mut out);
    let u3 = view::survived(params, &u2, masked, &mut out)?;
    let survivors: Vec<u32> = u3.keys().copied().collect();
    if (survivors.len() as u32) < t {
        return Err(Error::TooFewSurvivors {
            survivors: survivors.len(),
            threshold: t,
        });
    }
    let dropped: Vec<u32> = u2.keys().copied().filter(|j| !u3.contains_key(j)).collect();
    let u4 = view::revealed(params, &u3, reveals, &mut out);

    // Every revealed share, checked against its owner's commitment for its holder.
    let mut seed_shares: BTreeMap<u32, Vec<RevealedShare>> = BTreeMap::new();
    let mut key_shares: BTreeMap<u32, Vec<RevealedShare>> = BTreeMap::new();
    for (&h, r) in &u4 {
        let mut wrong = false;
        for (list, kind) in [
            (&r.self_mask_shares, ShareKind::SelfMask),
            (&r.key_shares, ShareKind::MaskKey),
        ] {
            let mut owners = BTreeSet::new();
            for s in list {
                let j = s.owner;
                // A survivor's self mask or a dropped client's mask key, never the other.
                let allowed = match kind {
                    ShareKind::SelfMask => u3.contains_key(&j),
                    ShareKind::MaskKey => u2.contains_key(&j) && !u3.contains_key(&j),
                };
                let committed = u2
                    .get(&j)
                    .and_then(|m| m.shares.iter().find(|e| e.recipient == h))
                    .and_then(|e| e.commitments.get(kind as usize));
                let valid = allowed
                    && owners.insert(j)
                    && share_x(&graph, j, h) == Some(s.share[0])
                    && committed == Some(&shamir::commit(&context, j, h, kind, &s.share));
                if !valid {
                    wrong = true;
                    continue;
                }
                let to = match kind {
                    ShareKind::SelfMask => &mut seed_shares,
                    ShareKind::MaskKey => &mut key_shares,
                };
                to.entry(j).or_default().push(*s);
            }
        }
        if wrong {
            // Its shares that match their commitments still count: each is checked.
            out.add(h, Stage::Unmask, ExclusionReason::BadReveal);
        }
    }

    // Holders were visited in ascending order: the first `t` checked shares.
    let combine = |owner: u32, secret: &'static str, shares: Option<&Vec<RevealedShare>>| {
        let shares = shares.map(Vec::as_slice).unwrap_or_default();
        if (shares.len() as u32) < t {
            return Err(Error::NotEnoughShares {
                owner,
                secret,
                have: shares.len(),
                need: t,
            });
        }
        let chosen: Vec<SecretShare> = shares
            .iter()
            .take(t as usize)
            .map(|s| SecretShare::from_bytes(s.share))
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
            pairwise.push((
                j > i,
                key.derive(&public, i, &context, &pairwise_info(i, j))?,
            ));
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
        excluded: out.into_sorted(),
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
