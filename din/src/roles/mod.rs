//! The protocol's three roles as step machines (paper §4.1 and §5.1–§5.2): the Model
//! Owner ([`owner`]), the Participant ([`participant`]) and the Evaluator
//! ([`evaluator`]).
//!
//! A role is driven by calling its `step` method again and again. Each call reads where
//! the task stands from the chain (phase, round, seeds, stage deadlines, the CIDs others
//! published), does the next thing that is due for this role, if any, and says what it
//! did or what it is waiting for ([`Step`]). The chain is the source of truth and every
//! action first checks that it has not already happened there, so a role process that
//! is killed at any point and started again on the same [`StateDir`] resumes where it
//! was: no double submission, no lost round (a Participant's keys of a round are derived
//! from its stored [`din_core::secagg::ClientSecret`], so it can finish a round it
//! started before the crash).
//!
//! The same roles run all in one process on the embedded chain ([`crate::local`], the
//! quickstart), where a driver steps them in turn and moves the chain's clock to the
//! next deadline whenever all of them wait, or each in its own OS process against a
//! JSON-RPC node and an IPFS node (`examples/multiprocess`), where each polls.
//!
//! Local training and contribution scoring are pluggable ([`learning::LocalTrainer`],
//! [`learning::ContributionScorer`]); [`learning`] has din-fl implementations.

pub mod evaluator;
pub mod learning;
pub mod owner;
pub mod participant;
mod state;

use din_chain::alloy::primitives::Address;
use din_chain::bindings::DinTaskManager;
use din_chain::{Chain, Din};

pub use state::StateDir;

use crate::Result;

/// What one call of a role's `step` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// It acted (sent a transaction, stored something); step again.
    Acted(String),
    /// Nothing is due for this role yet.
    Waiting {
        /// What it waits for.
        reason: String,
        /// The chain time (seconds) at which a deadline ends the wait whatever the
        /// others do; `None` when only others' actions (or new blocks) end it.
        until: Option<u64>,
    },
    /// The role's part in the task is over.
    Done,
}

impl Step {
    pub(crate) fn wait(reason: impl Into<String>, until: Option<u64>) -> Self {
        Step::Waiting {
            reason: reason.into(),
            until,
        }
    }
}

/// What the three roles have in common, for drivers that step any of them.
pub trait Role {
    /// Does the next thing due.
    ///
    /// # Errors
    /// The role's errors; a failed step changed nothing a later step cannot redo.
    fn step(&mut self) -> Result<Step>;

    /// The gas of the transactions this role object sent.
    fn gas(&self) -> &GasLog;
}

macro_rules! impl_role {
    ($t:ident, $fault:ident) => {
        crate::roles::impl_role!($t);

        impl<C: din_chain::Chain + ?Sized, S: din_core::Store + ?Sized> $t<'_, C, S> {
            /// Acts on the chain as it stands `confirmations` blocks below its head
            /// (0, the default, suits the embedded chain; public networks want more): a
            /// reorganization or a node slow to index the newest blocks cannot change
            /// the survivor set a Participant reveals for, or the messages an Evaluator
            /// aggregates (review hole 5).
            pub fn with_confirmations(mut self, confirmations: u64) -> Self {
                self.confirmations = confirmations;
                self
            }

            /// Injects `fault` (test and demonstration runs).
            pub fn with_fault(mut self, fault: $fault) -> Self {
                self.fault = fault;
                self
            }

            /// Its address.
            pub fn address(&self) -> din_chain::alloy::primitives::Address {
                self.me
            }

            /// What it claimed, once it has.
            pub fn claimed(&self) -> Option<u128> {
                self.claimed
            }
        }

        impl<C: din_chain::Chain + ?Sized, S: din_core::Store + ?Sized> std::fmt::Debug
            for $t<'_, C, S>
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("me", &self.me)
                    .field("task", &self.task)
                    .field("dir", &self.dir)
                    .finish_non_exhaustive()
            }
        }
    };
    ($t:ident) => {
        impl<C: din_chain::Chain + ?Sized, S: din_core::Store + ?Sized> crate::roles::Role
            for $t<'_, C, S>
        {
            fn step(&mut self) -> crate::Result<crate::roles::Step> {
                $t::step(self)
            }

            fn gas(&self) -> &crate::roles::GasLog {
                &self.gas
            }
        }
    };
}
pub(crate) use impl_role;

/// Gas used by a role, per operation, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GasLog(pub Vec<(String, u64)>);

impl GasLog {
    pub(crate) fn record(&mut self, op: &str, receipt: &din_chain::backend::Receipt) {
        self.0.push((op.to_string(), receipt.gas_used));
    }

    /// Total gas.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, g)| g).sum()
    }
}

/// The task manager's phases, as `RoundState.phase` reports them.
pub mod phase {
    /// No such task.
    pub const NONE: u8 = 0;
    /// Registration open.
    pub const REGISTRATION: u8 = 1;
    /// Training rounds.
    pub const TRAINING: u8 = 2;
    /// After the last model, before the test set.
    pub const AWAITING_TEST_SET: u8 = 3;
    /// Score commit/reveal.
    pub const SCORING: u8 = 4;
    /// Settled: claims open.
    pub const SETTLED: u8 = 5;
    /// Abandoned: claims open.
    pub const ABANDONED: u8 = 6;
}

/// The error for a task id the task manager does not know.
pub(crate) fn no_such_task(role: &'static str, task: u64) -> crate::Error {
    crate::Error::Role {
        role,
        reason: format!("task {task} does not exist on this task manager"),
    }
}

/// The chain's clock: the latest block's timestamp.
///
/// # Errors
/// Transport failures.
pub fn now<C: Chain + ?Sized>(din: &Din<'_, C>) -> Result<u64> {
    Ok(din.chain().block()?.timestamp)
}

/// The stages (bit `s` = stage `s`) `who` has published in `round` of `task`.
///
/// # Errors
/// Chain errors.
pub fn stages_sent<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    round: u16,
    who: Address,
) -> Result<u8> {
    Ok(din
        .events::<DinTaskManager::Message>()?
        .into_iter()
        .filter(|e| e.taskId == task && e.round == round && e.sender == who && e.stage < 8)
        .fold(0u8, |acc, e| acc | (1u8 << e.stage)))
}

/// Evaluators slashed in `task` so far.
///
/// # Errors
/// Chain errors.
pub fn slashed<C: Chain + ?Sized>(din: &Din<'_, C>, task: u64) -> Result<Vec<Address>> {
    Ok(din
        .events::<DinTaskManager::EvaluatorPenalized>()?
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| e.evaluator)
        .collect())
}

/// The subgroup each Evaluator of `task` serves under the current evaluator seed, with
/// its slot: `(evaluator, subgroup, slot)` for the assigned ones.
///
/// # Errors
/// Chain errors.
pub fn evaluator_assignment<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
) -> Result<Vec<(Address, u32, u32)>> {
    let evaluators = din.evaluators_of(task)?;
    let state = din.round_state(task)?;
    let (_, eseed) = din.seeds(task)?;
    let m = evaluators.len() as u64;
    let mut out = Vec::new();
    for (k, e) in evaluators.into_iter().enumerate() {
        let (j, slot) = Din::<C>::evaluator_slot(k as u64, m, state.evaluatorsPerSubgroup, eseed)?;
        if j < state.numSubgroups {
            out.push((e, j, slot));
        }
    }
    Ok(out)
}
