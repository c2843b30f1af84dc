//! Verification by anyone: recompute a subgroup's aggregate from its messages and check
//! the CID an Evaluator submitted.

use din_chain::client::STATUS_REJECTED;
use din_core::content::cid_of;
use din_core::secagg::{SecAggParams, SubgroupAggregate};
use din_core::{Cid, Message, Store};

use super::evaluator::{RoundMessages, compute};
use crate::{Error, Result};

/// Recomputes the aggregate of `params`'s subgroup from `messages` and checks that
/// `claimed` is its CID and that it is within the task's bounds. Returns the (verified)
/// aggregate.
///
/// # Errors
/// [`Error::Inconsistent`] when the submitted CID is not the recomputed one, or the sum
/// is out of bounds (it should have been rejected); the errors of [`compute`].
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
    agg.sum
        .check_bounds(&params.fixed_point)
        .map_err(|e| Error::Inconsistent {
            what: "subgroup aggregate",
            reason: format!(
                "subgroup {} of round {} was accepted, but {e}",
                params.subgroup, params.round
            ),
        })?;
    Ok(agg)
}

/// What [`verify_round`] found for one subgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgroupCheck {
    /// The subgroup.
    pub subgroup: u32,
    /// The accepted aggregate's CID (`None`: the subgroup failed or was rejected).
    pub accepted: Option<Cid>,
    /// A majority of its Evaluators rejected its sum as out of the task's bounds.
    pub rejected: bool,
    /// Whether the accepted aggregate equals the one recomputed from the messages (for
    /// a rejected subgroup: whether the recomputed sum is indeed out of bounds).
    pub verified: bool,
    /// Why not, when it is not.
    pub problem: Option<String>,
}

/// What [`verify_round`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundReport {
    /// The task.
    pub task: u64,
    /// The round.
    pub round: u16,
    /// One entry per subgroup.
    pub subgroups: Vec<SubgroupCheck>,
    /// The global model the Owner published for the round.
    pub published: Option<Cid>,
    /// The global model recomputed from the accepted aggregates (din-fl's model file of
    /// the combined parameters, with the genesis model's manifest); the previous round's
    /// model when no subgroup was accepted.
    pub recomputed: Option<Cid>,
}

impl RoundReport {
    /// Every subgroup verified and the published model is the recomputed one.
    pub fn ok(&self) -> bool {
        self.subgroups
            .iter()
            .all(|s| (s.accepted.is_none() && !s.rejected) || s.verified)
            && self.published.is_some()
            && self.published == self.recomputed
    }
}

/// Fetches everything about `round` of `task` from the chain and the store,
/// recomputes every accepted subgroup aggregate from its messages (and every rejected
/// one, which must be out of the task's bounds) and the global model from them (Participants send their full parameters; the global model is the
/// weight-weighted mean, written as a din-fl model file with the genesis model's
/// manifest), and compares with the CIDs on-chain.
///
/// # Errors
/// Chain, storage and decoding errors that prevent checking at all (a mismatch is a
/// finding in the report, not an error).
pub fn verify_round<C: din_chain::Chain + ?Sized, S: Store + ?Sized>(
    din: &din_chain::Din<'_, C>,
    store: &S,
    task: u64,
    round: u16,
) -> Result<RoundReport> {
    use super::onchain::{accepted_aggregate, fixed_point, genesis, messages, subgroups};
    let (manifest, vector_len) = genesis(din, store, task)?;
    let mut checks = Vec::new();
    let mut verified = Vec::new();
    for view in subgroups(din, task, round, vector_len)? {
        let accepted = accepted_aggregate(din, task, round, view.subgroup)?;
        let rejected = din.subgroup_result(task, round, view.subgroup)?.status == STATUS_REJECTED;
        let mut check = SubgroupCheck {
            subgroup: view.subgroup,
            accepted,
            rejected,
            verified: false,
            problem: None,
        };
        if rejected {
            let msgs = messages(din, task, round, &view)?;
            match compute(store, &view.params, &msgs) {
                Ok(agg) if agg.sum.check_bounds(&view.params.fixed_point).is_err() => {
                    check.verified = true;
                }
                Ok(_) => {
                    check.problem =
                        Some("rejected, but the recomputed sum is within bounds".into());
                }
                Err(e) => check.problem = Some(e.to_string()),
            }
        }
        if let Some(cid) = &accepted {
            let msgs = messages(din, task, round, &view)?;
            match verify_subgroup(store, &view.params, &msgs, cid) {
                Ok(agg) => {
                    check.verified = true;
                    verified.push(agg);
                }
                Err(e) => check.problem = Some(e.to_string()),
            }
        }
        checks.push(check);
    }
    let recomputed = if verified.is_empty() {
        // No subgroup accepted: the round's model is the previous one again.
        din.model(task, round.saturating_sub(1))?
    } else {
        let (global, _) = super::owner::combine(&verified, &fixed_point(&din.task(task)?, 1))?;
        Some(cid_of(&din_fl::params::encode_model(&manifest, &global)))
    };
    Ok(RoundReport {
        task,
        round,
        subgroups: checks,
        published: din.model(task, round)?,
        recomputed,
    })
}
