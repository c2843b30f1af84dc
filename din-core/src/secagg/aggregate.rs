//! The subgroup aggregate as stored and referenced on-chain: an Evaluator's result for
//! one subgroup in one round.
//!
//! Honest Evaluators compute [`unmask`](fn@super::unmask) on the same public messages and get the
//! same [`SubgroupSum`]; wrapped with the task, round and subgroup it belongs to, its
//! canonical bytes are identical too, so their CIDs agree and the task manager's
//! majority check compares CIDs (paper §5.1 steps 3d-3f). Anyone can recompute it from
//! the round's messages with [`verify_aggregate`].

use super::fixed_point::Width;
use super::messages::{AdvertiseKeys, MaskedInput, ShareKeys, UnmaskShares};
use super::params::SecAggParams;
use super::unmask::{SubgroupSum, unmask_excluding};
use super::view::Exclusion;
use crate::encoding::{Canonical, MAX_ITEMS, Message, Reader, Writer};
use crate::types::{Round, SubgroupId, TaskId};
use crate::{Error, Result};

/// Largest aggregate accepted when decoding (bytes of words): 2^28 values of 64 bits.
const MAX_WORD_BYTES: u32 = u32::MAX;

/// One subgroup's unmasked sum, bound to its task, round and subgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgroupAggregate {
    /// The task.
    pub task: TaskId,
    /// The round.
    pub round: Round,
    /// The subgroup.
    pub subgroup: SubgroupId,
    /// The sum (weighted fixed-point words plus the total weight, and who is in it).
    pub sum: SubgroupSum,
}

impl SubgroupAggregate {
    /// The aggregate of `params`'s subgroup from its round's messages.
    ///
    /// # Errors
    /// As [`unmask`](fn@super::unmask).
    pub fn compute(
        params: &SecAggParams,
        adverts: &[AdvertiseKeys],
        shares: &[ShareKeys],
        masked: &[MaskedInput],
        reveals: &[UnmaskShares],
    ) -> Result<Self> {
        Self::compute_excluding(params, adverts, shares, masked, reveals, &[])
    }

    /// [`SubgroupAggregate::compute`] for messages the transport already sifted, naming
    /// the senders it set aside ([`unmask_excluding`]).
    ///
    /// # Errors
    /// As [`unmask`](fn@super::unmask).
    pub fn compute_excluding(
        params: &SecAggParams,
        adverts: &[AdvertiseKeys],
        shares: &[ShareKeys],
        masked: &[MaskedInput],
        reveals: &[UnmaskShares],
        excluded: &[Exclusion],
    ) -> Result<Self> {
        Ok(Self {
            task: params.task,
            round: params.round,
            subgroup: params.subgroup,
            sum: unmask_excluding(params, adverts, shares, masked, reveals, excluded)?,
        })
    }
}

/// Recomputes the aggregate from the messages and checks it equals `claimed` (canonical
/// bytes, e.g. fetched by the CID an Evaluator submitted).
///
/// # Errors
/// Decoding errors for malformed `claimed`; [`Error::InvalidValue`] when it differs from
/// the recomputation; errors of [`unmask`](fn@super::unmask).
pub fn verify_aggregate(
    params: &SecAggParams,
    adverts: &[AdvertiseKeys],
    shares: &[ShareKeys],
    masked: &[MaskedInput],
    reveals: &[UnmaskShares],
    claimed: &[u8],
) -> Result<SubgroupAggregate> {
    let claimed = SubgroupAggregate::from_canonical_bytes(claimed)?;
    let ours = SubgroupAggregate::compute(params, adverts, shares, masked, reveals)?;
    if ours != claimed {
        return Err(Error::invalid(
            "subgroup aggregate",
            format!(
                "subgroup {} of round {}: the submitted aggregate differs from the one recomputed from the round's messages",
                params.subgroup, params.round
            ),
        ));
    }
    Ok(ours)
}

fn sorted_unique(what: &'static str, v: &[u32]) -> Result<()> {
    if v.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err(Error::invalid(what, "must be strictly increasing"));
    }
    Ok(())
}

impl Canonical for SubgroupAggregate {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.round.encode(w);
        self.subgroup.encode(w);
        self.sum.width.encode(w);
        w.bytes(&self.sum.words);
        w.list(&self.sum.survivors, |w, s| w.u32(*s));
        w.list(&self.sum.dropped, |w, s| w.u32(*s));
        self.sum.excluded.encode(w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let task = TaskId::decode(r)?;
        let round = Round::decode(r)?;
        let subgroup = SubgroupId::decode(r)?;
        let width = Width::decode(r)?;
        let words = r.bytes("aggregate words", MAX_WORD_BYTES)?.to_vec();
        if words.is_empty() || words.len() % width.bytes() != 0 {
            return Err(Error::invalid(
                "aggregate words",
                format!(
                    "{} bytes is not a whole, non-empty number of {}-bit words",
                    words.len(),
                    width.bits()
                ),
            ));
        }
        let survivors = r.list("survivors", MAX_ITEMS, |r| r.u32("survivor"))?;
        let dropped = r.list("dropped", MAX_ITEMS, |r| r.u32("dropped client"))?;
        let excluded = r.list("exclusions", MAX_ITEMS, Exclusion::decode)?;
        if excluded
            .windows(2)
            .any(|w| matches!(w, [a, b] if (a.sender, a.stage) >= (b.sender, b.stage)))
        {
            return Err(Error::invalid(
                "exclusions",
                "must be strictly increasing by sender, then stage",
            ));
        }
        sorted_unique("survivors", &survivors)?;
        sorted_unique("dropped clients", &dropped)?;
        if survivors.iter().any(|s| dropped.binary_search(s).is_ok()) {
            return Err(Error::invalid(
                "aggregate",
                "a client is both a survivor and dropped",
            ));
        }
        Ok(Self {
            task,
            round,
            subgroup,
            sum: SubgroupSum {
                width,
                words,
                survivors,
                dropped,
                excluded,
            },
        })
    }

    fn size_hint(&self) -> usize {
        128 + self.sum.words.len()
            + 4 * (self.sum.survivors.len() + self.sum.dropped.len())
            + 6 * self.sum.excluded.len()
    }
}

impl Message for SubgroupAggregate {
    const TAG: u8 = 0x14;
    const NAME: &'static str = "subgroup aggregate";
}
