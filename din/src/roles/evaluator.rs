//! The Evaluator (paper §4.1, §5.1 step 3d, §5.2): stakes, publishes its X25519 key,
//! joins a task; in every round it is assigned to, it rebuilds its subgroup from the
//! chain, **unmasks** the subgroup's sum and submits the aggregate's CID (honest
//! Evaluators store identical bytes, so their CIDs agree); after the last round it
//! opens the sealed test set and its subgroup's sealed contributions, scores them,
//! commits and reveals the scores, and claims its fee (which also unlocks its stake).
//!
//! Its X25519 key is derived from its stored secret, and the scores it commits are
//! stored (with their salt) before the commitment is sent, so a restarted Evaluator
//! can always reveal what it committed.

use std::collections::BTreeMap;

use din_chain::alloy::primitives::{Address, B256, U256};
use din_chain::bindings::DinTaskManager;
use din_chain::{Chain, Din};
use din_core::content::cid_of;
use din_core::scoring::score_batch_commitment;
use din_core::sealed::EvaluatorKey;
use din_core::secagg::ClientSecret;
use din_core::{Digest32, Store, TaskId};
use serde::{Deserialize, Serialize};

use super::learning::ContributionScorer;
use super::{GasLog, StateDir, Step, evaluator_assignment, now, phase, slashed};
use crate::round::evaluator::aggregate;
use crate::round::onchain::{SubgroupView, confirmed_messages, genesis, subgroups};
use crate::round::scoring;
use crate::{Error, Result};

const RECORD: &str = "evaluator.json";

/// How an Evaluator misbehaves (fault injection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvaluatorFault {
    /// Behaves.
    #[default]
    None,
    /// Submits a made-up aggregate CID in every round (caught by the majority and
    /// slashed).
    WrongAggregates,
    /// Aggregates honestly but reports inverted scores (caught by the median check and
    /// slashed).
    WrongScores,
    /// Submits every aggregate without checking it against the task's input bounds
    /// (review hole 4): what a round is worth without the check, for measurements. It is
    /// slashed where the honest majority rejects.
    NoBoundChecks,
}

/// Scores committed, kept until revealed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Record {
    /// Subgroup, slot, scores and salt (hex) of the commitment.
    committed: Option<(u32, u32, Vec<u32>, String)>,
}

/// An Evaluator of one task.
pub struct EvaluatorRole<'a, C: Chain + ?Sized, S: Store + ?Sized> {
    din: Din<'a, C>,
    store: &'a S,
    me: Address,
    task: u64,
    dir: StateDir,
    secret: ClientSecret,
    key: EvaluatorKey,
    scorer: Box<dyn ContributionScorer + 'a>,
    stake: U256,
    fault: EvaluatorFault,
    confirmations: u64,
    record: Record,
    vector_len: Option<u32>,
    /// Gas this Evaluator's transactions used.
    pub gas: GasLog,
    claimed: Option<u128>,
}

super::impl_role!(EvaluatorRole, EvaluatorFault);

impl<'a, C: Chain + ?Sized, S: Store + ?Sized> EvaluatorRole<'a, C, S> {
    /// Evaluator `me` of `task`, staking `stake` DIN wei if it has no stake yet (it
    /// must hold the tokens), with its state in `dir`, scoring with `scorer`.
    ///
    /// # Errors
    /// [`Error::State`] for an unreadable state directory.
    pub fn new(
        din: Din<'a, C>,
        store: &'a S,
        me: Address,
        task: u64,
        dir: StateDir,
        stake: U256,
        scorer: Box<dyn ContributionScorer + 'a>,
    ) -> Result<Self> {
        let secret = dir.secret()?;
        let seed = secret.derive_key(b"din/evaluator/x25519");
        Ok(Self {
            din,
            store,
            me,
            task,
            key: EvaluatorKey::from_bytes(seed),
            secret,
            record: dir.load(RECORD)?,
            dir,
            scorer,
            stake,
            fault: EvaluatorFault::None,
            confirmations: 0,
            vector_len: None,
            gas: GasLog::default(),
            claimed: None,
        })
    }

    /// Does the next thing due; see the module docs.
    ///
    /// # Errors
    /// Chain, storage and decoding errors; [`Error::Role`] when it cannot stake.
    pub fn step(&mut self) -> Result<Step> {
        let st = self.din.round_state(self.task)?;
        let joined = self.din.evaluators_of(self.task)?.contains(&self.me);
        match st.phase {
            phase::NONE => Err(super::no_such_task("evaluator", self.task)),
            phase::REGISTRATION if !joined => self.join(),
            phase::REGISTRATION => Ok(Step::wait("training to start", None)),
            _ if !joined => Ok(Step::Done),
            phase::SETTLED | phase::ABANDONED => self.claim(),
            _ if slashed(&self.din, self.task)?.contains(&self.me) => {
                // Out of the task: it can neither vote nor score. Its stake stays
                // locked until settlement, when claiming releases what is left.
                Ok(Step::wait("settlement (slashed)", None))
            }
            phase::TRAINING => self.aggregate_round(&st),
            phase::AWAITING_TEST_SET => Ok(Step::wait("the test set", None)),
            phase::SCORING => self.score(&st),
            other => Err(Error::Role {
                role: "evaluator",
                reason: format!("task {} is in unknown phase {other}", self.task),
            }),
        }
    }

    fn join(&mut self) -> Result<Step> {
        if self.din.stake_of(self.me)?.is_zero() {
            let balance = self.din.token_balance(self.me)?;
            if balance < self.stake {
                return Err(Error::Role {
                    role: "evaluator",
                    reason: format!(
                        "{} holds {balance} DIN wei and must stake {}",
                        self.me, self.stake
                    ),
                });
            }
            let r = self
                .din
                .approve(self.me, self.din.deployment.registry, self.stake)?;
            self.gas.record("approve", &r);
            let r = self.din.stake(self.me, self.stake)?;
            self.gas.record("stake", &r);
            return Ok(Step::Acted(format!("staked {}", self.stake)));
        }
        if self.din.encryption_key(self.me)? != Some(self.key.public()) {
            let r = self.din.set_encryption_key(self.me, self.key.public())?;
            self.gas.record("set_encryption_key", &r);
            return Ok(Step::Acted("published its encryption key".into()));
        }
        let r = self.din.join_as_evaluator(self.me, self.task)?;
        self.gas.record("join_as_evaluator", &r);
        Ok(Step::Acted("joined".into()))
    }

    fn my_assignment(&self) -> Result<Option<(u32, u32)>> {
        Ok(evaluator_assignment(&self.din, self.task)?
            .into_iter()
            .find(|(e, _, _)| *e == self.me)
            .map(|(_, j, slot)| (j, slot)))
    }

    /// Every update's length (from the genesis model, fetched once).
    fn vector_len(&mut self) -> Result<u32> {
        if let Some(len) = self.vector_len {
            return Ok(len);
        }
        let (_, len) = genesis(&self.din, self.store, self.task)?;
        self.vector_len = Some(len);
        Ok(len)
    }

    /// Subgroup `j` of `round`, as the chain defines it.
    fn view(&mut self, round: u16, j: u32) -> Result<SubgroupView> {
        let len = self.vector_len()?;
        let views = subgroups(&self.din, self.task, round, len)?;
        views
            .into_iter()
            .nth(j as usize)
            .ok_or_else(|| Error::Inconsistent {
                what: "evaluator assignment",
                reason: format!("assigned subgroup {j} is not one of round {round}'s"),
            })
    }

    fn aggregate_round(
        &mut self,
        st: &din_chain::bindings::DinTaskBase::RoundState,
    ) -> Result<Step> {
        let round = st.round;
        if st.roundStart == 0 {
            return Ok(Step::wait(format!("the seed of round {round}"), None));
        }
        let (t0, p) = (st.roundStart, u64::from(st.stagePeriod));
        let voted = self
            .din
            .events::<DinTaskManager::AggregateSubmitted>()?
            .iter()
            .any(|e| e.taskId == self.task && e.round == round && e.evaluator == self.me);
        if voted {
            return Ok(Step::wait(format!("round {}", round + 1), None));
        }
        let Some((j, _)) = self.my_assignment()? else {
            return Ok(Step::wait(
                format!("round {} (not assigned)", round + 1),
                None,
            ));
        };
        let now = now(&self.din)?;
        if now < t0 + 4 * p {
            return Ok(Step::wait(
                format!("round {round}'s unmasking shares"),
                Some(t0 + 4 * p),
            ));
        }
        if now >= t0 + 5 * p {
            return Ok(Step::wait(format!("round {} (missed)", round + 1), None));
        }
        let view = self.view(round, j)?;
        // Every message as the confirmed block shows it, once that block is past the
        // unmasking stage (review hole 5).
        let Some(msgs) = confirmed_messages(
            &self.din,
            (self.task, round),
            &view,
            self.confirmations,
            t0 + 4 * p,
        )?
        else {
            return Ok(Step::wait(
                format!("confirmations of round {round}'s unmasking stage"),
                None,
            ));
        };
        let (agg, cid) = match self.fault {
            EvaluatorFault::WrongAggregates => (
                None,
                cid_of(format!("a convenient aggregate from {}", self.me).as_bytes()),
            ),
            _ => {
                let (agg, cid) = aggregate(self.store, &view.params, &msgs)?;
                (Some(agg), cid)
            }
        };
        // A sum no bounded inputs can add up to is rejected: the subgroup is left out of
        // the round once a majority agrees (review hole 4).
        if let Some(agg) = agg
            && self.fault != EvaluatorFault::NoBoundChecks
            && let Err(e) = agg.sum.check_bounds(&view.params.fixed_point)
        {
            let r = self.din.reject_aggregate(self.me, self.task, round, j)?;
            self.gas.record("reject_aggregate", &r);
            return Ok(Step::Acted(format!(
                "round {round}: rejected subgroup {j} ({e})"
            )));
        }
        let r = self
            .din
            .submit_aggregate(self.me, self.task, round, j, &cid)?;
        self.gas.record("submit_aggregate", &r);
        Ok(Step::Acted(format!(
            "round {round}: aggregated subgroup {j}"
        )))
    }

    /// The salt of this Evaluator's score commitment for `subgroup` of its task.
    fn salt(&self, subgroup: u32) -> B256 {
        let label = format!("din/evaluator/score-salt/{}/{subgroup}", self.task);
        B256::from(*self.secret.derive_key(label.as_bytes()))
    }

    fn score(&mut self, st: &din_chain::bindings::DinTaskBase::RoundState) -> Result<Step> {
        let s0 = self.din.task(self.task)?.scoringStart;
        let p = u64::from(st.stagePeriod);
        let now = now(&self.din)?;
        let Some((j, slot)) = self.my_assignment()? else {
            return Ok(Step::wait("settlement (not assigned)", None));
        };
        let committed = self
            .din
            .events::<DinTaskManager::ScoresCommitted>()?
            .iter()
            .any(|e| e.taskId == self.task && e.evaluator == self.me);
        let revealed = self
            .din
            .events::<DinTaskManager::ScoresRevealed>()?
            .iter()
            .any(|e| e.taskId == self.task && e.evaluator == self.me);
        if !committed {
            if scoring::test_set_release(&self.din, self.task)?.is_none() {
                // The phase says released; the node has not indexed the event yet.
                return Ok(Step::wait("the test set event", None));
            }
            if now >= s0 + p {
                return Ok(Step::wait("settlement (missed the commit window)", None));
            }
            // A release it cannot use is disputed, not scored: a majority of disputes
            // abandons the task rather than refund the pool to the Owner (issue #14).
            if let Some(problem) = self.release_problem()? {
                let disputed = self
                    .din
                    .events::<DinTaskManager::ReleaseDisputed>()?
                    .iter()
                    .any(|e| e.taskId == self.task && e.evaluator == self.me);
                if disputed {
                    return Ok(Step::wait("settlement (disputed the release)", None));
                }
                let r = self.din.dispute_release(self.me, self.task, j)?;
                self.gas.record("dispute_release", &r);
                return Ok(Step::Acted(format!("disputed the release: {problem}")));
            }
            let scores = self.compute_scores(j)?;
            let salt = self.salt(j);
            self.record.committed = Some((j, slot, scores.clone(), salt.to_string()));
            self.dir.save(RECORD, &self.record)?;
            let c = score_batch_commitment(
                TaskId(self.task),
                &din_core::Address(self.me.0.0),
                j,
                &scores,
                &Digest32(salt.0),
            );
            let r = self
                .din
                .commit_scores(self.me, self.task, j, B256::from(c.0))?;
            self.gas.record("commit_scores", &r);
            return Ok(Step::Acted(format!("committed scores of subgroup {j}")));
        }
        if revealed {
            return Ok(Step::wait("settlement", None));
        }
        if now < s0 + p {
            return Ok(Step::wait("the reveal window", Some(s0 + p)));
        }
        if now >= s0 + 2 * p {
            return Ok(Step::wait("settlement (missed the reveal window)", None));
        }
        let Some((j, slot, scores, _)) = self.record.committed.clone() else {
            return Err(Error::Role {
                role: "evaluator",
                reason: "committed scores but their record is gone from the state directory".into(),
            });
        };
        let salt = self.salt(j);
        let r = self
            .din
            .reveal_scores(self.me, self.task, j, slot, scores, salt)?;
        self.gas.record("reveal_scores", &r);
        Ok(Step::Acted(format!("revealed scores of subgroup {j}")))
    }

    /// Why the Owner's release cannot be scored, if it cannot: the test set does not open
    /// with this Evaluator's wrapped key, or the final model is not the one the final
    /// round's accepted aggregates give.
    fn release_problem(&mut self) -> Result<Option<String>> {
        let (sealed, bundle) = scoring::released_test_set(&self.din, self.task)?;
        if let Err(e) =
            scoring::open_test_set(self.store, self.task, &sealed, &bundle, &self.me, &self.key)
        {
            return Ok(Some(format!("the test set does not open ({e})")));
        }
        let rounds = self.din.task(self.task)?.rounds;
        let report = crate::round::verify::verify_round(&self.din, self.store, self.task, rounds)?;
        if !report.ok() {
            return Ok(Some(format!(
                "the final model {:?} is not the recomputed {:?}",
                report.published, report.recomputed
            )));
        }
        Ok(None)
    }

    /// Scores of subgroup `j`'s members (shuffled-position order) on the test set: a
    /// missing or unreadable contribution scores 0.
    fn compute_scores(&mut self, j: u32) -> Result<Vec<u32>> {
        let rounds = self.din.task(self.task)?.rounds;
        let (sealed, bundle) = scoring::released_test_set(&self.din, self.task)?;
        let test =
            scoring::open_test_set(self.store, self.task, &sealed, &bundle, &self.me, &self.key)?;
        let global_cid = self
            .din
            .model(self.task, rounds)?
            .ok_or_else(|| Error::Role {
                role: "evaluator",
                reason: "no final model".into(),
            })?;
        let (_, global) = din_fl::params::decode_model(&self.store.get(&global_cid)?)?;
        let view = self.view(rounds, j)?;
        let contributions: BTreeMap<Address, din_core::Cid> =
            scoring::contributions(&self.din, self.task)?;
        let mut scores = Vec::with_capacity(view.members.len());
        for m in &view.members {
            let values = contributions.get(m).and_then(|cid| {
                let file = scoring::open_contribution(
                    self.store,
                    (self.task, m),
                    cid,
                    &self.me,
                    &self.key,
                )
                .ok()?;
                let (_, values) = din_fl::params::decode_model(&file).ok()?;
                (values.len() == global.len()).then_some(values)
            });
            let s = match values {
                Some(v) => self.scorer.score(&test, &global, &v)?,
                None => 0,
            };
            scores.push(s);
        }
        if self.fault == EvaluatorFault::WrongScores {
            for s in &mut scores {
                *s = din_core::scoring::SCORE_ONE - (*s).min(din_core::scoring::SCORE_ONE);
            }
        }
        Ok(scores)
    }

    fn claim(&mut self) -> Result<Step> {
        let owed = self.din.claimable(self.task, self.me)?;
        let released = self
            .din
            .events::<DinTaskManager::Claimed>()?
            .iter()
            .any(|e| e.taskId == self.task && e.account == self.me);
        if owed.is_zero() {
            if self.claimed.is_none() && !released {
                // Nothing owed: unlock what is left of the stake.
                let r = self.din.release_stake(self.me, self.task)?;
                self.gas.record("release_stake", &r);
                self.claimed = Some(0);
                return Ok(Step::Acted("released its stake".into()));
            }
            self.claimed.get_or_insert(0);
            return Ok(Step::Done);
        }
        let r = self.din.claim(self.me, self.task)?;
        self.gas.record("claim", &r);
        self.claimed = Some(u128::try_from(owed).unwrap_or(u128::MAX));
        Ok(Step::Acted(format!("claimed {owed}")))
    }
}
