//! Test harness shared by the contract suites: one fixture type over either backend,
//! deterministic accounts, and a driver that runs a whole task through the contracts.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use din_chain::anvil::Anvil;
use din_chain::backend::TxRequest;
use din_chain::bindings::DinTaskManager::{self, AggregateSubmitted};
use din_chain::client::{TaskParams, cid_hash};
use din_chain::{DeployConfig, Deployment, DevChain, Din, EmbeddedChain, Error, RpcChain, deploy};
use din_core::content::cid_of;
use din_core::scoring::{SCORE_ONE, median_scores_fixed, score_batch_commitment};
use din_core::{Cid, Digest32, TaskId};

/// `unwrap` that prints errors with `Display` (decoded revert names).
pub trait Must<T> {
    fn must(self) -> T;
}

impl<T, E: std::fmt::Display> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Some(v) => v,
            None => panic!("None"),
        }
    }
}

/// Seconds per round stage in the test tasks.
pub const PERIOD: u64 = 3_600;

/// A chain with the DIN contracts deployed and funded accounts.
pub struct Env {
    pub chain: Box<dyn DevChain>,
    pub deployment: Deployment,
    pub owner: Address,
    pub treasury: Address,
    pub accounts: Vec<Address>,
    _anvil: Option<Anvil>,
}

fn key(i: u64) -> PrivateKeySigner {
    let mut seed = keccak256(format!("din-chain test account {i}"));
    // Any non-zero scalar below the curve order works; keccak output almost surely is.
    seed.0[0] &= 0x7f;
    PrivateKeySigner::from_bytes(&seed).must()
}

const ACCOUNTS: u64 = 40;

fn setup(
    chain: Box<dyn DevChain>,
    add: impl Fn(PrivateKeySigner) -> Address,
    anvil: Option<Anvil>,
) -> Env {
    let owner = add(key(0));
    let treasury = Address::repeat_byte(0x77);
    let accounts: Vec<Address> = (1..=ACCOUNTS).map(|i| add(key(i))).collect();
    for a in std::iter::once(&owner).chain(&accounts) {
        chain
            .set_balance(*a, U256::from(10u64).pow(U256::from(21u64)))
            .must();
    }
    let (deployment, _) = deploy(chain.as_ref(), owner, &DeployConfig::dev(treasury)).must();
    Env {
        chain,
        deployment,
        owner,
        treasury,
        accounts,
        _anvil: anvil,
    }
}

/// The DIN contracts on the embedded chain.
pub fn embedded() -> Env {
    let chain = EmbeddedChain::new();
    let signers: Vec<PrivateKeySigner> = (0..=ACCOUNTS).map(key).collect();
    for s in &signers {
        chain.add_signer(s);
    }
    setup(Box::new(chain), |s| s.address(), None)
}

/// The DIN contracts on a fresh anvil.
pub fn anvil() -> Env {
    let node = Anvil::spawn().expect("anvil (npm ci in din-chain/contracts)");
    let chain = RpcChain::connect(&node.url()).must();
    let signers: Vec<PrivateKeySigner> = (0..=ACCOUNTS).map(key).collect();
    for s in signers {
        chain.add_signer(s);
    }
    setup(Box::new(chain), |s| s.address(), Some(node))
}

/// Runs `$body` (a fn taking `&Env`) on both backends as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded_evm {
            $( #[test] fn $name() { super::$name(&super::common::embedded()); } )*
        }
        mod anvil_rpc {
            $( #[test] fn $name() { super::$name(&super::common::anvil()); } )*
        }
    };
}

impl Env {
    pub fn din(&self) -> Din<'_, dyn DevChain> {
        Din::new(self.chain.as_ref(), self.deployment)
    }

    pub fn din_units(n: u64) -> U256 {
        U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
    }

    /// The named custom error of a failed call, or a panic if it did not fail so.
    pub fn expect_revert<T: std::fmt::Debug>(&self, r: Result<T, Error>, name: &str) {
        match r {
            Ok(v) => panic!("expected {name}, the call succeeded: {v:?}"),
            Err(e) => assert_eq!(e.revert_name().as_deref(), Some(name), "wrong error: {e}"),
        }
    }

    pub fn now(&self) -> u64 {
        self.chain.block().must().timestamp
    }

    pub fn advance(&self, seconds: u64) {
        self.chain.advance_time(seconds).must();
    }

    /// Evaluators: fund, approve, stake.
    pub fn stake(&self, who: &[Address]) {
        let din = self.din();
        for &e in who {
            din.transfer(self.owner, e, Self::din_units(1_000)).must();
            din.approve(e, self.deployment.registry, Self::din_units(1_000))
                .must();
            din.stake(e, Self::din_units(100)).must();
        }
    }

    /// The manager's token balance (the sum of all task deposits not yet paid out).
    pub fn held(&self) -> U256 {
        self.din().token_balance(self.deployment.manager).must()
    }
}

/// A stand-in CID of some bytes (raw leaf, like a small file).
pub fn fake_cid(tag: &str) -> Cid {
    cid_of(tag.as_bytes())
}

pub fn params(
    token: Address,
    deposit: u128,
    rounds: u16,
    subgroup: u16,
    per: u8,
    registration_end: u64,
) -> TaskParams {
    TaskParams {
        token,
        deposit,
        evaluatorFeeBps: 1_000,
        rounds,
        subgroupSize: subgroup,
        evaluatorsPerSubgroup: per,
        neighbours: 2.min(subgroup.saturating_sub(1)).max(1),
        threshold: 2.min(subgroup.saturating_sub(1)).max(1),
        stagePeriod: PERIOD as u32,
        registrationEnd: registration_end,
        gate: Address::ZERO,
    }
}

/// How one scripted task behaves.
pub struct Script {
    pub participants: usize,
    pub evaluators: usize,
    pub subgroup_size: u16,
    pub per_subgroup: u8,
    pub rounds: u16,
    pub deposit: u128,
    /// Score evaluator slot `e` of subgroup `j` gives the participant at position `i`
    /// (`None`: this evaluator does not commit).
    pub score: Box<dyn Fn(u32, usize, usize) -> Option<u32>>,
    /// Subgroups whose slot-0 evaluator submits a wrong aggregate in the last round.
    pub liars: Vec<u32>,
}

/// What a scripted task ended with.
pub struct Outcome {
    pub task: u64,
    pub participants: Vec<Address>,
    pub evaluators: Vec<Address>,
    pub medians: Vec<u32>, // by participant index
    pub gas: Vec<(String, u64)>,
}

/// Drives one task from creation to settlement through the contracts.
pub fn run_task(env: &Env, s: &Script) -> Outcome {
    let din = env.din();
    let mut gas: Vec<(String, u64)> = Vec::new();
    let parts: Vec<Address> = env.accounts[..s.participants].to_vec();
    let evals: Vec<Address> = env.accounts[s.participants..s.participants + s.evaluators].to_vec();
    env.stake(&evals);

    din.approve(env.owner, env.deployment.manager, U256::from(s.deposit))
        .must();
    let p = params(
        env.deployment.token,
        s.deposit,
        s.rounds,
        s.subgroup_size,
        s.per_subgroup,
        env.now() + PERIOD,
    );
    let (task, r) = din.create_task(env.owner, &p, &fake_cid("genesis")).must();
    gas.push(("create_task".into(), r.gas_used));
    for &a in &parts {
        let r = din.register(a, task, Bytes::new()).must();
        gas.push(("register_participant".into(), r.gas_used));
    }
    for &e in &evals {
        let r = din.join_as_evaluator(e, task).must();
        gas.push(("join_as_evaluator".into(), r.gas_used));
    }
    din.start_training(env.owner, task).must();

    let n = parts.len() as u64;
    let m = evals.len() as u64;
    for round in 1..=s.rounds {
        env.chain.mine(1).must();
        let r = din.draw_seed(env.owner, task).must();
        gas.push(("draw_seed".into(), r.gas_used));
        for (i, &a) in parts.iter().enumerate() {
            for stage in 0..2u8 {
                let r = din
                    .submit_message(
                        a,
                        task,
                        round,
                        stage,
                        &fake_cid(&format!("{task}/{round}/{i}/{stage}")),
                    )
                    .must();
                gas.push(("submit_message".into(), r.gas_used));
            }
            let r = din
                .submit_update(
                    a,
                    task,
                    round,
                    &fake_cid(&format!("{task}/{round}/{i}/update")),
                )
                .must();
            gas.push(("submit_update".into(), r.gas_used));
        }
        env.advance(3 * PERIOD);
        for (i, &a) in parts.iter().enumerate() {
            din.submit_message(
                a,
                task,
                round,
                3,
                &fake_cid(&format!("{task}/{round}/{i}/unmask")),
            )
            .must();
        }
        env.advance(PERIOD);
        let (_, eseed) = din.seeds(task).must();
        let st = din.round_state(task).must();
        let g = st.numSubgroups;
        for (k, &e) in evals.iter().enumerate() {
            let (j, slot) =
                Din::<dyn DevChain>::evaluator_slot(k as u64, m, s.per_subgroup, eseed).must();
            if j >= g {
                continue; // not assigned this round
            }
            let lie = round == s.rounds && slot == 0 && s.liars.contains(&j);
            let cid = if lie {
                fake_cid(&format!("lie {k}"))
            } else {
                fake_cid(&format!("{task}/{round}/agg/{j}"))
            };
            let r = din.submit_aggregate(e, task, round, j, &cid).must();
            gas.push(("submit_aggregate".into(), r.gas_used));
        }
        env.advance(PERIOD);
        finalize_round(env, task, round, g, s.per_subgroup, &mut gas);
        let r = din
            .publish_model(
                env.owner,
                task,
                round,
                &fake_cid(&format!("{task}/model/{round}")),
            )
            .must();
        gas.push(("publish_model".into(), r.gas_used));
    }

    // Scoring with the final round's assignment.
    din.release_test_set(env.owner, task, &fake_cid("test set"), &fake_cid("keys"))
        .must();
    let (pseed, eseed) = din.seeds(task).must();
    let g = din.round_state(task).must().numSubgroups;
    let positions = din_core::assignment::shuffle_positions(n, &Digest32(pseed.0)).must();
    let mut by_position = vec![0u32; n as usize];
    for (idx, &p) in positions.iter().enumerate() {
        by_position[p as usize] = idx as u32;
    }
    let mut reveals: Vec<(Address, u32, u32, Vec<u32>, B256)> = Vec::new();
    let slashed: Vec<Address> = din
        .events::<DinTaskManager::EvaluatorPenalized>()
        .must()
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| e.evaluator)
        .collect();
    for (k, &e) in evals.iter().enumerate() {
        if slashed.contains(&e) {
            // A slashed evaluator may not score (the contract says EvaluatorSlashed).
            env.expect_revert(
                din.commit_scores(e, task, 0, B256::repeat_byte(1)),
                "EvaluatorSlashed",
            );
            continue;
        }
        let (j, slot) =
            Din::<dyn DevChain>::evaluator_slot(k as u64, m, s.per_subgroup, eseed).must();
        if j >= g {
            continue;
        }
        let (first, size) = range(j, n, g);
        let scores: Option<Vec<u32>> = (0..size).map(|i| (s.score)(j, slot as usize, i)).collect();
        let Some(scores) = scores else { continue };
        let _ = first;
        let salt = keccak256(format!("salt {k}"));
        let c = score_batch_commitment(
            TaskId(task),
            &din_core::Address(e.0.0),
            j,
            &scores,
            &Digest32(salt.0),
        );
        let r = din.commit_scores(e, task, j, B256::from(c.0)).must();
        gas.push(("commit_score".into(), r.gas_used));
        reveals.push((e, j, slot, scores, salt));
    }
    env.advance(PERIOD);
    for (e, j, slot, scores, salt) in &reveals {
        let r = din
            .reveal_scores(*e, task, *j, *slot, scores.clone(), *salt)
            .must();
        gas.push(("reveal_score".into(), r.gas_used));
    }
    env.advance(PERIOD);
    let mut medians = vec![0u32; n as usize];
    for j in 0..g {
        let (first, size) = range(j, n, g);
        let rows: Vec<Vec<u32>> = reveals
            .iter()
            .filter(|r| r.1 == j)
            .map(|r| r.3.clone())
            .collect();
        let med = if rows.is_empty() {
            vec![0; size]
        } else {
            median_scores_fixed(&rows).must().0
        };
        let members: Vec<u32> = (0..size).map(|i| by_position[first + i]).collect();
        for (i, &idx) in members.iter().enumerate() {
            medians[idx as usize] = med[i];
        }
        let r = din.finalize_scores(env.owner, task, j, members, med).must();
        gas.push(("finalize_scores".into(), r.gas_used));
    }
    let r = din.settle(env.owner, task).must();
    gas.push(("settle".into(), r.gas_used));
    Outcome {
        task,
        participants: parts,
        evaluators: evals,
        medians,
        gas,
    }
}

/// First shuffled position and size of subgroup `j` (as the contract's `subgroupRange`).
pub fn range(j: u32, n: u64, g: u32) -> (usize, usize) {
    let (j, g) = (u64::from(j), u64::from(g));
    let first = (j * n + g) / g;
    let last = ((j + 1) * n) / g;
    ((first - 1) as usize, (last + 1 - first) as usize)
}

/// The finalization hints of a subgroup, read from `AggregateSubmitted` events.
pub fn hints(
    env: &Env,
    task: u64,
    round: u16,
    subgroup: u32,
    per: u8,
) -> (Vec<Address>, Vec<B256>) {
    let din = env.din();
    let m = din.evaluators_of(task).must().len() as u64;
    let (_, eseed) = din.seeds(task).must();
    let mut voters = vec![Address::ZERO; per as usize];
    let mut hashes = vec![B256::ZERO; per as usize];
    for ev in din.events::<AggregateSubmitted>().must() {
        if ev.taskId != task || ev.round != round || ev.subgroup != subgroup {
            continue;
        }
        let idx = din
            .evaluators_of(task)
            .must()
            .iter()
            .position(|a| *a == ev.evaluator)
            .must();
        let (_, slot) = Din::<dyn DevChain>::evaluator_slot(idx as u64, m, per, eseed).must();
        voters[slot as usize] = ev.evaluator;
        hashes[slot as usize] = cid_hash(&Cid::try_from(ev.cid.as_ref()).must());
    }
    (voters, hashes)
}

fn finalize_round(env: &Env, task: u64, round: u16, g: u32, per: u8, gas: &mut Vec<(String, u64)>) {
    for j in 0..g {
        let (voters, hashes) = hints(env, task, round, j, per);
        let r = env
            .din()
            .finalize_subgroup(env.owner, task, j, voters, hashes)
            .must();
        gas.push(("finalize_subgroup".into(), r.gas_used));
    }
}

/// A uniform score for everyone.
pub fn flat(score: u32) -> Box<dyn Fn(u32, usize, usize) -> Option<u32>> {
    Box::new(move |_, _, _| Some(score))
}

/// Calldata of a manager call, for driving contracts through `ReentrantReceiver.exec`.
pub fn manager_call<T: SolCall>(call: T) -> Bytes {
    Bytes::from(call.abi_encode())
}

pub const ONE: u32 = SCORE_ONE;

pub fn tx(from: Address, to: Address, data: Bytes) -> TxRequest {
    TxRequest::call(from, to, data)
}

pub type Manager = DinTaskManager::DinTaskManagerCalls;
