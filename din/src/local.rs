//! A whole DIN task in one process: the embedded EVM, a local store, and every role
//! (one Model Owner, the Participants, the Evaluators) stepped in turn by a driver that
//! moves the chain's clock to the next deadline whenever all of them wait. This is the
//! quickstart's engine (`cargo run --release --example quickstart`) and what the Python
//! package's `run_task` calls.
//!
//! The data is MNIST's 10k split (compiled in, or read from a folder): 80% cut IID among the
//! Participants, 20% the Owner's test set, which only the assigned Evaluators can open
//! after the last round. Faults can be injected: Participants who vanish after masking,
//! Evaluators who lie about aggregates or scores, Participants who upload garbage.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use din_chain::alloy::primitives::{Address, U256, keccak256};
use din_chain::bindings::DinTaskManager;
use din_chain::client::TaskParams;
use din_chain::{Chain, DeployConfig, DevChain, Din, EmbeddedChain, deploy};
use din_core::secagg::FixedPoint;
use din_core::{MemStore, Store};
use din_fl::backend::CpuAutodiff;
use din_fl::burn::tensor::backend::Backend as _;
use din_fl::data::Dataset;
use din_fl::data::partition::{Partition, partition};
use din_fl::{Architecture, Net, OptimizerKind, TrainConfig, params};
use serde::Serialize;

use crate::roles::evaluator::{EvaluatorFault, EvaluatorRole};
use crate::roles::learning::{AccuracyScorer, Behaviour, FlTrainer, accuracy};
use crate::roles::owner::{OwnerConfig, OwnerRole};
pub use crate::roles::participant::Forgery;
use crate::roles::participant::{ParticipantFault, ParticipantRole};
use crate::roles::{GasLog, Role, StateDir, Step};
use crate::round::verify::verify_round;
use crate::{Error, Result};

/// What to run (the quickstart's flags).
#[derive(Debug, Clone)]
pub struct TaskOptions {
    /// Directory holding `mnist/` with MNIST's `t10k` files; `None` (the default) uses
    /// the copy compiled into din-fl (`embedded-mnist`), so no files are needed.
    pub data_dir: Option<PathBuf>,
    /// Participants (30).
    pub participants: usize,
    /// Participants per subgroup (10).
    pub subgroup_size: u16,
    /// Evaluators per subgroup (3); the task has exactly enough Evaluators.
    pub evaluators_per_subgroup: u8,
    /// Training rounds (5).
    pub rounds: u16,
    /// Model: `logreg`, `mlp`, `mlp:W1,...` or `cnn` (`mlp`).
    pub model: String,
    /// Local epochs per round (5).
    pub local_epochs: usize,
    /// Learning rate (0.1, SGD with momentum 0.9).
    pub lr: f64,
    /// Batch size (32).
    pub batch_size: usize,
    /// SecAgg+ neighbours per client (`subgroup_size - 1`: the complete graph).
    pub neighbours: Option<u16>,
    /// SecAgg+ threshold (a strict majority of the neighbours in the largest subgroup
    /// the task can form: `din_core::secagg::graph::majority_threshold`).
    pub threshold: Option<u16>,
    /// Seed of the data split, the model and the fault choices (0).
    pub seed: u64,
    /// Reward deposit in DIN wei (1,000 DIN).
    pub deposit: u128,
    /// Evaluators' share of the deposit in basis points (1,000 = 10%).
    pub evaluator_fee_bps: u16,
    /// Participants who vanish after masking in round 2 (0).
    pub drop: usize,
    /// Evaluators who lie: the 1st, 3rd, ... about aggregates, the 2nd, 4th, ...
    /// about scores (0). They are caught while every subgroup keeps an honest majority
    /// of Evaluators (paper §6): with 3 per subgroup, two liars who land in the same
    /// subgroup outvote the honest one (an aggregate liar is slashed and cannot score,
    /// so a score liar beside it faces one honest scorer, and the lower median of two
    /// is the liar's).
    pub lying_evaluators: usize,
    /// Participants who upload garbage: the 1st, 3rd, ... noise, the others models
    /// trained on inverted labels (0).
    pub garbage_updates: usize,
    /// In every round, the first member (client 0) of each of the first
    /// `forged_subgroups` subgroups forges the words of its masked update this way
    /// (`None`: nobody does; review hole 4).
    pub forged_words: Option<Forgery>,
    /// Subgroups with a forger when `forged_words` is set (all of them: `u32::MAX`).
    pub forged_subgroups: u32,
    /// The task's input bounds: clip (to thousandths), precision and maximum weight per
    /// Participant (`FixedPoint::default()`: clip 8, 2^-12, 1000; `max_clients` is
    /// ignored). Every Participant's sample count must be at most the maximum weight.
    pub bounds: FixedPoint,
    /// Evaluators check every subgroup sum against the task's input bounds and reject
    /// those outside (true; false measures what a round is worth without the check).
    pub bound_checks: bool,
    /// Where roles keep their state (a fresh temporary directory when `None`).
    pub state_dir: Option<PathBuf>,
    /// Crash drill: after every this many actions, one role (in turn a Participant, an
    /// Evaluator, the Owner) is dropped mid-task and rebuilt from its state directory,
    /// as a killed and restarted process would be (0: never).
    pub restart_every: usize,
}

impl Default for TaskOptions {
    fn default() -> Self {
        Self {
            data_dir: None,
            participants: 30,
            subgroup_size: 10,
            evaluators_per_subgroup: 3,
            rounds: 5,
            model: "mlp".into(),
            local_epochs: 5,
            lr: 0.1,
            batch_size: 32,
            neighbours: None,
            threshold: None,
            seed: 0,
            deposit: 1_000 * 10u128.pow(18),
            evaluator_fee_bps: 1_000,
            drop: 0,
            lying_evaluators: 0,
            garbage_updates: 0,
            forged_words: None,
            forged_subgroups: u32::MAX,
            bounds: FixedPoint::default(),
            bound_checks: true,
            state_dir: None,
            restart_every: 0,
        }
    }
}

/// Where a running task is, for progress reports.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The current round (0 before training).
    pub round: u16,
    /// Rounds in the task.
    pub rounds: u16,
    /// Local training steps done so far by all Participants.
    pub trained_steps: usize,
    /// Local training steps of the whole task.
    pub total_steps: usize,
    /// The last thing a role did (`"participant 3: round 1: shared keys"`).
    pub last: String,
}

/// One Participant in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantOutcome {
    /// Its position in the options' order.
    pub index: usize,
    /// Its address.
    pub address: String,
    /// `honest`, `dropped`, `noise` or `inverted-labels`.
    pub kind: String,
    /// Its median score (fixed point, `2^20` = 1.0).
    pub score: u32,
    /// What it was paid (DIN wei).
    pub reward_wei: String,
}

/// One Evaluator in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluatorOutcome {
    /// Its position.
    pub index: usize,
    /// Its address.
    pub address: String,
    /// `honest`, `wrong-aggregates` or `wrong-scores`.
    pub kind: String,
    /// Whether it was slashed.
    pub slashed: bool,
    /// What it was paid (DIN wei).
    pub reward_wei: String,
}

/// What a task ended with (the quickstart's `--json` object).
#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    /// Test accuracy of the last global model.
    pub final_accuracy: f64,
    /// Test accuracy of the global model after each round.
    pub accuracy_per_round: Vec<f64>,
    /// Training rounds.
    pub rounds: u16,
    /// Participants.
    pub participants: usize,
    /// Evaluators.
    pub evaluators: usize,
    /// The reward deposit (DIN wei, decimal).
    pub deposit_wei: String,
    /// Paid to Participants.
    pub paid_participants_wei: String,
    /// Paid to Evaluators.
    pub paid_evaluators_wei: String,
    /// Refunded (or refundable) to the Owner.
    pub refundable_wei: String,
    /// `deposit == paid_participants + paid_evaluators + refundable`.
    pub accounting_exact: bool,
    /// Evaluators slashed (addresses).
    pub slashed_evaluators: Vec<String>,
    /// Participants paid nothing (indices).
    pub zero_reward_participants: Vec<usize>,
    /// Mean gas per call of each operation.
    pub gas: BTreeMap<String, u64>,
    /// Total gas per role.
    pub gas_by_role: BTreeMap<String, u64>,
    /// Every Participant's outcome.
    pub participant_outcomes: Vec<ParticipantOutcome>,
    /// Every Evaluator's outcome.
    pub evaluator_outcomes: Vec<EvaluatorOutcome>,
    /// Roles dropped and rebuilt from their state by the crash drill.
    pub restarts: usize,
    /// Rounds whose subgroup aggregates and global model a verifier recomputed from the
    /// chain and the store and found equal to the published CIDs.
    pub verified_rounds: Vec<u16>,
    /// Subgroup rounds left out because a majority of Evaluators rejected the sum as
    /// out of the task's bounds, as `(round, subgroup)`.
    pub rejected_subgroups: Vec<(u16, u32)>,
    /// Seconds from start to the last claim.
    pub wall_seconds: f64,
}

fn account(label: &str, i: usize) -> Address {
    Address::from_word(keccak256(format!("din local task {label} {i}")))
}

fn u(v: U256) -> u128 {
    u128::try_from(v).unwrap_or(u128::MAX)
}

/// A task's plan derived from its options alone: validated sizes, the data, the
/// genesis model and the fault choices. Every process of a multi-process run derives
/// the same plan from the same options.
#[derive(Debug, Clone)]
pub struct TaskPlan {
    /// The options.
    pub opts: TaskOptions,
    /// The model architecture.
    pub arch: Architecture,
    /// The Participants' pooled training data.
    pub train_set: Dataset,
    /// The Owner's test set.
    pub test_set: Dataset,
    /// Each Participant's sample indices into `train_set`.
    pub parts: Vec<Vec<usize>>,
    /// The genesis model file.
    pub genesis: Vec<u8>,
    /// Evaluators in the task.
    pub evaluators: usize,
    /// Participants who upload garbage.
    pub garbage: Vec<usize>,
    /// Participants who vanish after masking.
    pub dropped: Vec<usize>,
}

/// Seconds per stage of the embedded quickstart's rounds.
pub const EMBEDDED_STAGE_PERIOD: u32 = 3_600;

impl TaskPlan {
    /// Checks the options, loads the data and makes the genesis model.
    ///
    /// # Errors
    /// Invalid options ([`Error::Role`]), missing or malformed data.
    pub fn new(opts: &TaskOptions) -> Result<Self> {
        let bad = |reason: String| Error::Role {
            role: "task options",
            reason,
        };
        let k = usize::from(opts.subgroup_size);
        if k < 3 || opts.participants < k {
            return Err(bad(format!(
                "{} participants cannot fill subgroups of {k} (at least 3)",
                opts.participants
            )));
        }
        let groups = opts.participants / k;
        let evaluators = groups * usize::from(opts.evaluators_per_subgroup);
        if opts.evaluators_per_subgroup == 0 || opts.lying_evaluators > evaluators {
            return Err(bad(format!(
                "{} lying of {evaluators} evaluators",
                opts.lying_evaluators
            )));
        }
        if opts.drop + opts.garbage_updates > opts.participants {
            return Err(bad("more faulty participants than participants".into()));
        }
        let arch: Architecture = opts.model.parse()?;
        let all = match &opts.data_dir {
            Some(dir) => din_fl::data::mnist::load_test_split(dir.join("mnist"))?,
            None => din_fl::data::mnist::embedded_test_split()?,
        };
        let (train_set, test_set) = all.split(0.2, opts.seed)?;
        let parts = partition(
            &train_set.labels,
            train_set.n_classes,
            opts.participants,
            Partition::Iid,
            opts.seed,
        )?;
        let device = Default::default();
        CpuAutodiff::seed(&device, opts.seed);
        let genesis_net: Net<CpuAutodiff> =
            Net::new(&arch, &train_set.sample_shape, train_set.n_classes, &device)?;
        let genesis = params::to_bytes(&genesis_net)?;
        let mut order: Vec<usize> = (0..opts.participants).collect();
        din_fl::rng::SeededRng::new(opts.seed ^ 0xfa17).shuffle(&mut order);
        let garbage = order.iter().copied().take(opts.garbage_updates).collect();
        let dropped = order
            .iter()
            .copied()
            .skip(opts.garbage_updates)
            .take(opts.drop)
            .collect();
        Ok(Self {
            opts: opts.clone(),
            arch,
            train_set,
            test_set,
            parts,
            genesis,
            evaluators,
            garbage,
            dropped,
        })
    }

    /// The Owner's configuration for this plan, paying in `token`, with rounds of
    /// `stage_period` seconds per stage.
    pub fn owner_config(&self, token: Address, stage_period: u32) -> OwnerConfig {
        let o = &self.opts;
        let neighbours = o.neighbours.unwrap_or(o.subgroup_size - 1);
        let threshold = o.threshold.unwrap_or_else(|| {
            din_core::secagg::graph::majority_threshold(
                u32::from(o.subgroup_size),
                u32::from(neighbours),
            ) as u16
        });
        let mut params = TaskParams {
            token,
            deposit: o.deposit,
            evaluatorFeeBps: o.evaluator_fee_bps,
            rounds: o.rounds,
            subgroupSize: o.subgroup_size,
            evaluatorsPerSubgroup: o.evaluators_per_subgroup,
            neighbours,
            threshold,
            stagePeriod: stage_period,
            registrationEnd: 0,
            gate: Address::ZERO,
            // Exactly the Evaluators planned: no Sybil flood can take seats.
            maxEvaluators: self.evaluators as u32,
            ..Default::default()
        };
        // `testSet` is set by the Owner.
        crate::round::onchain::set_bounds(&mut params, &o.bounds);
        OwnerConfig {
            params,
            registration_period: u64::from(stage_period),
            participants: o.participants as u32,
            evaluators: self.evaluators as u32,
            genesis: self.genesis.clone(),
            test_set: self.test_set.to_bytes(),
        }
    }

    /// Participant `i`'s kind: `honest`, `dropped`, `noise` or `inverted-labels`.
    pub fn participant_kind(&self, i: usize) -> &'static str {
        match self.garbage.iter().position(|&g| g == i) {
            Some(p) if p % 2 == 0 => "noise",
            Some(_) => "inverted-labels",
            None if self.dropped.contains(&i) => "dropped",
            None => "honest",
        }
    }

    /// Participant `i`'s fault (a dropped one vanishes after masking in round 2).
    pub fn participant_fault(&self, i: usize) -> ParticipantFault {
        if self.dropped.contains(&i) {
            ParticipantFault::VanishAfterMasking(self.opts.rounds.min(2))
        } else if let Some(forgery) = self.opts.forged_words {
            ParticipantFault::ForgedWords {
                forgery,
                subgroups: self.opts.forged_subgroups,
            }
        } else {
            ParticipantFault::None
        }
    }

    /// Participant `i`'s trainer on its partition.
    pub fn trainer(&self, i: usize) -> FlTrainer {
        let behaviour = match self.participant_kind(i) {
            "noise" => Behaviour::Noise,
            "inverted-labels" => Behaviour::InvertedLabels,
            _ => Behaviour::Honest,
        };
        let o = &self.opts;
        let config = TrainConfig {
            epochs: o.local_epochs,
            batch_size: o.batch_size,
            learning_rate: o.lr,
            optimizer: OptimizerKind::Sgd { momentum: 0.9 },
            seed: o.seed ^ ((i as u64 + 1) << 8),
        };
        let data = self
            .train_set
            .subset(self.parts.get(i).map(Vec::as_slice).unwrap_or_default());
        FlTrainer::new(self.arch.clone(), data, config).with_behaviour(behaviour)
    }

    /// Evaluator `e`'s fault: the first `lying_evaluators` lie, alternately about
    /// aggregates and scores.
    pub fn evaluator_fault(&self, e: usize) -> EvaluatorFault {
        match e {
            e if e >= self.opts.lying_evaluators && !self.opts.bound_checks => {
                EvaluatorFault::NoBoundChecks
            }
            e if e >= self.opts.lying_evaluators => EvaluatorFault::None,
            e if e % 2 == 0 => EvaluatorFault::WrongAggregates,
            _ => EvaluatorFault::WrongScores,
        }
    }

    /// Local training steps of the whole task (for progress bars).
    pub fn total_steps(&self) -> usize {
        let o = &self.opts;
        self.parts
            .iter()
            .enumerate()
            .filter(|(i, _)| self.participant_kind(*i) != "noise")
            .map(|(_, idx)| idx.len().div_ceil(o.batch_size.max(1)) * o.local_epochs)
            .sum::<usize>()
            * usize::from(o.rounds)
    }
}

/// The stake each Evaluator of a planned task puts up: 100 DIN.
pub fn evaluator_stake() -> U256 {
    U256::from(10u64).pow(U256::from(18u64)) * U256::from(100u64)
}

/// Runs a whole task (see the module docs), calling `progress` after every action.
///
/// # Errors
/// Invalid options ([`Error::Role`]), missing data, and any error of the roles.
pub fn run_task(opts: &TaskOptions, mut progress: impl FnMut(&Progress)) -> Result<TaskSummary> {
    let started = Instant::now();
    let plan = TaskPlan::new(opts)?;
    let n_eval = plan.evaluators;
    let arch = plan.arch.clone();

    // Chain, contracts, accounts, store.
    let chain = EmbeddedChain::new();
    let owner = chain.add_account(account("owner", 0));
    let (deployment, _) = deploy(&chain, owner, &DeployConfig::dev(account("treasury", 0)))?;
    let din = Din::new(&chain, deployment);
    let store = MemStore::new();
    let tmp;
    let root = match &opts.state_dir {
        Some(p) => p.clone(),
        None => {
            tmp = tempfile::tempdir().map_err(|e| Error::State {
                what: "temporary directory",
                reason: e.to_string(),
            })?;
            tmp.path().to_path_buf()
        }
    };
    let stake = evaluator_stake();
    let steps = Arc::new(AtomicUsize::new(0));
    let config = plan.owner_config(deployment.token, EMBEDDED_STAGE_PERIOD);
    let owner_role_of = || -> Result<OwnerRole<'_, EmbeddedChain, MemStore>> {
        OwnerRole::new(
            din.clone(),
            &store,
            owner,
            StateDir::open(root.join("owner"))?,
            config.clone(),
        )
    };
    let mut owner_role = owner_role_of()?;
    // The Owner creates the task first; the others join it.
    while owner_role.task().is_none() {
        owner_role.step()?;
    }
    let task = owner_role.task().unwrap_or_default();

    let total_steps = plan.total_steps();
    let participant = |i: usize| -> Result<ParticipantRole<'_, EmbeddedChain, MemStore>> {
        let counter = Arc::clone(&steps);
        let trainer = plan.trainer(i).on_step(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(ParticipantRole::new(
            din.clone(),
            &store,
            account("participant", i),
            task,
            StateDir::open(root.join(format!("participant-{i}")))?,
            Box::new(trainer),
        )?
        .with_fault(plan.participant_fault(i)))
    };
    let evaluator = |e: usize| -> Result<EvaluatorRole<'_, EmbeddedChain, MemStore>> {
        Ok(EvaluatorRole::new(
            din.clone(),
            &store,
            account("evaluator", e),
            task,
            StateDir::open(root.join(format!("evaluator-{e}")))?,
            stake,
            Box::new(AccuracyScorer::new(arch.clone())),
        )?
        .with_fault(plan.evaluator_fault(e)))
    };
    let n_p = opts.participants;
    let mut roles: Vec<Box<dyn Role + '_>> = vec![Box::new(owner_role)];
    for i in 0..n_p {
        chain.add_account(account("participant", i));
        roles.push(Box::new(participant(i)?));
    }
    for e in 0..n_eval {
        let me = chain.add_account(account("evaluator", e));
        din.transfer(owner, me, stake)?;
        roles.push(Box::new(evaluator(e)?));
    }
    // Role `k` of `roles`: the Owner, then the Participants, then the Evaluators.
    let kind = |k: usize| match k {
        0 => ("owner", 0),
        k if k <= n_p => ("participants", k - 1),
        k => ("evaluators", k - 1 - n_p),
    };
    let rebuild = |k: usize| -> Result<Box<dyn Role + '_>> {
        Ok(match kind(k) {
            ("owner", _) => Box::new(owner_role_of()?),
            ("participants", i) => Box::new(participant(i)?),
            (_, e) => Box::new(evaluator(e)?),
        })
    };

    // The driver.
    let mut report = |who: String, what: String| {
        let st = din.round_state(task).ok();
        progress(&Progress {
            round: st.map(|s| s.round).unwrap_or_default(),
            rounds: opts.rounds,
            trained_steps: steps.load(Ordering::Relaxed),
            total_steps,
            last: format!("{who}: {what}"),
        });
    };
    let mut stalls = 0;
    let mut actions = 0usize;
    let mut restarts = 0usize;
    let mut lost_gas: Vec<(&'static str, GasLog)> = Vec::new();
    loop {
        let mut acted = false;
        let mut until: Option<u64> = None;
        let mut done = 0usize;
        let mut waits: Vec<String> = Vec::new();
        let mut note = |s: Step, who: String, acted: &mut bool, done: &mut usize| -> bool {
            match s {
                Step::Acted(what) => {
                    *acted = true;
                    report(who, what);
                    true
                }
                Step::Waiting { reason, until: t } => {
                    if let Some(t) = t {
                        until = Some(until.map_or(t, |u: u64| u.min(t)));
                    }
                    waits.push(format!("{who}: {reason}"));
                    false
                }
                Step::Done => {
                    *done += 1;
                    false
                }
            }
        };
        // The crash drill: every `restart_every` actions, the role that just acted is
        // dropped with its in-memory state and rebuilt from its state directory.
        for k in 0..roles.len() {
            let (label, i) = kind(k);
            let who = match label {
                "owner" => "owner".to_string(),
                "participants" => format!("participant {i}"),
                _ => format!("evaluator {i}"),
            };
            while let Some(r) = roles.get_mut(k) {
                if !note(r.step()?, who.clone(), &mut acted, &mut done) {
                    break;
                }
                actions += 1;
                if opts.restart_every > 0 && actions.is_multiple_of(opts.restart_every) {
                    let old = std::mem::replace(r, rebuild(k)?);
                    lost_gas.push((label, old.gas().clone()));
                    restarts += 1;
                }
            }
        }
        if done == roles.len() {
            break;
        }
        if acted {
            stalls = 0;
            continue;
        }
        let now = chain.block()?.timestamp;
        match until {
            Some(t) if t > now => chain.advance_time(t - now)?,
            _ => {
                stalls += 1;
                if stalls > 20 {
                    return Err(Error::Role {
                        role: "driver",
                        reason: format!("no role can go on: {}", waits.join("; ")),
                    });
                }
                chain.mine(1)?;
            }
        }
    }

    let mut gas: Vec<(&'static str, GasLog)> = lost_gas;
    gas.extend(
        roles
            .iter()
            .enumerate()
            .map(|(k, r)| (kind(k).0, r.gas().clone())),
    );
    let who = Roster {
        participants: (0..n_p).map(|i| account("participant", i)).collect(),
        evaluators: (0..n_eval).map(|e| account("evaluator", e)).collect(),
    };
    summarize(&din, &store, task, &plan, &who, &gas, restarts, started)
}

/// The addresses of a task's Participants and Evaluators, in plan order.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// Participants.
    pub participants: Vec<Address>,
    /// Evaluators.
    pub evaluators: Vec<Address>,
}

/// The summary of a finished task, read back from the chain and the store: accuracy of
/// every round's global model on the plan's test set, verification of every round,
/// payments from `Claimed` events, slashing, scores; `gas` is each role's log
/// (labelled `owner`, `participants` or `evaluators`).
///
/// # Errors
/// Chain, storage and evaluation errors; [`Error::Inconsistent`] for a round without
/// a model.
#[allow(clippy::too_many_arguments)]
pub fn summarize<C: Chain + ?Sized, S: Store + ?Sized>(
    din: &Din<'_, C>,
    store: &S,
    task: u64,
    plan: &TaskPlan,
    who: &Roster,
    gas: &[(&'static str, GasLog)],
    restarts: usize,
    started: Instant,
) -> Result<TaskSummary> {
    let opts = &plan.opts;
    let mut accuracy_per_round = Vec::new();
    let mut verified_rounds = Vec::new();
    let mut rejected_subgroups = Vec::new();
    for r in 1..=opts.rounds {
        let cid = din.model(task, r)?.ok_or_else(|| Error::Inconsistent {
            what: "task",
            reason: format!("round {r} has no model"),
        })?;
        let (_, values) = din_fl::params::decode_model(&store.get(&cid)?)?;
        accuracy_per_round.push(accuracy(&plan.arch, &plan.test_set, &values)?);
        let report = verify_round(din, store, task, r)?;
        if report.ok() {
            verified_rounds.push(r);
        }
        rejected_subgroups.extend(
            report
                .subgroups
                .iter()
                .filter(|s| s.rejected)
                .map(|s| (r, s.subgroup)),
        );
    }
    let t = din.task(task)?;
    let claims: BTreeMap<Address, u128> = din
        .events::<DinTaskManager::Claimed>()?
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| (e.account, u(e.amount)))
        .collect();
    let medians = scores_by_participant(din, task)?;
    let mut outcomes = Vec::new();
    let mut paid_p = 0u128;
    for (i, a) in who.participants.iter().enumerate() {
        let paid = claims.get(a).copied().unwrap_or_default();
        paid_p += paid;
        outcomes.push(ParticipantOutcome {
            index: i,
            address: a.to_string(),
            kind: plan.participant_kind(i).into(),
            score: medians.get(a).copied().unwrap_or_default(),
            reward_wei: paid.to_string(),
        });
    }
    let gone = crate::roles::slashed(din, task)?;
    let mut paid_e = 0u128;
    let mut evaluator_outcomes = Vec::new();
    for (e, a) in who.evaluators.iter().enumerate() {
        let paid = claims.get(a).copied().unwrap_or_default();
        paid_e += paid;
        evaluator_outcomes.push(EvaluatorOutcome {
            index: e,
            address: a.to_string(),
            kind: match plan.evaluator_fault(e) {
                EvaluatorFault::None => "honest",
                EvaluatorFault::WrongAggregates => "wrong-aggregates",
                EvaluatorFault::WrongScores => "wrong-scores",
                EvaluatorFault::NoBoundChecks => "no-bound-checks",
            }
            .into(),
            slashed: gone.contains(a),
            reward_wei: paid.to_string(),
        });
    }
    let refundable = t.refundable;
    let mut per_op: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_role: BTreeMap<String, u64> = BTreeMap::new();
    for (role, log) in gas {
        for (op, g) in &log.0 {
            let e = per_op.entry(op.clone()).or_default();
            e.0 += g;
            e.1 += 1;
        }
        *by_role.entry((*role).into()).or_default() += log.total();
    }
    Ok(TaskSummary {
        final_accuracy: accuracy_per_round.last().copied().unwrap_or_default(),
        accuracy_per_round,
        rounds: opts.rounds,
        participants: who.participants.len(),
        evaluators: who.evaluators.len(),
        deposit_wei: opts.deposit.to_string(),
        paid_participants_wei: paid_p.to_string(),
        paid_evaluators_wei: paid_e.to_string(),
        refundable_wei: refundable.to_string(),
        accounting_exact: paid_p + paid_e + refundable == opts.deposit,
        slashed_evaluators: gone.iter().map(|a| a.to_string()).collect(),
        zero_reward_participants: outcomes
            .iter()
            .filter(|o| o.reward_wei == "0")
            .map(|o| o.index)
            .collect(),
        gas: per_op
            .into_iter()
            .map(|(op, (total, calls))| (op, total / calls.max(1)))
            .collect(),
        gas_by_role: by_role,
        participant_outcomes: outcomes,
        evaluator_outcomes,
        restarts,
        verified_rounds,
        rejected_subgroups,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Median score of every scored Participant (from `SubgroupScored` events and the
/// final round's assignment).
fn scores_by_participant<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
) -> Result<BTreeMap<Address, u32>> {
    let st = din.round_state(task)?;
    let n = u64::from(st.numParticipants);
    let (pseed, _) = din.seeds(task)?;
    let by_position = din_chain::scripted::members_by_position(n, pseed)?;
    let list = din.participants_of(task)?;
    let mut out = BTreeMap::new();
    for ev in din.events::<DinTaskManager::SubgroupScored>()? {
        if ev.taskId != task {
            continue;
        }
        let (first, _) = din_chain::scripted::subgroup_range(ev.subgroup, n, st.numSubgroups);
        for (i, m) in ev.medians.iter().enumerate() {
            if let Some(a) = by_position
                .get(first + i)
                .and_then(|&idx| list.get(idx as usize))
            {
                out.insert(*a, *m);
            }
        }
    }
    Ok(out)
}
