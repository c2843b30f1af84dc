//! The incentive properties of issue #14 over random adversarial tasks: a stateful test
//! that drives one task per scenario through the contracts on the embedded EVM with a
//! random mix of honest, lying, silent and late Participants, Evaluators and Model
//! Owners, and checks after every step:
//!
//! - the tokens add up to the wei: the manager holds the deposit minus what was claimed
//!   and refunded, the registry holds the stakes, the treasury what was slashed;
//! - no honest Evaluator is slashed unless liars were at least as many as the honest
//!   ones among its subgroup's voters or revealers;
//! - the participant pool is never refunded while a participant updated;
//! - every task ends settled once its deadlines pass, and every stake is unlocked.
//!
//! 1,000 scenarios by default; set `DIN_INCENTIVE_CASES` for more.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use common::{Env, Must, ONE, PERIOD, fake_cid, params};
use din_chain::bindings::{DinTaskManager, EvaluatorRegistry};
use din_chain::scripted::{finalize_hints, members_by_position, subgroup_range};
use din_chain::{DevChain, Din};
use din_core::scoring::{median_scores_fixed, score_batch_commitment};
use din_core::{Digest32, TaskId};

/// A small deterministic generator (SplitMix64) so a failing seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Honest,
    /// Participants: never updates. Evaluators: never votes, never commits.
    Silent,
    /// Participants: misses round 1. Evaluators: commits scores, never reveals.
    Late,
    /// Evaluators: a wrong aggregate (shared by the liars of a subgroup) and zero scores.
    Liar,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    Honest,
    /// Never publishes round 1's model.
    SkipsModel,
    /// Never releases the test set.
    SkipsRelease,
    /// Releases a key bundle nobody can open: honest Evaluators dispute it.
    BogusRelease,
}

struct Scenario {
    env: Env,
    task: u64,
    deposit: u128,
    parts: Vec<(Address, Who)>,
    evals: Vec<(Address, Who)>,
    /// Honest evaluators that acted in a subgroup where liars were at least as many as
    /// the honest ones among those who acted: they may legitimately be outvoted.
    exposed: RefCell<BTreeSet<Address>>,
    /// Participants who submitted an update.
    updaters: RefCell<BTreeSet<Address>>,
}

impl Scenario {
    fn din(&self) -> Din<'_, dyn DevChain> {
        self.env.din()
    }

    /// The invariants that hold after every step.
    fn check(&self, step: &str) {
        let din = self.din();
        let claimed: U256 = din
            .events::<DinTaskManager::Claimed>()
            .must()
            .iter()
            .filter(|e| e.taskId == self.task)
            .map(|e| e.amount)
            .sum();
        let refunded: U256 = din
            .events::<DinTaskManager::Refunded>()
            .must()
            .iter()
            .filter(|e| e.taskId == self.task)
            .map(|e| e.amount)
            .sum();
        assert_eq!(
            self.env.held() + claimed + refunded,
            U256::from(self.deposit),
            "{step}: the manager holds the deposit less what was paid"
        );
        let stakes: U256 = self
            .evals
            .iter()
            .map(|(e, _)| din.stake_of(*e).must())
            .sum();
        assert_eq!(
            din.token_balance(self.env.deployment.registry).must(),
            stakes,
            "{step}: the registry holds exactly the stakes"
        );
        let slashed: U256 = din
            .events::<DinTaskManager::EvaluatorPenalized>()
            .must()
            .iter()
            .map(|e| e.amount)
            .sum();
        assert_eq!(
            din.token_balance(self.env.treasury).must(),
            slashed,
            "{step}: the treasury holds exactly what was slashed"
        );
        for e in din
            .events::<DinTaskManager::EvaluatorPenalized>()
            .must()
            .iter()
            .filter(|e| e.taskId == self.task)
        {
            let who = self.evals.iter().find(|(a, _)| *a == e.evaluator).must().1;
            assert!(
                who != Who::Honest || self.exposed.borrow().contains(&e.evaluator),
                "{step}: honest evaluator {} slashed without being outnumbered",
                e.evaluator
            );
        }
    }
}

fn pick_participant(r: &mut Rng) -> Who {
    match r.below(10) {
        0 => Who::Silent,
        1 => Who::Late,
        _ => Who::Honest,
    }
}

fn pick_evaluator(r: &mut Rng) -> Who {
    match r.below(10) {
        0 | 1 => Who::Liar,
        2 => Who::Silent,
        3 => Who::Late,
        _ => Who::Honest,
    }
}

/// The score an honest evaluator gives the participant at `i` (a fixed function of the
/// participant's behaviour, so honest evaluators agree).
fn true_score(p: Who) -> u32 {
    if p == Who::Honest { ONE * 3 / 4 } else { 0 }
}

/// What one scenario went through (to show the mix is exercised).
#[derive(Default, Debug)]
struct Seen {
    abandoned: u32,
    disputed: u32,
    slashed: u32,
    neutral_subgroups: u32,
    scored_subgroups: u32,
}

fn run_scenario(seed: u64) -> Seen {
    let mut r = Rng(seed);
    let env = common::embedded();
    let din = env.din();
    let size = 2 + r.below(3) as u16;
    let n = usize::from(size) * (1 + r.below(3) as usize) + r.below(2) as usize;
    let per = 1 + r.below(3) as u8;
    let g = n / usize::from(size);
    let m = g * usize::from(per) + r.below(2) as usize;
    let rounds = 1 + r.below(2) as u16;
    let deposit = 1_000 + u128::from(r.below(1_000_000));
    let owner_kind = match r.below(8) {
        0 => Owner::SkipsModel,
        1 => Owner::SkipsRelease,
        2 => Owner::BogusRelease,
        _ => Owner::Honest,
    };
    let a = &env.accounts;
    let parts: Vec<(Address, Who)> = a[..n]
        .iter()
        .map(|&p| (p, pick_participant(&mut r)))
        .collect();
    let evals: Vec<(Address, Who)> = a[20..20 + m]
        .iter()
        .map(|&e| (e, pick_evaluator(&mut r)))
        .collect();
    let fee = r.below(10_001) as u16;
    din.approve(env.owner, env.deployment.manager, U256::from(deposit))
        .must();
    let mut p = params(
        env.deployment.token,
        deposit,
        rounds,
        size,
        per,
        env.now() + PERIOD,
    );
    p.evaluatorFeeBps = fee;
    let (task, _) = din.create_task(env.owner, &p, &fake_cid("g")).must();
    let s = Scenario {
        env,
        task,
        deposit,
        parts,
        evals,
        exposed: RefCell::default(),
        updaters: RefCell::default(),
    };
    s.env
        .stake(&s.evals.iter().map(|(e, _)| *e).collect::<Vec<_>>());
    let din = s.din();
    for &(p, _) in &s.parts {
        din.register(p, task, Bytes::new()).must();
    }
    for &(e, _) in &s.evals {
        din.join_as_evaluator(e, task).must();
    }
    s.check("registration");
    din.start_training(s.env.owner, task).must();
    drive(&s, &mut r, rounds, per, owner_kind);
    finish(&s);
    let din = s.din();
    let scored = din.events::<DinTaskManager::SubgroupScored>().must();
    Seen {
        abandoned: din.events::<DinTaskManager::TaskAbandoned>().must().len() as u32,
        disputed: din.events::<DinTaskManager::ReleaseDisputed>().must().len() as u32,
        slashed: common::slashed(&din, task).len() as u32,
        neutral_subgroups: scored
            .iter()
            .filter(|e| e.medians.iter().all(|&m| m == ONE / 2))
            .count() as u32,
        scored_subgroups: scored.len() as u32,
    }
}

/// Rounds, scoring, settlement and claims, checking the invariants after each step.
fn drive(s: &Scenario, r: &mut Rng, rounds: u16, per: u8, owner: Owner) {
    let task = s.task;
    let m = s.evals.len() as u64;
    for round in 1..=rounds {
        let din = s.din();
        s.env.chain.mine(1).must();
        din.draw_seed(s.env.owner, task).must();
        for &(p, who) in &s.parts {
            if who == Who::Honest || (who == Who::Late && round > 1) {
                din.submit_update(p, task, round, &fake_cid(&format!("u{p}{round}")))
                    .must();
                s.updaters.borrow_mut().insert(p);
            }
        }
        s.env.advance(4 * PERIOD);
        let (_, eseed) = din.seeds(task).must();
        let g = din.round_state(task).must().numSubgroups;
        let slashed = common::slashed(&din, task);
        let mut acting: BTreeMap<u32, Vec<(Address, Who)>> = BTreeMap::new();
        for (k, &(e, who)) in s.evals.iter().enumerate() {
            let (j, _) = Din::<dyn DevChain>::evaluator_slot(k as u64, m, per, eseed).must();
            if j >= g || slashed.contains(&e) || who == Who::Silent {
                continue;
            }
            let cid = if who == Who::Liar {
                fake_cid(&format!("the liars' aggregate {j}/{round}"))
            } else {
                fake_cid(&format!("aggregate {j}/{round}"))
            };
            din.submit_aggregate(e, task, round, j, &cid).must();
            acting.entry(j).or_default().push((e, who));
        }
        expose(s, &acting);
        s.env.advance(PERIOD);
        for j in 0..g {
            let (voters, hashes) = finalize_hints(&din, task, round, j, per).must();
            din.finalize_subgroup(s.env.owner, task, j, voters, hashes)
                .must();
        }
        s.check(&format!("round {round} finalized"));
        if owner == Owner::SkipsModel {
            s.env.advance(PERIOD);
            din.abandon(s.env.accounts[39], task).must();
            s.check("abandoned for a missing model");
            return settle(s);
        }
        din.publish_model(s.env.owner, task, round, &fake_cid(&format!("m{round}")))
            .must();
    }
    let din = s.din();
    for &(p, _) in &s.parts {
        if s.updaters.borrow().contains(&p) {
            din.submit_contribution(p, task, &fake_cid(&format!("c{p}")))
                .must();
        }
    }
    s.env.advance(PERIOD);
    if owner == Owner::SkipsRelease {
        s.env.advance(PERIOD);
        din.abandon(s.env.accounts[39], task).must();
        s.check("abandoned for a missing release");
        return settle(s);
    }
    din.release_test_set(s.env.owner, task, &fake_cid("t"), &fake_cid("k"))
        .must();
    score(s, r, per, owner);
    settle(s)
}

/// Records the honest evaluators of subgroups where liars were at least as many as the
/// honest among those who acted.
fn expose(s: &Scenario, acting: &BTreeMap<u32, Vec<(Address, Who)>>) {
    for group in acting.values() {
        let liars = group.iter().filter(|(_, w)| *w == Who::Liar).count();
        let honest = group.iter().filter(|(_, w)| *w == Who::Honest).count();
        if liars >= honest {
            s.exposed.borrow_mut().extend(
                group
                    .iter()
                    .filter(|(_, w)| *w == Who::Honest)
                    .map(|(e, _)| *e),
            );
        }
    }
}

/// The scoring phase: disputes of a bogus release, commits, reveals, medians.
fn score(s: &Scenario, r: &mut Rng, per: u8, owner: Owner) {
    let task = s.task;
    let din = s.din();
    let n = s.parts.len() as u64;
    let m = s.evals.len() as u64;
    let (pseed, eseed) = din.seeds(task).must();
    let g = din.round_state(task).must().numSubgroups;
    let slashed = common::slashed(&din, task);
    let by_position = members_by_position(n, pseed).must();
    let mut reveals = Vec::new();
    let mut acting: BTreeMap<u32, Vec<(Address, Who)>> = BTreeMap::new();
    for (k, &(e, who)) in s.evals.iter().enumerate() {
        let (j, slot) = Din::<dyn DevChain>::evaluator_slot(k as u64, m, per, eseed).must();
        if j >= g || slashed.contains(&e) || who == Who::Silent {
            continue;
        }
        if owner == Owner::BogusRelease && who == Who::Honest {
            // The honest evaluators cannot open the key bundle: they dispute.
            if din.round_state(task).must().phase == 4 {
                din.dispute_release(e, task, j).must();
            }
            continue;
        }
        if din.round_state(task).must().phase != 4 {
            continue; // abandoned by the disputes
        }
        let (first, size) = subgroup_range(j, n, g);
        let scores: Vec<u32> = (0..size)
            .map(|i| {
                let idx = by_position[first + i] as usize;
                // Honest scores differ by a little noise; a participant that did
                // nothing gets 0.
                let truth = true_score(s.parts[idx].1);
                if who == Who::Liar || truth == 0 {
                    0
                } else {
                    truth + r.below(3) as u32
                }
            })
            .collect();
        let salt = keccak256(format!("salt {e}"));
        let c = score_batch_commitment(
            TaskId(task),
            &din_core::Address(e.0.0),
            j,
            &scores,
            &Digest32(salt.0),
        );
        din.commit_scores(e, task, j, B256::from(c.0)).must();
        acting.entry(j).or_default().push((e, who));
        if who != Who::Late {
            reveals.push((e, j, slot, scores, salt));
        }
    }
    expose(s, &acting);
    s.check("scores committed");
    if din.round_state(task).must().phase != 4 {
        return; // abandoned by the disputes
    }
    s.env.advance(PERIOD);
    for (e, j, slot, scores, salt) in &reveals {
        din.reveal_scores(*e, task, *j, *slot, scores.clone(), *salt)
            .must();
    }
    s.env.advance(PERIOD);
    for j in 0..g {
        let (first, size) = subgroup_range(j, n, g);
        let rows: Vec<Vec<u32>> = reveals
            .iter()
            .filter(|x| x.1 == j)
            .map(|x| x.3.clone())
            .collect();
        let med = if rows.is_empty() {
            vec![0; size]
        } else {
            median_scores_fixed(&rows).must().0
        };
        let members = by_position[first..first + size].to_vec();
        din.finalize_scores(s.env.accounts[39], task, j, members, med)
            .must();
        s.check(&format!("subgroup {j} scored"));
    }
}

/// Settles (abandoned or scored), checks the pool rule, and pays everyone out.
fn settle(s: &Scenario) {
    let din = s.din();
    let task = s.task;
    din.settle(s.env.accounts[39], task).must();
    s.check("settled");
    let t = din.task(task).must();
    let e_pool = s.deposit * u128::from(t.evaluatorFeeBps) / 10_000;
    let updaters = s.updaters.borrow().len();
    if updaters > 0 {
        assert!(
            t.refundable <= e_pool,
            "the participant pool flowed back: refundable {} with {} updaters (evaluator pool {e_pool})",
            t.refundable,
            updaters
        );
    }
    if !t.abandoned && !t.equalSplit {
        for &(p, _) in &s.parts {
            if !s.updaters.borrow().contains(&p) {
                assert!(
                    din.claimable(task, p).must().is_zero(),
                    "{p} never updated and is paid"
                );
            }
        }
    }
    for &(a, _) in s.parts.iter().chain(&s.evals) {
        if !din.claimable(task, a).must().is_zero() {
            din.claim(a, task).must();
            s.check("claim");
        }
    }
    if t.refundable != 0 {
        din.claim_refund(s.env.owner, task).must();
    }
    s.check("refund");
}

/// Every task ended settled, the manager holds nothing of it, every stake is unlocked.
fn finish(s: &Scenario) {
    let din = s.din();
    assert_eq!(din.round_state(s.task).must().phase, 5, "settled");
    assert_eq!(s.env.held(), U256::ZERO, "nothing left in the manager");
    for &(e, _) in &s.evals {
        let _ = din.release_stake(e, s.task); // idempotent; claims already released most
        let rec = din
            .view(
                s.env.deployment.registry,
                EvaluatorRegistry::evaluatorsCall(e),
            )
            .must();
        assert_eq!(rec.locks, 0, "{e}'s stake is unlocked");
        assert_eq!(rec.reserved, 0, "{e} has nothing reserved");
    }
}

#[test]
fn random_adversarial_tasks_keep_the_incentives() {
    let cases: u64 = std::env::var("DIN_INCENTIVE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let base: u64 = std::env::var("DIN_INCENTIVE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let mut total = Seen::default();
    for i in 0..cases {
        let seed = base.wrapping_add(i);
        match std::panic::catch_unwind(|| run_scenario(seed)) {
            Ok(seen) => {
                total.abandoned += seen.abandoned;
                total.disputed += seen.disputed;
                total.slashed += seen.slashed;
                total.neutral_subgroups += seen.neutral_subgroups;
                total.scored_subgroups += seen.scored_subgroups;
            }
            Err(e) => {
                eprintln!(
                    "scenario seed {seed} failed (replay with DIN_INCENTIVE_SEED={seed} DIN_INCENTIVE_CASES=1)"
                );
                std::panic::resume_unwind(e);
            }
        }
    }
    eprintln!("{cases} scenarios: {total:?}");
    if cases >= 100 {
        assert!(
            total.abandoned > 0
                && total.disputed > 0
                && total.slashed > 0
                && total.neutral_subgroups > 0
                && total.scored_subgroups > total.neutral_subgroups,
            "the random mix must reach every outcome: {total:?}"
        );
    }
}
