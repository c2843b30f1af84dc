//! The Participant (paper §5.1 steps 2–3, §5.2): opts in, and in every round trains on
//! its local data from the last global model, takes part in its subgroup's secure
//! aggregation (advertise keys, share keys, **mask and upload** its update, reveal the
//! shares that unmask the survivors' sum), then seals its last local model to its
//! Evaluators for scoring, and finally claims its reward.
//!
//! Its round keys come from the current value of its stored ratchet
//! ([`din_core::secagg::RoundRatchet`], [`Participant::from_secret`]), and its trained
//! update is stored privately in its [`StateDir`] before it is masked, so after a crash it
//! rebuilds the round's client by replaying the messages the chain already has (without
//! publishing them again) and carries on. Once a round is over it advances the ratchet
//! and deletes the round's update: a copy of its directory taken later cannot unmask the
//! rounds before.

use din_chain::alloy::primitives::{Address, Bytes};
use din_chain::{Chain, Din};
use din_core::secagg::{AdvertiseKeys, Participant, RoundRatchet, ShareKeys};
use din_core::{ParamManifest, Store};
use serde::{Deserialize, Serialize};

use super::learning::LocalTrainer;
use super::{GasLog, StateDir, Step, evaluator_assignment, now, phase, slashed, stages_sent};
use crate::round::onchain::{SubgroupView, confirmed_messages, genesis, messages, subgroups};
use crate::round::published::{RoundMessages, fetch_bound, survivors};
use crate::round::{put, scoring};
use crate::{Error, Result};

const RECORD: &str = "participant.json";

/// Fault injection for test and demonstration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParticipantFault {
    /// Behaves.
    #[default]
    None,
    /// Uploads its masked update in this round, then vanishes for good: no unmasking
    /// shares, no later rounds, no contribution, no claim.
    VanishAfterMasking(u16),
    /// Writes words no honest encoding produces into its masked update in every round
    /// where it is the first member (client 0) of one of the first `subgroups`
    /// subgroups, so a task has one forger in each of them (review hole 4).
    ForgedWords {
        /// How it forges.
        forgery: Forgery,
        /// In subgroups `0..subgroups`.
        subgroups: u32,
    },
}

/// How a [`ParticipantFault::ForgedWords`] Participant forges its words. Masking hides
/// them; only the bounds check on the unmasked sum can catch them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// Adds a million to its weight word: without bound checks its subgroup's mean, and
    /// that subgroup's share of the global model, are its to set.
    HugeWeight,
    /// The most influence the bounds allow: the task's maximum weight, and every
    /// coordinate at the clip, opposite in sign to its own trained parameters (so
    /// pulling the global model away from where training takes it).
    WorstInBounds,
}

/// The messages a Participant's stage-`stage` decision (1: whom to share keys with, 2:
/// whose shares to mask against) rests on, fixed so that neither a restart nor a node
/// that lags or reorganizes can change it (review hole 5): the latest view when it is
/// already complete (every member advertised; every advertiser of the stage-1 view
/// shared: one message per member and stage, so nothing can be added), else the view at
/// the confirmed block once that block is past the stage's close; `None`: wait. Waiting
/// for every member rather than for a count also keeps a share message from a member
/// that never advertised from starting the masking early (review of v2, attack 4).
fn settled<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    at: (u64, u16),
    live: &Live,
    confirmations: u64,
    latest: &RoundMessages,
    (stage, t0, p): (u8, u64, u64),
) -> Result<Option<RoundMessages>> {
    let members = live.view.members.len();
    let stage1 = if latest.adverts.len() >= members {
        Some(latest.clone())
    } else {
        confirmed_messages(din, at, &live.view, confirmations, t0 + p)?
    };
    if stage == 1 {
        return Ok(stage1);
    }
    let Some(stage1) = stage1 else {
        return Ok(None);
    };
    let all_shared = stage1
        .adverts
        .iter()
        .all(|a| latest.shares.iter().any(|s| s.sender == a.sender));
    if all_shared {
        return Ok(Some(RoundMessages {
            adverts: stage1.adverts,
            ..latest.clone()
        }));
    }
    confirmed_messages(din, at, &live.view, confirmations, t0 + 2 * p)
}

/// Adds `value(j)` to word `j` of `masked` and `weight` to its last (weight) word,
/// modulo the word width.
fn forge(masked: &mut din_core::secagg::MaskedInput, value: impl Fn(usize) -> i64, weight: u64) {
    let bytes = masked.width.bytes();
    let n = masked.words.len() / bytes;
    for (j, w) in masked.words.chunks_exact_mut(bytes).enumerate() {
        let add = if j + 1 == n { weight } else { value(j) as u64 };
        if let Ok(b) = <[u8; 4]>::try_from(&*w) {
            w.copy_from_slice(&u32::from_le_bytes(b).wrapping_add(add as u32).to_le_bytes());
        } else if let Ok(b) = <[u8; 8]>::try_from(&*w) {
            w.copy_from_slice(&u64::from_le_bytes(b).wrapping_add(add).to_le_bytes());
        }
    }
}

/// What a Participant keeps across restarts (besides its secret and its updates).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Record {
    /// Rounds it trained in, with the update's weight (the update is `round-N.update`).
    trained: Vec<(u16, u64)>,
    /// Rounds it gave up (missed a deadline).
    skipped: Vec<u16>,
    /// It vanished (fault injection).
    vanished: bool,
    /// The survivor set it decided on in each round, persisted before revealing any
    /// share for it (review hole 5).
    #[serde(default)]
    survivors: Vec<(u16, Vec<u32>)>,
}

/// The client of the round in progress, rebuilt after a restart.
struct Live {
    round: u16,
    view: SubgroupView,
    client: Participant,
    /// Stages done by this client object (bit s = stage s).
    done: u8,
}

/// A Participant of one task.
pub struct ParticipantRole<'a, C: Chain + ?Sized, S: Store + ?Sized> {
    din: Din<'a, C>,
    store: &'a S,
    me: Address,
    task: u64,
    dir: StateDir,
    /// Forward-secure per-round secrets: advanced (the old value erased) once a round
    /// is over.
    ratchet: RoundRatchet,
    trainer: Box<dyn LocalTrainer + 'a>,
    fault: ParticipantFault,
    confirmations: u64,
    record: Record,
    live: Option<Live>,
    genesis: Option<(ParamManifest, u32)>,
    /// Gas this Participant's transactions used.
    pub gas: GasLog,
    claimed: Option<u128>,
}

super::impl_role!(ParticipantRole, ParticipantFault);

impl<'a, C: Chain + ?Sized, S: Store + ?Sized> ParticipantRole<'a, C, S> {
    /// Participant `me` of `task`, keeping its state in `dir` (its secret is created
    /// there on first use), training with `trainer`.
    ///
    /// # Errors
    /// [`Error::State`] for an unreadable state directory.
    pub fn new(
        din: Din<'a, C>,
        store: &'a S,
        me: Address,
        task: u64,
        dir: StateDir,
        trainer: Box<dyn LocalTrainer + 'a>,
    ) -> Result<Self> {
        Ok(Self {
            din,
            store,
            me,
            task,
            ratchet: dir.ratchet()?,
            record: dir.load(RECORD)?,
            dir,
            trainer,
            fault: ParticipantFault::None,
            confirmations: 0,
            live: None,
            genesis: None,
            gas: GasLog::default(),
            claimed: None,
        })
    }

    fn save(&self) -> Result<()> {
        self.dir.save(RECORD, &self.record)
    }

    fn genesis(&mut self) -> Result<(ParamManifest, u32)> {
        if let Some(g) = &self.genesis {
            return Ok(g.clone());
        }
        let g = genesis(&self.din, self.store, self.task)?;
        self.genesis = Some(g.clone());
        Ok(g)
    }

    /// Does the next thing due; see the module docs.
    ///
    /// # Errors
    /// Chain, storage, training and secure-aggregation errors. A failed step changed
    /// nothing that a later step cannot redo.
    pub fn step(&mut self) -> Result<Step> {
        if self.record.vanished {
            return Ok(Step::Done);
        }
        let st = self.din.round_state(self.task)?;
        let registered = self.din.participants_of(self.task)?.contains(&self.me);
        match st.phase {
            phase::NONE => Err(super::no_such_task("participant", self.task)),
            phase::REGISTRATION if !registered => {
                let r = self.din.register(self.me, self.task, Bytes::new())?;
                self.gas.record("register", &r);
                Ok(Step::Acted("registered".into()))
            }
            phase::REGISTRATION => Ok(Step::wait("training to start", None)),
            _ if !registered => Ok(Step::Done),
            phase::TRAINING => self.training(&st),
            phase::AWAITING_TEST_SET => self.contribute(),
            phase::SCORING => {
                // Contributed before a restart: the plaintext model may still be here.
                let rounds = self.din.task(self.task)?.rounds;
                self.dir.remove(&format!("round-{rounds}.update"))?;
                Ok(Step::wait("scores", None))
            }
            phase::SETTLED | phase::ABANDONED => {
                let owed = self.din.claimable(self.task, self.me)?;
                if owed.is_zero() {
                    self.claimed.get_or_insert(0);
                    return Ok(Step::Done);
                }
                let r = self.din.claim(self.me, self.task)?;
                self.gas.record("claim", &r);
                self.claimed = Some(u128::try_from(owed).unwrap_or(u128::MAX));
                Ok(Step::Acted(format!("claimed {owed}")))
            }
            other => Err(Error::Role {
                role: "participant",
                reason: format!("task {} is in unknown phase {other}", self.task),
            }),
        }
    }

    /// The survivor set of `round`, decided once (review hole 5): from the view pinned
    /// at the confirmed block, once that block is past the masked-input stage
    /// (`closes`), by the public rule over the bound messages (the set the Evaluators
    /// unmask), and persisted before any share is revealed for it. A restarted
    /// Participant, or one whose node later shows another set, keeps the first decision,
    /// so it never reveals the mask-key share of a member it once counted as a
    /// survivor. `None`: the confirmed block is not past the stage yet.
    fn survivor_decision(&mut self, round: u16, closes: u64) -> Result<Option<Vec<u32>>> {
        if let Some((_, decided)) = self.record.survivors.iter().find(|(r, _)| *r == round) {
            return Ok(Some(decided.clone()));
        }
        let Some(live) = self.live.as_ref() else {
            return Ok(None);
        };
        let Some(msgs) = confirmed_messages(
            &self.din,
            (self.task, round),
            &live.view,
            self.confirmations,
            closes,
        )?
        else {
            return Ok(None);
        };
        let alive = survivors(self.store, &live.view.params, &msgs)?;
        self.record.survivors.push((round, alive.clone()));
        self.save()?;
        Ok(Some(alive))
    }

    fn skip(&mut self, round: u16, why: &str) -> Result<Step> {
        if !self.record.skipped.contains(&round) {
            self.record.skipped.push(round);
            self.save()?;
        }
        self.live = None;
        self.forget(round)?;
        Ok(Step::Acted(format!("gave up round {round}: {why}")))
    }

    /// Round `round` is over for this client: advance the ratchet past it (its secrets
    /// erased from memory and from the state directory) and delete its plaintext local
    /// update, except the last round's, which the sealed contribution still needs (it
    /// goes once the contribution is recorded). A copy of the directory taken later
    /// cannot unmask this round's masked input.
    fn forget(&mut self, round: u16) -> Result<()> {
        let next = u32::from(round) + 1;
        if self.ratchet.round() < next {
            self.ratchet.advance_to(next);
            self.dir.save_ratchet(&self.ratchet)?;
        }
        if round < self.din.task(self.task)?.rounds {
            self.dir.remove(&format!("round-{round}.update"))?;
        }
        Ok(())
    }

    fn training(&mut self, st: &din_chain::bindings::DinTaskBase::RoundState) -> Result<Step> {
        let round = st.round;
        if st.roundStart == 0 {
            return Ok(Step::wait(format!("the seed of round {round}"), None));
        }
        if self.record.skipped.contains(&round) {
            return Ok(Step::wait(format!("round {}", round + 1), None));
        }
        let (t0, p) = (st.roundStart, u64::from(st.stagePeriod));
        let now = now(&self.din)?;
        let sent = stages_sent(&self.din, self.task, round, self.me)?;
        if sent & 0b1000 != 0 {
            self.live = None;
            self.forget(round)?;
            return Ok(Step::wait(format!("round {round} to be aggregated"), None));
        }
        // The round's client: rebuilt (stage 0 replayed) when this process has none.
        if self.live.as_ref().map(|l| l.round) != Some(round) {
            if crate::round::onchain::round_seed(&self.din, self.task, round)?.is_none() {
                // The state says drawn; the node has not indexed the event yet.
                return Ok(Step::wait(format!("the seed event of round {round}"), None));
            }
            let (_, len) = self.genesis()?;
            let views = subgroups(&self.din, self.task, round, len)?;
            let Some(view) = views.into_iter().find(|v| v.index_of(&self.me).is_some()) else {
                return Ok(Step::wait(
                    format!("round {} (not in a subgroup)", round + 1),
                    None,
                ));
            };
            let index = view.index_of(&self.me).unwrap_or_default();
            let Ok(secret) = self.ratchet.secret_for(u32::from(round)) else {
                return self.skip(round, "its secrets for this round were already erased");
            };
            let (client, advert) = Participant::from_secret(view.params.clone(), index, &secret)?;
            let mut live = Live {
                round,
                view,
                client,
                done: 0,
            };
            if sent & 1 == 0 {
                if now >= t0 + p {
                    return self.skip(round, "joined after the key advertisement closed");
                }
                let cid = put(self.store, &advert)?;
                let r = self
                    .din
                    .submit_message(self.me, self.task, round, 0, &cid)?;
                self.gas.record("submit_message", &r);
                live.done = 1;
                self.live = Some(live);
                return Ok(Step::Acted(format!("round {round}: advertised keys")));
            }
            live.done = 1;
            self.live = Some(live);
        }
        let Some(live) = self.live.as_mut() else {
            return Ok(Step::wait("a round", None));
        };
        let msgs = messages(&self.din, self.task, round, &live.view)?;
        let at = (self.task, round);

        // Stage 1: share keys once every member advertised, or the stage closed.
        if live.done & 0b10 == 0 {
            if sent & 0b10 == 0 && now >= t0 + 2 * p {
                return self.skip(round, "missed the key sharing");
            }
            let Some(msgs) = settled(&self.din, at, live, self.confirmations, &msgs, (1, t0, p))?
            else {
                return Ok(Step::wait("the subgroup's keys", Some(t0 + p)));
            };
            let (adverts, _) =
                fetch_bound::<AdvertiseKeys, _>(self.store, &live.view.params, &msgs.adverts)?;
            let shares = live.client.share_keys(&adverts)?;
            live.done |= 0b10;
            if sent & 0b10 == 0 {
                let cid = put(self.store, &shares)?;
                let r = self
                    .din
                    .submit_message(self.me, self.task, round, 1, &cid)?;
                self.gas.record("submit_message", &r);
                return Ok(Step::Acted(format!("round {round}: shared keys")));
            }
            // Replayed after a restart: the chain has the first ones; these are dropped.
        }

        // Stage 2: train, mask and upload once every advertiser shared, or the stage closed.
        if live.done & 0b100 == 0 {
            if sent & 0b100 == 0 && now >= t0 + 3 * p {
                return self.skip(round, "missed the upload");
            }
            let Some(msgs) = settled(&self.din, at, live, self.confirmations, &msgs, (2, t0, p))?
            else {
                return Ok(Step::wait("the subgroup's key shares", Some(t0 + 2 * p)));
            };
            let round_ = round;
            let (update, weight) = self.update(round_)?;
            let Some(live) = self.live.as_mut() else {
                return Ok(Step::wait("a round", None));
            };
            let (shares, _) =
                fetch_bound::<ShareKeys, _>(self.store, &live.view.params, &msgs.shares)?;
            let fp = live.view.params.fixed_point;
            let forgery = match self.fault {
                ParticipantFault::ForgedWords { forgery, subgroups }
                    if live.client.index() == 0 && live.view.subgroup < subgroups =>
                {
                    Some(forgery)
                }
                _ => None,
            };
            let masked = match forgery {
                Some(Forgery::HugeWeight) => {
                    let mut m = live.client.mask(&update, weight, &shares)?;
                    forge(&mut m, |_| 0, 1_000_000);
                    m
                }
                Some(Forgery::WorstInBounds) => {
                    // Zeros at weight 1 encode exactly as (0, ..., 0, 1).
                    let mut m = live.client.mask(&vec![0.0; update.len()], 1, &shares)?;
                    let pull = (fp.max_weight as i64) * (fp.max_step() as i64);
                    let signs: Vec<i64> = update
                        .iter()
                        .map(|&u| if u > 0.0 { -pull } else { pull })
                        .collect();
                    forge(
                        &mut m,
                        |j| signs.get(j).copied().unwrap_or(0),
                        fp.max_weight - 1,
                    );
                    m
                }
                None => live.client.mask(&update, weight, &shares)?,
            };
            live.done |= 0b100;
            if sent & 0b100 == 0 {
                let cid = put(self.store, &masked)?;
                let r = self.din.submit_update(self.me, self.task, round, &cid)?;
                self.gas.record("submit_update", &r);
                if self.fault == ParticipantFault::VanishAfterMasking(round) {
                    self.record.vanished = true;
                    self.save()?;
                }
                return Ok(Step::Acted(format!(
                    "round {round}: uploaded its masked update"
                )));
            }
        }

        // Stage 3: reveal unmasking shares for the survivors.
        if now < t0 + 3 * p {
            return Ok(Step::wait("the unmasking stage", Some(t0 + 3 * p)));
        }
        if now >= t0 + 4 * p {
            return self.skip(round, "missed the unmasking stage");
        }
        let Some(alive) = self.survivor_decision(round, t0 + 3 * p)? else {
            return Ok(Step::wait("confirmations of the masked-input stage", None));
        };
        let Some(live) = self.live.as_mut() else {
            return Ok(Step::wait("a round", None));
        };
        let reveal = live.client.unmask(&alive)?;
        live.done |= 0b1000;
        let cid = put(self.store, &reveal)?;
        let r = self
            .din
            .submit_message(self.me, self.task, round, 3, &cid)?;
        self.gas.record("submit_message", &r);
        self.live = None;
        self.forget(round)?;
        Ok(Step::Acted(format!(
            "round {round}: revealed unmasking shares"
        )))
    }

    /// This round's update: trained now from the last global model, or read back from
    /// the state directory when it was trained before a restart.
    fn update(&mut self, round: u16) -> Result<(Vec<f32>, u64)> {
        let name = format!("round-{round}.update");
        if let (Some(bytes), Some(&(_, w))) = (
            self.dir.get_bytes(&name)?,
            self.record.trained.iter().find(|(r, _)| *r == round),
        ) {
            let (_, values) = din_fl::params::decode_model(&bytes)?;
            return Ok((values, w));
        }
        let (manifest, _) = self.genesis()?;
        let global_cid = self
            .din
            .model(self.task, round.saturating_sub(1))?
            .ok_or_else(|| Error::Role {
                role: "participant",
                reason: format!("no global model before round {round}"),
            })?;
        let (_, global) = din_fl::params::decode_model(&self.store.get(&global_cid)?)?;
        let (update, weight) = self.trainer.train(round, &global)?;
        self.dir
            .put_bytes(&name, &din_fl::params::encode_model(&manifest, &update))?;
        self.record.trained.retain(|(r, _)| *r != round);
        self.record.trained.push((round, weight));
        self.save()?;
        Ok((update, weight))
    }

    /// After the last round: seal the last local model to this Participant's
    /// Evaluators and record it.
    fn contribute(&mut self) -> Result<Step> {
        let rounds = self.din.task(self.task)?.rounds;
        let name = format!("round-{rounds}.update");
        if scoring::contributions(&self.din, self.task)?.contains_key(&self.me) {
            // Sealed and recorded: the plaintext model is no longer needed here.
            self.dir.remove(&name)?;
            return Ok(Step::wait("the test set and scores", None));
        }
        let Some(model) = self.dir.get_bytes(&name)? else {
            return Ok(Step::wait(
                "settlement (no model from the last round)",
                None,
            ));
        };
        let (_, len) = self.genesis()?;
        let views = subgroups(&self.din, self.task, rounds, len)?;
        let Some(view) = views.iter().find(|v| v.index_of(&self.me).is_some()) else {
            return Ok(Step::wait("settlement", None));
        };
        let gone = slashed(&self.din, self.task)?;
        let evaluators: Vec<Address> = evaluator_assignment(&self.din, self.task)?
            .into_iter()
            .filter(|(e, j, _)| *j == view.subgroup && !gone.contains(e))
            .map(|(e, _, _)| e)
            .collect();
        let keys = scoring::evaluator_keys(&self.din, &evaluators)?;
        let (_, r) =
            scoring::submit_contribution(&self.din, self.store, self.task, self.me, &model, &keys)?;
        self.gas.record("submit_contribution", &r);
        self.dir.remove(&name)?;
        Ok(Step::Acted(format!(
            "sealed its model to {} evaluators",
            keys.len()
        )))
    }
}
