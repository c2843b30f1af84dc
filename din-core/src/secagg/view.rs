//! Who counts at each stage of a round, decided from the published messages alone by one
//! public rule, so that every Participant and every Evaluator draws the same sets:
//!
//! | set | who | rule |
//! |---|---|---|
//! | `U1` | advertised | one well-bound advertisement, both keys canonical and of full order |
//! | `U2` | shared keys | in `U1`, one well-bound share message with exactly one well-formed entry per neighbour in `U1` |
//! | `U3` | survivors | in `U2`, one well-bound masked input of the round's width and length |
//!
//! A client that breaks a rule is **excluded** at that stage and treated as dropped from
//! it on: its misbehaviour costs only itself (review of the secure aggregation, hole 3).
//! Each exclusion is named with a reason code ([`Exclusion`]) in the Evaluators' output,
//! so it can be shown to others and, where provable, penalized. A share that does not
//! decrypt or does not match its public commitment is a private matter between its
//! sender and recipient: the recipient simply holds no share of that sender (see
//! [`super::mask`]), and the public sets do not change.
//!
//! Transport binding (the sender a message claims must be the account that recorded it
//! on chain) is checked where the transport is known: `din`'s round layer drops
//! mis-bound or undecodable messages before they reach these rules and passes them in as
//! exclusions ([`super::unmask_excluding`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::messages::{
    AdvertiseKeys, ENCRYPTED_SHARE_LEN, Header, MaskedInput, ShareKeys, Stage, UnmaskShares,
};
use super::params::SecAggParams;
use crate::encoding::{Canonical, Reader, Writer};
use crate::{Error, Result};

/// Why a client's message was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// The bytes behind the message's CID are not a message of its stage.
    Undecodable,
    /// The header names another task, round, subgroup or stage than the one the message
    /// was recorded for, or another sender than the account that recorded it (checked by
    /// `din` against the chain).
    Misbound,
    /// Two messages from one sender at one stage.
    Duplicate,
    /// No counted message at the previous stage.
    OutOfOrder,
    /// A public key of small order, or not canonically encoded.
    BadKey,
    /// Wrong shape: share entries not exactly one per neighbour, wrong lengths or width.
    Malformed,
    /// A reveal for another survivor set than the round's.
    WrongSurvivors,
    /// A revealed share that is not the one its owner committed to for this holder, or
    /// of the secret that must stay hidden (a survivor's mask key, a dropped client's
    /// self-mask seed).
    BadReveal,
}

impl ExclusionReason {
    const ALL: [ExclusionReason; 8] = [
        ExclusionReason::Undecodable,
        ExclusionReason::Misbound,
        ExclusionReason::Duplicate,
        ExclusionReason::OutOfOrder,
        ExclusionReason::BadKey,
        ExclusionReason::Malformed,
        ExclusionReason::WrongSurvivors,
        ExclusionReason::BadReveal,
    ];

    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            ExclusionReason::Undecodable => "undecodable message",
            ExclusionReason::Misbound => {
                "message bound to another task, round, subgroup, stage or sender"
            }
            ExclusionReason::Duplicate => "two messages at one stage",
            ExclusionReason::OutOfOrder => "no counted message at the previous stage",
            ExclusionReason::BadKey => "small-order or copied public key",
            ExclusionReason::Malformed => "malformed message",
            ExclusionReason::WrongSurvivors => "reveal for another survivor set",
            ExclusionReason::BadReveal => "revealed share not committed or not to be revealed",
        }
    }
}

/// A client set aside at one stage, and why (part of the Evaluators' aggregate, so
/// honest Evaluators agree on it byte for byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Exclusion {
    /// The client's index in the subgroup.
    pub sender: u32,
    /// The stage of the message set aside.
    pub stage: Stage,
    /// Why.
    pub reason: ExclusionReason,
}

impl Canonical for Exclusion {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.sender);
        self.stage.encode(w);
        w.u8(self.reason as u8);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let sender = r.u32("excluded sender")?;
        let stage = Stage::decode(r)?;
        let code = r.u8("exclusion reason")?;
        let reason = ExclusionReason::ALL
            .get(usize::from(code))
            .copied()
            .ok_or_else(|| Error::invalid("exclusion reason", format!("unknown code {code}")))?;
        Ok(Self {
            sender,
            stage,
            reason,
        })
    }
}

/// Collects exclusions, at most one per sender and stage.
#[derive(Debug, Default)]
pub(crate) struct Exclusions(BTreeSet<Exclusion>);

impl Exclusions {
    pub(crate) fn add(&mut self, sender: u32, stage: Stage, reason: ExclusionReason) {
        if !self
            .0
            .iter()
            .any(|e| e.sender == sender && e.stage == stage)
        {
            self.0.insert(Exclusion {
                sender,
                stage,
                reason,
            });
        }
    }

    pub(crate) fn extend(&mut self, others: impl IntoIterator<Item = Exclusion>) {
        for e in others {
            self.add(e.sender, e.stage, e.reason);
        }
    }

    /// Sorted by sender, then stage.
    pub(crate) fn into_sorted(self) -> Vec<Exclusion> {
        let mut v: Vec<Exclusion> = self.0.into_iter().collect();
        v.sort_by_key(|e| (e.sender, e.stage));
        v
    }
}

/// The messages of one stage that pass the header check, one per sender. A message
/// whose header does not bind it to this round and stage is ignored: its claimed sender
/// is not authenticated here, so it is not held against anyone (`din` checks the claim
/// against the chain first and excludes the account that recorded it). Exact copies of
/// one message count once; a sender of two different messages is excluded.
fn one_per_sender<'a, M: PartialEq>(
    params: &SecAggParams,
    msgs: &'a [M],
    stage: Stage,
    header: impl Fn(&M) -> &Header,
    out: &mut Exclusions,
) -> BTreeMap<u32, &'a M> {
    let mut seen: BTreeMap<u32, Option<&'a M>> = BTreeMap::new();
    for m in msgs {
        let h = header(m);
        if params.check_header(h, stage).is_err() {
            continue;
        }
        seen.entry(h.sender)
            .and_modify(|slot| {
                if *slot != Some(m) {
                    *slot = None;
                }
            })
            .or_insert(Some(m));
    }
    let mut kept = BTreeMap::new();
    for (sender, m) in seen {
        match m {
            Some(m) => {
                kept.insert(sender, m);
            }
            None => out.add(sender, stage, ExclusionReason::Duplicate),
        }
    }
    kept
}

/// The canonical encodings of the X25519 public keys of small order: the Montgomery
/// images of Curve25519's eight torsion points (u = 0, 1 and the two points of order
/// 8) and u = p - 1, of order 4 on the twist. An agreement with any of them is all
/// zeros (X25519 clamps every scalar to a multiple of 8).
fn small_order_keys() -> &'static [[u8; 32]] {
    static KEYS: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.to_montgomery().to_bytes())
            .collect();
        let mut minus_one = [0xff; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        keys.push(minus_one);
        keys.sort_unstable();
        keys.dedup();
        keys
    })
}

/// Whether `key` is the canonical encoding (u < p = 2^255 - 19, as every honest
/// X25519 public key is) of a point of full order: an agreement with a small-order
/// point is all zeros, so no honest client could advertise one. Comparisons with a
/// fixed list of public values, instead of an agreement per key.
fn full_order(key: &[u8; 32]) -> bool {
    let high_bit = key[31] & 0x80 != 0;
    let at_least_p = key[31] == 0x7f && key[1..31].iter().all(|&b| b == 0xff) && key[0] >= 0xed;
    !high_bit && !at_least_p && !small_order_keys().contains(key)
}

/// `U1`: the clients whose advertisement counts.
pub(crate) fn advertised<'a>(
    params: &SecAggParams,
    adverts: &'a [AdvertiseKeys],
    out: &mut Exclusions,
) -> BTreeMap<u32, &'a AdvertiseKeys> {
    let mut u1 = one_per_sender(params, adverts, Stage::AdvertiseKeys, |a| &a.header, out);
    // A key advertised by two clients is harmless: every derived key names the pair of
    // clients it is for (`keys::pairwise_info`, `keys::share_key_info`), and only the
    // holder of the secret can compute an agreement. Excluding both would let anyone
    // expel an honest client by copying its key.
    u1.retain(|&j, a| {
        let bad = !full_order(&a.cipher_public) || !full_order(&a.mask_public);
        if bad {
            out.add(j, Stage::AdvertiseKeys, ExclusionReason::BadKey);
        }
        !bad
    });
    u1
}

/// `U2`: the clients of `u1` whose share message counts. `graph` is the round's
/// neighbour graph.
pub(crate) fn shared<'a>(
    params: &SecAggParams,
    graph: &[Vec<u32>],
    u1: &BTreeSet<u32>,
    shares: &'a [ShareKeys],
    out: &mut Exclusions,
) -> BTreeMap<u32, &'a ShareKeys> {
    let mut u2 = one_per_sender(params, shares, Stage::ShareKeys, |m| &m.header, out);
    u2.retain(|&j, m| {
        if !u1.contains(&j) {
            out.add(j, Stage::ShareKeys, ExclusionReason::OutOfOrder);
            return false;
        }
        let expected: Vec<u32> = graph
            .get(j as usize)
            .map(|ns| ns.iter().copied().filter(|i| u1.contains(i)).collect())
            .unwrap_or_default();
        let mut recipients: Vec<u32> = m.shares.iter().map(|s| s.recipient).collect();
        recipients.sort_unstable();
        let well_formed = recipients == expected
            && m.shares
                .iter()
                .all(|s| s.ciphertext.len() == ENCRYPTED_SHARE_LEN);
        if !well_formed {
            out.add(j, Stage::ShareKeys, ExclusionReason::Malformed);
        }
        well_formed
    });
    u2
}

/// `U3`: the clients of `u2` whose masked input counts.
pub(crate) fn survived<'a>(
    params: &SecAggParams,
    u2: &BTreeMap<u32, &ShareKeys>,
    masked: &'a [MaskedInput],
    out: &mut Exclusions,
) -> Result<BTreeMap<u32, &'a MaskedInput>> {
    let width = params.width()?;
    let words_len = (params.vector_len as usize + 1) * width.bytes();
    let mut u3 = one_per_sender(params, masked, Stage::MaskedInput, |m| &m.header, out);
    u3.retain(|&j, m| {
        if !u2.contains_key(&j) {
            out.add(j, Stage::MaskedInput, ExclusionReason::OutOfOrder);
            return false;
        }
        let ok = m.width == width && m.words.len() == words_len;
        if !ok {
            out.add(j, Stage::MaskedInput, ExclusionReason::Malformed);
        }
        ok
    });
    Ok(u3)
}

/// The reveals that count: from survivors, one each, for the round's survivor set.
pub(crate) fn revealed<'a>(
    params: &SecAggParams,
    u3: &BTreeMap<u32, &MaskedInput>,
    reveals: &'a [UnmaskShares],
    out: &mut Exclusions,
) -> BTreeMap<u32, &'a UnmaskShares> {
    let survivors: Vec<u32> = u3.keys().copied().collect();
    let mut u4 = one_per_sender(params, reveals, Stage::Unmask, |m| &m.header, out);
    u4.retain(|&h, r| {
        if !u3.contains_key(&h) {
            out.add(h, Stage::Unmask, ExclusionReason::OutOfOrder);
            return false;
        }
        if r.survivors != survivors {
            out.add(h, Stage::Unmask, ExclusionReason::WrongSurvivors);
            return false;
        }
        true
    });
    u4
}

/// The survivor set of a round (`U3`, sorted): the clients every honest Participant
/// reveals for and every Evaluator unmasks. Participants and Evaluators must call this
/// on the same published messages (those recorded on chain by the stage deadline, at a
/// confirmed block) to agree.
///
/// # Errors
/// [`Error::SecAggParams`] / [`Error::FixedPoint`] for invalid parameters.
pub fn survivors(
    params: &SecAggParams,
    adverts: &[AdvertiseKeys],
    shares: &[ShareKeys],
    masked: &[MaskedInput],
) -> Result<Vec<u32>> {
    params.validate()?;
    let graph = params.graph()?;
    let mut out = Exclusions::default();
    let u1: BTreeSet<u32> = advertised(params, adverts, &mut out).into_keys().collect();
    let u2 = shared(params, &graph, &u1, shares, &mut out);
    Ok(survived(params, &u2, masked, &mut out)?
        .into_keys()
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use x25519_dalek::{PublicKey, StaticSecret};

    /// The list is exactly the keys whose agreement is not contributory: each listed key
    /// gives an all-zero agreement, honest keys pass, and non-canonical encodings are
    /// refused.
    #[test]
    fn small_order_keys_are_the_non_contributory_ones() {
        let keys = small_order_keys();
        assert_eq!(keys.len(), 5, "0, 1, two points of order 8, p - 1");
        for k in keys {
            assert!(!full_order(k));
            let secret = StaticSecret::from(*crate::secagg::keys::fresh_bytes());
            assert!(
                !secret
                    .diffie_hellman(&PublicKey::from(*k))
                    .was_contributory(),
                "{k:02x?}"
            );
        }
        for _ in 0..64 {
            let honest = PublicKey::from(&StaticSecret::from(*crate::secagg::keys::fresh_bytes()));
            assert!(full_order(honest.as_bytes()));
        }
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!full_order(&p), "p itself, a non-canonical 0");
        let mut high = *PublicKey::from(&StaticSecret::from([7; 32])).as_bytes();
        high[31] |= 0x80;
        assert!(!full_order(&high), "the ignored top bit set");
    }
}
