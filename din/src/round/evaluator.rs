//! An Evaluator's aggregation of one subgroup.

use din_core::secagg::{
    AdvertiseKeys, MaskedInput, SecAggParams, ShareKeys, SubgroupAggregate, UnmaskShares,
};
use din_core::{Cid, Store};

use super::{fetch, put};
use crate::Result;

/// The CIDs of one subgroup's messages in one round, as published (stage by stage).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundMessages {
    /// Stage 0: public keys.
    pub adverts: Vec<Cid>,
    /// Stage 1: encrypted key shares.
    pub shares: Vec<Cid>,
    /// Stage 2: masked updates.
    pub masked: Vec<Cid>,
    /// Stage 3: unmasking shares.
    pub reveals: Vec<Cid>,
}

fn all<M: din_core::Message, S: Store + ?Sized>(store: &S, cids: &[Cid]) -> Result<Vec<M>> {
    cids.iter().map(|c| fetch(store, c)).collect()
}

/// Fetches the messages and unmasks the subgroup's sum. Deterministic: the same
/// messages give the same aggregate, whatever their order.
///
/// # Errors
/// Storage and decoding errors; [`din_core::Error::TooFewSurvivors`] and the other
/// unmasking errors.
pub fn compute<S: Store + ?Sized>(
    store: &S,
    params: &SecAggParams,
    messages: &RoundMessages,
) -> Result<SubgroupAggregate> {
    let adverts: Vec<AdvertiseKeys> = all(store, &messages.adverts)?;
    let shares: Vec<ShareKeys> = all(store, &messages.shares)?;
    let masked: Vec<MaskedInput> = all(store, &messages.masked)?;
    let reveals: Vec<UnmaskShares> = all(store, &messages.reveals)?;
    Ok(SubgroupAggregate::compute(
        params, &adverts, &shares, &masked, &reveals,
    )?)
}

/// [`compute`], then stores the aggregate; returns it with its CID (what the
/// Evaluator submits on-chain).
///
/// # Errors
/// As [`compute`], and storage errors.
pub fn aggregate<S: Store + ?Sized>(
    store: &S,
    params: &SecAggParams,
    messages: &RoundMessages,
) -> Result<(SubgroupAggregate, Cid)> {
    let agg = compute(store, params, messages)?;
    let cid = put(store, &agg)?;
    Ok((agg, cid))
}
