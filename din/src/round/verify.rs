//! Verification by anyone: recompute a subgroup's aggregate from its messages and check
//! the CID an Evaluator submitted.

use din_core::content::cid_of;
use din_core::secagg::{SecAggParams, SubgroupAggregate};
use din_core::{Cid, Message, Store};

use super::evaluator::{RoundMessages, compute};
use crate::{Error, Result};

/// Recomputes the aggregate of `params`'s subgroup from `messages` and checks that
/// `claimed` is its CID. Returns the (verified) aggregate.
///
/// # Errors
/// [`Error::Inconsistent`] when the submitted CID is not the recomputed one; the errors
/// of [`compute`].
pub fn verify_subgroup<S: Store + ?Sized>(
    store: &S,
    params: &SecAggParams,
    messages: &RoundMessages,
    claimed: &Cid,
) -> Result<SubgroupAggregate> {
    let agg = compute(store, params, messages)?;
    let ours = cid_of(&agg.to_canonical_bytes());
    if &ours != claimed {
        return Err(Error::Inconsistent {
            what: "subgroup aggregate",
            reason: format!(
                "subgroup {} of round {}: submitted {claimed}, recomputed {ours}",
                params.subgroup, params.round
            ),
        });
    }
    Ok(agg)
}
