//! An Evaluator's aggregation of one subgroup.

use din_core::secagg::{SecAggParams, SubgroupAggregate};
use din_core::{Cid, Store};

use super::published::BoundMessages;
pub use super::published::RoundMessages;
use super::put;
use crate::Result;

/// Fetches the messages and unmasks the subgroup's sum. Deterministic: the same
/// messages give the same aggregate, whatever their order.
///
/// # Errors
/// Storage errors; [`din_core::Error::TooFewSurvivors`] and the other unmasking errors.
pub fn compute<S: Store + ?Sized>(
    store: &S,
    params: &SecAggParams,
    messages: &RoundMessages,
) -> Result<SubgroupAggregate> {
    let m = BoundMessages::fetch(store, params, messages)?;
    Ok(SubgroupAggregate::compute_excluding(
        params,
        &m.adverts,
        &m.shares,
        &m.masked,
        &m.reveals,
        &m.excluded,
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
