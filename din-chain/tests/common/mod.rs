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

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use din_chain::anvil::Anvil;
use din_chain::backend::TxRequest;
use din_chain::bindings::DinTaskManager;
use din_chain::client::TaskParams;
use din_chain::{DeployConfig, Deployment, DevChain, Din, EmbeddedChain, Error, RpcChain, deploy};
use din_core::Cid;
use din_core::content::cid_of;
use din_core::scoring::SCORE_ONE;

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
        clipMilli: 8_000,
        scaleBits: 12,
        maxWeight: 1_000,
        testSet: din_chain::client::cid_hash(&fake_cid("t")),
        maxEvaluators: ACCOUNTS as u32,
    }
}

/// How one scripted task behaves (the library's script with the test's team sizes).
pub struct Script {
    pub participants: usize,
    pub evaluators: usize,
    pub subgroup_size: u16,
    pub per_subgroup: u8,
    pub rounds: u16,
    pub deposit: u128,
    pub score: din_chain::scripted::ScoreFn,
    pub liars: Vec<u32>,
    pub no_shows: Vec<u32>,
    pub disputes: Vec<u32>,
    pub fee_bps: u16,
}

/// What a scripted task ended with.
pub struct Outcome {
    pub task: u64,
    pub participants: Vec<Address>,
    pub evaluators: Vec<Address>,
    pub medians: Vec<u32>,
}

/// Drives one task from creation to settlement through the contracts.
pub fn run_task(env: &Env, s: Script) -> Outcome {
    let din = env.din();
    let parts: Vec<Address> = env.accounts[..s.participants].to_vec();
    let evals: Vec<Address> = env.accounts[s.participants..s.participants + s.evaluators].to_vec();
    env.stake(&evals);
    let script = din_chain::scripted::Script {
        fee_bps: s.fee_bps,
        rounds: s.rounds,
        subgroup_size: s.subgroup_size,
        per_subgroup: s.per_subgroup,
        deposit: s.deposit,
        stage_period: PERIOD as u32,
        score: s.score,
        liars: s.liars,
        no_shows: s.no_shows,
        disputes: s.disputes,
    };
    let out = din_chain::scripted::run_task(&din, env.owner, &parts, &evals, &script).must();
    Outcome {
        task: out.task,
        participants: parts,
        evaluators: evals,
        medians: out.medians,
    }
}

/// First shuffled position and size of subgroup `j` (as the contract's `subgroupRange`).
pub fn range(j: u32, n: u64, g: u32) -> (usize, usize) {
    din_chain::scripted::subgroup_range(j, n, g)
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

/// The evaluators slashed in `task` so far (from its `EvaluatorPenalized` events).
pub fn slashed(din: &Din<'_, dyn DevChain>, task: u64) -> Vec<Address> {
    din.events::<DinTaskManager::EvaluatorPenalized>()
        .must()
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| e.evaluator)
        .collect()
}
