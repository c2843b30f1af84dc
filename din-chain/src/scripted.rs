//! A scripted task: one whole DIN task driven through the contracts on a development
//! chain, with stand-in CIDs instead of real models.
//!
//! It exercises every contract operation in protocol order (paper §5.1, §5.2): create,
//! opt in, stake and join, seeds, the four secure-aggregation stages, aggregates with
//! majority finalization (and optional liars), model publication, test-set release,
//! score commit/reveal, median finalization and settlement. The gas report, the contract
//! tests and the property test over random score matrices all run it; the end-to-end
//! roles replace its stand-ins with real training, masking and storage.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::SolEvent as _;
use din_core::content::cid_of;
use din_core::scoring::{median_scores_fixed, score_batch_commitment};
use din_core::{Cid, Digest32, TaskId};

use crate::backend::{Chain, DevChain};
use crate::bindings::DinTaskManager::{AggregateSubmitted, EvaluatorPenalized};
use crate::client::{Din, TaskParams, cid_hash};
use crate::{Error, Result};

/// The score evaluator slot `e` of subgroup `j` gives the participant at position `i` of
/// that subgroup (`None`: the evaluator does not commit).
pub type ScoreFn = Box<dyn Fn(u32, usize, usize) -> Option<u32> + Send + Sync>;

/// How a scripted task behaves.
pub struct Script {
    /// Evaluators' share of the deposit (basis points).
    pub fee_bps: u16,
    /// Training rounds.
    pub rounds: u16,
    /// Participants per subgroup.
    pub subgroup_size: u16,
    /// Evaluators per subgroup.
    pub per_subgroup: u8,
    /// The reward deposit (token wei).
    pub deposit: u128,
    /// Seconds per round stage.
    pub stage_period: u32,
    /// Scores given in the scoring phase.
    pub score: ScoreFn,
    /// Subgroups whose slot-0 evaluator submits a wrong aggregate in the last round.
    pub liars: Vec<u32>,
    /// Subgroups whose slot-1 evaluator submits no aggregate in round 1 (a no-show).
    pub no_shows: Vec<u32>,
    /// Subgroups whose slot-0 and slot-1 evaluators dispute the release instead of
    /// scoring.
    pub disputes: Vec<u32>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("rounds", &self.rounds)
            .field("subgroup_size", &self.subgroup_size)
            .field("per_subgroup", &self.per_subgroup)
            .field("deposit", &self.deposit)
            .field("liars", &self.liars)
            .finish_non_exhaustive()
    }
}

/// What a scripted task ended with.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The task id.
    pub task: u64,
    /// Median score of each participant (by registration index).
    pub medians: Vec<u32>,
    /// Evaluators slashed during the task.
    pub slashed: Vec<Address>,
    /// Gas of every transaction, labelled by operation.
    pub gas: Vec<(&'static str, u64)>,
}

/// A stand-in CID for a labelled object (a raw leaf of the label's bytes).
pub fn stand_in_cid(label: &str) -> Cid {
    cid_of(label.as_bytes())
}

/// First shuffled position and number of positions of subgroup `j` among `n`
/// participants in `g` subgroups (the contract's `subgroupRange`).
pub fn subgroup_range(j: u32, n: u64, g: u32) -> (usize, usize) {
    let (j, g) = (u64::from(j), u64::from(g.max(1)));
    let first = (j * n + g) / g;
    let last = ((j + 1) * n) / g;
    (
        first.saturating_sub(1) as usize,
        (last + 1).saturating_sub(first) as usize,
    )
}

/// The participant index at each shuffled position (the inverse of din-core's shuffle).
///
/// # Errors
/// [`Error::Core`] for an empty list.
pub fn members_by_position(n: u64, participant_seed: B256) -> Result<Vec<u32>> {
    let positions = din_core::assignment::shuffle_positions(n, &Digest32(participant_seed.0))?;
    let mut out = vec![0u32; positions.len()];
    for (idx, p) in positions.into_iter().enumerate() {
        if let Some(slot) = out.get_mut(p as usize) {
            *slot = idx as u32;
        }
    }
    Ok(out)
}

/// The finalization hints of `subgroup` in `round`: each slot's voter and aggregate CID
/// hash, read from `AggregateSubmitted` events.
///
/// # Errors
/// Transport failures; undecodable events.
pub fn finalize_hints<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    round: u16,
    subgroup: u32,
    per: u8,
) -> Result<(Vec<Address>, Vec<B256>)> {
    let evaluators = din.evaluators_of(task)?;
    let (_, eseed) = din.seeds(task)?;
    let mut voters = vec![Address::ZERO; usize::from(per)];
    let mut hashes = vec![B256::ZERO; usize::from(per)];
    for ev in din.events::<AggregateSubmitted>()? {
        if ev.taskId != task || ev.round != round || ev.subgroup != subgroup {
            continue;
        }
        let Some(idx) = evaluators.iter().position(|a| *a == ev.evaluator) else {
            continue;
        };
        let (_, slot) = Din::<C>::evaluator_slot(idx as u64, evaluators.len() as u64, per, eseed)?;
        // The contract's vote hash: keccak256 of the CID bytes (of the empty CID for a
        // rejection, `REJECTED`).
        if let (Some(v), Some(h)) = (voters.get_mut(slot as usize), hashes.get_mut(slot as usize)) {
            *v = ev.evaluator;
            *h = alloy::primitives::keccak256(&ev.cid);
        }
    }
    Ok((voters, hashes))
}

/// Stakes 100 DIN for each evaluator, funded (1,000 DIN each) by `funder`.
///
/// # Errors
/// Reverts (e.g. the funder lacks tokens) and transport failures.
pub fn fund_and_stake<C: DevChain + ?Sized>(
    din: &Din<'_, C>,
    funder: Address,
    evaluators: &[Address],
) -> Result<Vec<(&'static str, u64)>> {
    let unit = U256::from(10u64).pow(U256::from(18u64));
    let mut gas = Vec::new();
    for &e in evaluators {
        din.transfer(funder, e, unit * U256::from(1_000u64))?;
        din.approve(e, din.deployment.registry, unit * U256::from(1_000u64))?;
        gas.push(("stake", din.stake(e, unit * U256::from(100u64))?.gas_used));
    }
    Ok(gas)
}

/// Runs `script` as `owner` with these participants and (already staked) evaluators, up
/// to and including settlement (claims are left to the caller).
///
/// # Errors
/// Any revert or transport failure, with the contract's error name.
pub fn run_task<C: DevChain + ?Sized>(
    din: &Din<'_, C>,
    owner: Address,
    participants: &[Address],
    evaluators: &[Address],
    s: &Script,
) -> Result<Outcome> {
    let chain = din.chain();
    let period = u64::from(s.stage_period);
    let mut gas: Vec<(&'static str, u64)> = Vec::new();
    din.approve(owner, din.deployment.manager, U256::from(s.deposit))?;
    let neighbours = 2u16.min(s.subgroup_size.saturating_sub(1)).max(1);
    let params = TaskParams {
        token: din.deployment.token,
        deposit: s.deposit,
        evaluatorFeeBps: s.fee_bps,
        rounds: s.rounds,
        subgroupSize: s.subgroup_size,
        evaluatorsPerSubgroup: s.per_subgroup,
        neighbours,
        threshold: neighbours,
        stagePeriod: s.stage_period,
        registrationEnd: chain.block()?.timestamp + period,
        gate: Address::ZERO,
        clipMilli: 8_000,
        scaleBits: 12,
        maxWeight: 1_000,
        testSet: cid_hash(&stand_in_cid("encrypted test set")),
        maxEvaluators: u32::try_from(evaluators.len()).unwrap_or(u32::MAX),
    };
    let (task, r) = din.create_task(owner, &params, &stand_in_cid("genesis"))?;
    gas.push(("create_task", r.gas_used));
    for &a in participants {
        gas.push((
            "register_participant",
            din.register(a, task, Bytes::new())?.gas_used,
        ));
    }
    for &e in evaluators {
        gas.push((
            "join_as_evaluator",
            din.join_as_evaluator(e, task)?.gas_used,
        ));
    }
    gas.push(("start_training", din.start_training(owner, task)?.gas_used));

    let n = participants.len() as u64;
    let m = evaluators.len() as u64;
    for round in 1..=s.rounds {
        chain.mine(1)?;
        gas.push(("draw_seed", din.draw_seed(owner, task)?.gas_used));
        for (i, &a) in participants.iter().enumerate() {
            for stage in 0..2u8 {
                let cid = stand_in_cid(&format!("{task}/{round}/{i}/{stage}"));
                gas.push((
                    "submit_message",
                    din.submit_message(a, task, round, stage, &cid)?.gas_used,
                ));
            }
            let cid = stand_in_cid(&format!("{task}/{round}/{i}/update"));
            gas.push((
                "submit_update",
                din.submit_update(a, task, round, &cid)?.gas_used,
            ));
        }
        chain.advance_time(3 * period)?;
        for (i, &a) in participants.iter().enumerate() {
            let cid = stand_in_cid(&format!("{task}/{round}/{i}/unmask"));
            gas.push((
                "submit_message",
                din.submit_message(a, task, round, 3, &cid)?.gas_used,
            ));
        }
        chain.advance_time(period)?;
        let (_, eseed) = din.seeds(task)?;
        let g = din.round_state(task)?.numSubgroups;
        for (k, &e) in evaluators.iter().enumerate() {
            let (j, slot) = Din::<C>::evaluator_slot(k as u64, m, s.per_subgroup, eseed)?;
            if j >= g {
                continue; // not assigned this round
            }
            if round == 1 && slot == 1 && s.no_shows.contains(&j) {
                continue;
            }
            let lie = round == s.rounds && slot == 0 && s.liars.contains(&j);
            let cid = if lie {
                stand_in_cid(&format!("wrong aggregate from {k}"))
            } else {
                stand_in_cid(&format!("{task}/{round}/aggregate/{j}"))
            };
            // An evaluator's first vote in a task creates its vote slot; later rounds reuse it.
            let op = if round == 1 {
                "submit_aggregate_first_round"
            } else {
                "submit_aggregate"
            };
            gas.push((op, din.submit_aggregate(e, task, round, j, &cid)?.gas_used));
        }
        chain.advance_time(period)?;
        for j in 0..g {
            let (voters, hashes) = finalize_hints(din, task, round, j, s.per_subgroup)?;
            gas.push((
                "finalize_subgroup",
                din.finalize_subgroup(owner, task, j, voters, hashes)?
                    .gas_used,
            ));
        }
        let cid = stand_in_cid(&format!("{task}/model/{round}"));
        gas.push((
            "publish_model",
            din.publish_model(owner, task, round, &cid)?.gas_used,
        ));
    }

    // Scoring, with the final round's assignment, after the contribution window.
    chain.advance_time(period)?;
    let r = din.release_test_set(
        owner,
        task,
        &stand_in_cid("encrypted test set"),
        &stand_in_cid("wrapped keys"),
    )?;
    gas.push(("release_test_set", r.gas_used));
    let (pseed, eseed) = din.seeds(task)?;
    let g = din.round_state(task)?.numSubgroups;
    let by_position = members_by_position(n, pseed)?;
    let slashed: Vec<Address> = din
        .events::<EvaluatorPenalized>()?
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| e.evaluator)
        .collect();
    let mut reveals: Vec<(Address, u32, u32, Vec<u32>, B256)> = Vec::new();
    for (k, &e) in evaluators.iter().enumerate() {
        if slashed.contains(&e) {
            continue; // slashed evaluators may not score
        }
        let (j, slot) = Din::<C>::evaluator_slot(k as u64, m, s.per_subgroup, eseed)?;
        if j >= g {
            continue;
        }
        if slot < 2 && s.disputes.contains(&j) {
            din.dispute_release(e, task, j)?;
            continue;
        }
        let (_, size) = subgroup_range(j, n, g);
        let Some(scores) = (0..size)
            .map(|i| (s.score)(j, slot as usize, i))
            .collect::<Option<Vec<u32>>>()
        else {
            continue;
        };
        let salt = keccak256(format!("salt of {e} in task {task}"));
        let c = score_batch_commitment(
            TaskId(task),
            &din_core::Address(e.0.0),
            j,
            &scores,
            &Digest32(salt.0),
        );
        gas.push((
            "commit_score",
            din.commit_scores(e, task, j, B256::from(c.0))?.gas_used,
        ));
        reveals.push((e, j, slot, scores, salt));
    }
    chain.advance_time(period)?;
    for (e, j, slot, scores, salt) in &reveals {
        gas.push((
            "reveal_score",
            din.reveal_scores(*e, task, *j, *slot, scores.clone(), *salt)?
                .gas_used,
        ));
    }
    chain.advance_time(period)?;
    let mut medians = vec![0u32; participants.len()];
    for j in 0..g {
        let (first, size) = subgroup_range(j, n, g);
        let rows: Vec<Vec<u32>> = reveals
            .iter()
            .filter(|r| r.1 == j)
            .map(|r| r.3.clone())
            .collect();
        let med = if rows.is_empty() {
            vec![0; size]
        } else {
            median_scores_fixed(&rows)?.0
        };
        let members: Vec<u32> = by_position
            .get(first..first + size)
            .ok_or(Error::Invalid {
                what: "subgroup range",
                reason: format!("positions {first}..{} of {n}", first + size),
            })?
            .to_vec();
        let r = din.finalize_scores(owner, task, j, members.clone(), med)?;
        // What the contract recorded: the medians, or the neutral prior without a quorum.
        let recorded = r
            .logs
            .iter()
            .find_map(|l| {
                crate::bindings::DinTaskManager::SubgroupScored::decode_raw_log(
                    l.topics.iter().copied(),
                    &l.data,
                )
                .ok()
            })
            .map(|e| e.medians)
            .unwrap_or_default();
        for (&idx, &md) in members.iter().zip(&recorded) {
            if let Some(slot) = medians.get_mut(idx as usize) {
                *slot = md;
            }
        }
        gas.push(("finalize_scores", r.gas_used));
    }
    gas.push(("settle", din.settle(owner, task)?.gas_used));
    let slashed = din
        .events::<EvaluatorPenalized>()?
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| e.evaluator)
        .collect();
    Ok(Outcome {
        task,
        medians,
        slashed,
        gas,
    })
}
