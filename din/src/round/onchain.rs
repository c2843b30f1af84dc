//! A round as the chain records it: who is in each subgroup, which secure-aggregation
//! parameters the subgroup uses, and which message CIDs its members published.
//!
//! Everything here is read from the task manager (seeds, task configuration, `Message`
//! events) and din-core's assignment, so every role (and any verifier) derives the same
//! views without talking to the others.

use din_chain::alloy::primitives::{Address, B256, keccak256};
use din_chain::bindings::DinTaskManager;
use din_chain::client::cid_from_bytes;
use din_chain::scripted::{members_by_position, subgroup_range};
use din_chain::{Chain, Din};
use din_core::assignment::{PARTICIPANT_DOMAIN, derive_seed};
use din_core::secagg::{FixedPoint, SecAggParams};
use din_core::{Digest32, Round, SubgroupId, TaskId};

use super::published::{Published, RoundMessages};
use crate::{Error, Result};

/// One subgroup of the current round.
#[derive(Debug, Clone, PartialEq)]
pub struct SubgroupView {
    /// The subgroup's id.
    pub subgroup: u32,
    /// Its Participants, in client-index order (shuffled position order).
    pub members: Vec<Address>,
    /// The secure-aggregation parameters all its members and Evaluators use.
    pub params: SecAggParams,
}

impl SubgroupView {
    /// The client index of `who` in this subgroup.
    pub fn index_of(&self, who: &Address) -> Option<u32> {
        self.members.iter().position(|m| m == who).map(|i| i as u32)
    }
}

/// The round seed drawn for `round` of `task` (from its `SeedDrawn` event), if drawn.
///
/// # Errors
/// Chain errors.
pub fn round_seed<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    round: u16,
) -> Result<Option<[u8; 32]>> {
    Ok(din
        .events::<DinTaskManager::SeedDrawn>()?
        .into_iter()
        .find(|e| e.taskId == task && e.round == round)
        .map(|e| e.seed.0))
}

/// The genesis model of `task` (its round-0 model, by CID on-chain): its manifest and
/// its number of values, which is every update's length.
///
/// # Errors
/// Chain, storage and decoding errors; [`Error::Inconsistent`] for a task without a
/// genesis model or with more than `u32::MAX` values.
pub fn genesis<C: Chain + ?Sized, S: din_core::Store + ?Sized>(
    din: &Din<'_, C>,
    store: &S,
    task: u64,
) -> Result<(din_core::ParamManifest, u32)> {
    let cid = din.model(task, 0)?.ok_or_else(|| Error::Inconsistent {
        what: "task",
        reason: format!("task {task} has no genesis model"),
    })?;
    let (manifest, values) = din_fl::params::decode_model(&store.get(&cid)?)?;
    let len = u32::try_from(values.len()).map_err(|_| Error::Inconsistent {
        what: "genesis model",
        reason: "too many parameters".into(),
    })?;
    Ok((manifest, len))
}

/// The input bounds `task` fixed on chain (`clipMilli`, `scaleBits`, `maxWeight`), for
/// a subgroup of `clients` members: how every role of the task encodes, masks and checks
/// updates (review hole 4).
pub fn fixed_point(task: &din_chain::client::Task, clients: u32) -> FixedPoint {
    FixedPoint::from_task(
        task.bounds.clipMilli,
        task.bounds.scaleBits,
        task.bounds.maxWeight,
        clients.max(1),
    )
}

/// Sets `params`' input bounds (`clipMilli`, `scaleBits`, `maxWeight`) from `fp`, the
/// clip rounded to thousandths: the inverse of [`fixed_point`].
pub fn set_bounds(params: &mut din_chain::client::TaskParams, fp: &FixedPoint) {
    params.clipMilli = (fp.clip * 1000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32;
    params.scaleBits = u8::try_from(fp.scale_bits).unwrap_or(u8::MAX);
    params.maxWeight = u32::try_from(fp.max_weight).unwrap_or(u32::MAX);
}

/// The subgroups of `round` of `task` (its seed must be drawn), for updates of
/// `vector_len` values encoded with the task's bounds ([`fixed_point`]). Works for past
/// rounds too: the seed comes from the round's `SeedDrawn` event.
///
/// The neighbour graph's seed is `keccak256(participant seed || subgroup as u32 BE)`.
///
/// # Errors
/// Chain errors; [`Error::Inconsistent`] before the round's seed is drawn.
pub fn subgroups<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    round: u16,
    vector_len: u32,
) -> Result<Vec<SubgroupView>> {
    let seed = round_seed(din, task, round)?.ok_or_else(|| Error::Inconsistent {
        what: "round",
        reason: format!("the seed of round {round} of task {task} is not drawn"),
    })?;
    let pseed = derive_seed(&Digest32(seed), PARTICIPANT_DOMAIN);
    let state = din.round_state(task)?;
    let config = din.task(task)?;
    let participants = din.participants_of(task)?;
    let n = participants.len() as u64;
    let g = state.numSubgroups;
    let by_position = members_by_position(n, B256::from(pseed.0))?;
    let mut views = Vec::new();
    for j in 0..g {
        let (first, size) = subgroup_range(j, n, g);
        let members: Vec<Address> = by_position
            .get(first..first + size)
            .unwrap_or_default()
            .iter()
            .filter_map(|&idx| participants.get(idx as usize).copied())
            .collect();
        let mut seed_input = pseed.0.to_vec();
        seed_input.extend_from_slice(&j.to_be_bytes());
        let clients = members.len() as u32;
        views.push(SubgroupView {
            subgroup: j,
            params: SecAggParams {
                task: TaskId(task),
                round: Round(u32::from(round)),
                subgroup: SubgroupId(j),
                clients,
                neighbours: u32::from(config.neighbours),
                threshold: u32::from(config.threshold),
                vector_len,
                fixed_point: fixed_point(&config, clients),
                graph_seed: Digest32(keccak256(&seed_input).0),
            },
            members,
        });
    }
    Ok(views)
}

/// The message CIDs `view`'s members published in `round`, by stage, in client order,
/// each with the client index of the account that recorded it. Messages from
/// non-members are ignored (they cannot be part of the subgroup's sum).
///
/// # Errors
/// Chain errors; undecodable CIDs.
pub fn messages<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    round: u16,
    view: &SubgroupView,
) -> Result<RoundMessages> {
    messages_at(din, task, round, view, None)
}

/// [`messages`] as recorded up to block `to_block` (`None`: the latest): the view
/// pinned at a confirmed block ([`confirmed_block`]).
///
/// # Errors
/// Chain errors; undecodable CIDs.
pub fn messages_at<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    round: u16,
    view: &SubgroupView,
    to_block: Option<u64>,
) -> Result<RoundMessages> {
    let mut by_stage: [Vec<Published>; 4] = Default::default();
    for ev in din.events_until::<DinTaskManager::Message>(to_block)? {
        if ev.taskId != task || ev.round != round {
            continue;
        }
        let (Some(index), Some(slot)) = (
            view.index_of(&ev.sender),
            by_stage.get_mut(usize::from(ev.stage)),
        ) else {
            continue;
        };
        slot.push(Published {
            sender: index,
            cid: cid_from_bytes(&ev.cid)?,
        });
    }
    let [adverts, shares, masked, reveals] = by_stage.map(|mut v| {
        v.sort_by_key(|p| p.sender);
        v
    });
    Ok(RoundMessages {
        adverts,
        shares,
        masked,
        reveals,
    })
}

/// The block `confirmations` below the chain's head: what a role acts on, so that a
/// reorganization of the newest blocks, or a node slow to index them, cannot change its
/// view (review hole 5). 0 on the embedded chain, which never reorganizes.
///
/// # Errors
/// Chain errors.
pub fn confirmed_block<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    confirmations: u64,
) -> Result<din_chain::backend::BlockInfo> {
    let head = din.chain().block()?;
    if confirmations == 0 {
        return Ok(head);
    }
    Ok(din
        .chain()
        .block_at(head.number.saturating_sub(confirmations))?)
}

/// The messages of `view`'s subgroup in `round` as the chain shows them at the confirmed
/// block ([`confirmed_block`]), once that block is at or past `closes` (the end of the
/// stages the caller acts on); `None` while it is not (wait for more blocks).
///
/// # Errors
/// Chain errors; undecodable CIDs.
pub fn confirmed_messages<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    (task, round): (u64, u16),
    view: &SubgroupView,
    confirmations: u64,
    closes: u64,
) -> Result<Option<RoundMessages>> {
    let pinned = confirmed_block(din, confirmations)?;
    if pinned.timestamp < closes {
        return Ok(None);
    }
    messages_at(din, task, round, view, Some(pinned.number)).map(Some)
}

/// The CID of the aggregate accepted for `subgroup` in `round`, if the subgroup was
/// accepted (matched from `AggregateSubmitted` events by the accepted hash).
///
/// # Errors
/// Chain errors; undecodable CIDs.
pub fn accepted_aggregate<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    round: u16,
    subgroup: u32,
) -> Result<Option<din_core::Cid>> {
    let result = din.subgroup_result(task, round, subgroup)?;
    if result.status != 1 {
        return Ok(None);
    }
    for ev in din.events::<DinTaskManager::AggregateSubmitted>()? {
        if ev.taskId == task
            && ev.round == round
            && ev.subgroup == subgroup
            && keccak256(&ev.cid) == result.accepted
        {
            return Ok(Some(cid_from_bytes(&ev.cid)?));
        }
    }
    Err(Error::Inconsistent {
        what: "accepted aggregate",
        reason: format!("no AggregateSubmitted event matches subgroup {subgroup}'s accepted hash"),
    })
}
