//! The Model Owner (paper §5.1 steps 1, 3f, 4; §5.2): creates the task with its
//! genesis model and reward deposit, starts training once enough Participants and
//! Evaluators joined, draws every round's seed, finalizes each subgroup by majority
//! once the aggregate window closes, **combines** the accepted aggregates into the
//! global model and publishes it, releases the sealed test set to the assigned
//! Evaluators after the last round, finalizes the median scores, settles, and takes
//! back what is refundable.
//!
//! Everything but the task id is read back from the chain, so a restarted Owner goes
//! on where it stopped; the task id is found again from the `TaskCreated` event even
//! when the process died between creating the task and recording it.

use din_chain::alloy::primitives::{Address, U256};
use din_chain::bindings::DinTaskManager;
use din_chain::client::TaskParams;
use din_chain::scripted::{finalize_hints, members_by_position, subgroup_range};
use din_chain::{Chain, Din};
use din_core::scoring::median_scores_fixed;
use din_core::sealed::DataKey;
use din_core::secagg::SubgroupAggregate;
use din_core::{Cid, Store};
use serde::{Deserialize, Serialize};

use super::{GasLog, StateDir, Step, evaluator_assignment, now, phase, slashed};
use crate::round::onchain::{accepted_aggregate, fixed_point, genesis, subgroups};
use crate::round::owner::combine;
use crate::round::{fetch, scoring};
use crate::{Error, Result};

const RECORD: &str = "owner.json";

/// What the Owner wants from its task.
#[derive(Debug, Clone)]
pub struct OwnerConfig {
    /// The task's parameters (`registrationEnd` is set from `registration_period` and
    /// `testSet` from the sealed `test_set` when the task is created; `token` must be
    /// the deployment's DIN token). `clipMilli`, `scaleBits` and `maxWeight` bound every
    /// Participant's input.
    pub params: TaskParams,
    /// Seconds registration stays open.
    pub registration_period: u64,
    /// Training starts as soon as this many Participants registered...
    pub participants: u32,
    /// ... and this many Evaluators joined (or when registration closes).
    pub evaluators: u32,
    /// The genesis model file (din-fl's model format).
    pub genesis: Vec<u8>,
    /// The test set (bytes the scorers read, e.g. din-fl's `Dataset::to_bytes`);
    /// sealed before the task is created (the task commits to it), opened only by the
    /// assigned Evaluators after the last round.
    pub test_set: Vec<u8>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Record {
    task: Option<u64>,
}

/// A Model Owner with one task.
pub struct OwnerRole<'a, C: Chain + ?Sized, S: Store + ?Sized> {
    din: Din<'a, C>,
    store: &'a S,
    me: Address,
    dir: StateDir,
    config: OwnerConfig,
    record: Record,
    /// Gas the Owner's transactions used.
    pub gas: GasLog,
    refunded: Option<u128>,
}

super::impl_role!(OwnerRole);

impl<C: Chain + ?Sized, S: Store + ?Sized> std::fmt::Debug for OwnerRole<'_, C, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerRole")
            .field("me", &self.me)
            .field("task", &self.record.task)
            .finish_non_exhaustive()
    }
}

/// Checks the task's SecAgg+ neighbours and threshold against every subgroup the task can
/// form: up to `2 * subgroupSize - 1` members, where an odd neighbour count is rounded up,
/// so the threshold must be a strict majority of `neighbours + neighbours % 2`.
fn check_secagg(p: &din_chain::client::TaskParams) -> Result<()> {
    let (s, k, t) = (
        u32::from(p.subgroupSize),
        u32::from(p.neighbours),
        u32::from(p.threshold),
    );
    let need = din_core::secagg::graph::majority_threshold(s, k);
    if k < 2 || k >= s || t < need || t > k {
        return Err(Error::Role {
            role: "owner",
            reason: format!(
                "secure aggregation with {k} neighbours and threshold {t} cannot run in every subgroup of a task with subgroups of {s}: \
                 need 2 <= neighbours < subgroup size and {need} <= threshold <= neighbours (a strict majority of the neighbours in the largest subgroup)"
            ),
        });
    }
    Ok(())
}

impl<'a, C: Chain + ?Sized, S: Store + ?Sized> OwnerRole<'a, C, S> {
    /// Owner `me` (holding the deposit in DIN tokens), state in `dir`.
    ///
    /// # Errors
    /// [`Error::State`] for an unreadable state directory; [`Error::Role`] for
    /// secure-aggregation parameters that some subgroup of the task could not run.
    pub fn new(
        din: Din<'a, C>,
        store: &'a S,
        me: Address,
        dir: StateDir,
        config: OwnerConfig,
    ) -> Result<Self> {
        check_secagg(&config.params)?;
        Ok(Self {
            din,
            store,
            me,
            record: dir.load(RECORD)?,
            dir,
            config,
            gas: GasLog::default(),
            refunded: None,
        })
    }

    /// The task, once created.
    pub fn task(&self) -> Option<u64> {
        self.record.task
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.me
    }

    /// What it took back as refund, once it has.
    pub fn refunded(&self) -> Option<u128> {
        self.refunded
    }

    fn task_id(&self) -> Result<u64> {
        self.record.task.ok_or_else(|| Error::Role {
            role: "owner",
            reason: "no task yet".into(),
        })
    }

    /// Does the next thing due; see the module docs.
    ///
    /// # Errors
    /// Chain, storage and decoding errors (the contract's named errors included).
    pub fn step(&mut self) -> Result<Step> {
        if self.record.task.is_none() {
            return self.create();
        }
        let task = self.task_id()?;
        let st = self.din.round_state(task)?;
        match st.phase {
            phase::REGISTRATION => self.start(task),
            phase::TRAINING => self.round(task, &st),
            phase::AWAITING_TEST_SET => self.release(task, &st),
            phase::SCORING => self.finish(task, &st),
            phase::SETTLED | phase::ABANDONED => {
                let t = self.din.task(task)?;
                if t.refundable > 0 && !t.refundClaimed {
                    let r = self.din.claim_refund(self.me, task)?;
                    self.gas.record("claim_refund", &r);
                    self.refunded = Some(t.refundable);
                    return Ok(Step::Acted(format!(
                        "took back {} refundable",
                        t.refundable
                    )));
                }
                self.refunded.get_or_insert(0);
                Ok(Step::Done)
            }
            other => Err(Error::Role {
                role: "owner",
                reason: format!("task {task} is in unknown phase {other}"),
            }),
        }
    }

    fn create(&mut self) -> Result<Step> {
        let genesis = self.store.put(&self.config.genesis)?;
        // A task created before a crash, not yet recorded?
        let existing = self
            .din
            .events::<DinTaskManager::TaskCreated>()?
            .into_iter()
            .find(|e| {
                e.owner == self.me
                    && din_chain::client::cid_from_bytes(&e.genesisModel).ok() == Some(genesis)
            });
        if let Some(e) = existing {
            self.record.task = Some(e.taskId);
            self.dir.save(RECORD, &self.record)?;
            return Ok(Step::Acted(format!("found its task {}", e.taskId)));
        }
        let mut params = self.config.params.clone();
        params.registrationEnd = now(&self.din)? + self.config.registration_period;
        let (_, sealed) = self.sealed_test_set()?;
        params.testSet = din_chain::client::cid_hash(&sealed);
        let r = self.din.approve(
            self.me,
            self.din.deployment.manager,
            U256::from(params.deposit),
        )?;
        self.gas.record("approve", &r);
        let (task, r) = self.din.create_task(self.me, &params, &genesis)?;
        self.gas.record("create_task", &r);
        self.record.task = Some(task);
        self.dir.save(RECORD, &self.record)?;
        Ok(Step::Acted(format!("created task {task}")))
    }

    /// The sealed test set's key and CID. The key comes from the Owner's secret and the
    /// test set's hash, and sealing is deterministic per key, so a restarted Owner seals
    /// the same bytes the task committed to.
    fn sealed_test_set(&self) -> Result<(DataKey, Cid)> {
        let mut label = b"din/owner/test-set-key/".to_vec();
        label.extend_from_slice(&din_core::hash::sha256(&self.config.test_set));
        let key = DataKey::from_bytes(self.dir.secret()?.derive_key(&label));
        let sealed = scoring::seal_test_set(self.store, &key, &self.config.test_set)?;
        Ok((key, sealed))
    }

    fn start(&mut self, task: u64) -> Result<Step> {
        let n = self.din.participants_of(task)?.len() as u32;
        let m = self.din.evaluators_of(task)?.len() as u32;
        let end = self.din.task(task)?.registrationEnd;
        if (n < self.config.participants || m < self.config.evaluators) && now(&self.din)? < end {
            return Ok(Step::wait(
                format!(
                    "registrations ({n}/{} participants, {m}/{} evaluators)",
                    self.config.participants, self.config.evaluators
                ),
                Some(end),
            ));
        }
        let r = self.din.start_training(self.me, task)?;
        self.gas.record("start_training", &r);
        Ok(Step::Acted(format!(
            "started training with {n} participants and {m} evaluators"
        )))
    }

    fn round(
        &mut self,
        task: u64,
        st: &din_chain::bindings::DinTaskBase::RoundState,
    ) -> Result<Step> {
        let round = st.round;
        if st.roundStart == 0 {
            let at = self.din.task(task)?.seedBlock;
            if self.din.chain().block()?.number <= at {
                return Ok(Step::wait(format!("block {} for the seed", at + 1), None));
            }
            let r = self.din.draw_seed(self.me, task)?;
            self.gas.record("draw_seed", &r);
            return Ok(Step::Acted(format!("drew the seed of round {round}")));
        }
        let (t0, p) = (st.roundStart, u64::from(st.stagePeriod));
        if now(&self.din)? < t0 + 5 * p {
            return Ok(Step::wait(
                format!("round {round}'s aggregates"),
                Some(t0 + 5 * p),
            ));
        }
        let per = st.evaluatorsPerSubgroup;
        for j in 0..st.numSubgroups {
            if self.din.subgroup_result(task, round, j)?.status == 0 {
                let (voters, hashes) = finalize_hints(&self.din, task, round, j, per)?;
                let r = self
                    .din
                    .finalize_subgroup(self.me, task, j, voters, hashes)?;
                self.gas.record("finalize_subgroup", &r);
                return Ok(Step::Acted(format!(
                    "round {round}: finalized subgroup {j}"
                )));
            }
        }
        let model = self.global_model(task, round)?;
        let r = self.din.publish_model(self.me, task, round, &model)?;
        self.gas.record("publish_model", &r);
        Ok(Step::Acted(format!("round {round}: published {model}")))
    }

    /// The round's global model: the accepted aggregates combined, as a model file with
    /// the genesis manifest; the previous model again when no subgroup was accepted.
    fn global_model(&self, task: u64, round: u16) -> Result<Cid> {
        let (manifest, len) = genesis(&self.din, self.store, task)?;
        let views = subgroups(&self.din, task, round, len)?;
        let mut accepted: Vec<SubgroupAggregate> = Vec::new();
        for v in &views {
            if let Some(cid) = accepted_aggregate(&self.din, task, round, v.subgroup)? {
                accepted.push(fetch(self.store, &cid)?);
            }
        }
        if accepted.is_empty() {
            return self
                .din
                .model(task, round.saturating_sub(1))?
                .ok_or_else(|| Error::Role {
                    role: "owner",
                    reason: format!("no model before round {round}"),
                });
        }
        let (global, _) = combine(&accepted, &fixed_point(&self.din.task(task)?, 1))?;
        Ok(self
            .store
            .put(&din_fl::params::encode_model(&manifest, &global))?)
    }

    fn release(
        &mut self,
        task: u64,
        st: &din_chain::bindings::DinTaskBase::RoundState,
    ) -> Result<Step> {
        let t = self.din.task(task)?;
        let p = u64::from(st.stagePeriod);
        // Participants have one stage period after the last model to contribute; the
        // contract opens the release only then (issue #14).
        let opens = t.scoringStart + p;
        if now(&self.din)? < opens {
            let contributed = scoring::contributions(&self.din, task)?.len();
            return Ok(Step::wait(
                format!("the contribution window ({contributed} contributions so far)"),
                Some(opens),
            ));
        }
        let gone = slashed(&self.din, task)?;
        let evaluators: Vec<Address> = evaluator_assignment(&self.din, task)?
            .into_iter()
            .filter(|(e, _, _)| !gone.contains(e))
            .map(|(e, _, _)| e)
            .collect();
        let keys = scoring::evaluator_keys(&self.din, &evaluators)?;
        let (key, sealed) = self.sealed_test_set()?;
        let (_, r) = scoring::release_test_set(
            &self.din,
            self.store,
            self.me,
            task,
            (&key, &sealed),
            &keys,
        )?;
        self.gas.record("release_test_set", &r);
        Ok(Step::Acted(format!(
            "released the sealed test set to {} evaluators",
            keys.len()
        )))
    }

    fn finish(
        &mut self,
        task: u64,
        st: &din_chain::bindings::DinTaskBase::RoundState,
    ) -> Result<Step> {
        let t = self.din.task(task)?;
        let p = u64::from(st.stagePeriod);
        if now(&self.din)? < t.scoringStart + 2 * p {
            return Ok(Step::wait("scores", Some(t.scoringStart + 2 * p)));
        }
        let n = u64::from(st.numParticipants);
        let g = st.numSubgroups;
        let revealed = self.din.events::<DinTaskManager::ScoresRevealed>()?;
        for j in 0..g {
            if self.din.subgroup_result(task, u16::MAX, j)?.status != 0 {
                continue;
            }
            let (first, size) = subgroup_range(j, n, g);
            let rows: Vec<Vec<u32>> = revealed
                .iter()
                .filter(|e| e.taskId == task && e.subgroup == j)
                .map(|e| e.scores.clone())
                .collect();
            let medians = if rows.is_empty() {
                vec![0; size]
            } else {
                median_scores_fixed(&rows)?.0
            };
            let (pseed, _) = self.din.seeds(task)?;
            let members = members_by_position(n, pseed)?
                .get(first..first + size)
                .unwrap_or_default()
                .to_vec();
            let r = self
                .din
                .finalize_scores(self.me, task, j, members, medians)?;
            self.gas.record("finalize_scores", &r);
            return Ok(Step::Acted(format!("finalized the scores of subgroup {j}")));
        }
        let r = self.din.settle(self.me, task)?;
        self.gas.record("settle", &r);
        Ok(Step::Acted("settled".into()))
    }
}
