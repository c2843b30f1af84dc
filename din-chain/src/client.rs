//! The typed DIN client: deploys the contracts and calls them on any [`Chain`].
//!
//! Every method encodes its call with the `sol!` bindings, sends it from a named account,
//! and returns the receipt (gas used included) or a decoded revert. CIDs travel as their
//! 36-byte binary form (CIDv1, raw or dag-pb, sha2-256), which the contracts validate.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::{SolCall, SolEvent};
use din_core::Cid;

use crate::backend::{Chain, LogFilter, Receipt, TxRequest};
use crate::bindings::{DinTaskManager, DinTaskScoring, DinToken, EvaluatorRegistry};
use crate::{Error, Result};

pub use crate::bindings::DinTaskBase::{RoundState, SubgroupResult, Task, TaskParams};

/// Addresses of one deployment of the DIN contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    /// The DIN token (ERC-20).
    pub token: Address,
    /// The evaluator registry.
    pub registry: Address,
    /// The task manager.
    pub manager: Address,
    /// Block of the deployment (log queries start here).
    pub block: u64,
}

/// Parameters of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    /// Tokens minted to the deployer.
    pub initial_supply: U256,
    /// Minimum evaluator stake.
    pub min_stake: U256,
    /// Stake taken per slashing offence.
    pub slash_penalty: U256,
    /// Seconds between an unstake request and the withdrawal.
    pub unstake_delay: u64,
    /// Receives slashed stake.
    pub treasury: Address,
}

impl DeployConfig {
    /// Sensible development defaults: 10^9 DIN minted, 100 DIN minimum stake, 50 DIN
    /// penalty, a one-day unstake delay, slashed stake to `treasury`.
    pub fn dev(treasury: Address) -> Self {
        let din = U256::from(10u64).pow(U256::from(18u64));
        Self {
            initial_supply: din * U256::from(1_000_000_000u64),
            min_stake: din * U256::from(100u64),
            slash_penalty: din * U256::from(50u64),
            unstake_delay: 86_400,
            treasury,
        }
    }
}

/// The binary form of a CID, as the contracts take it.
pub fn cid_bytes(cid: &Cid) -> Bytes {
    Bytes::from(cid.to_bytes())
}

/// Parses a CID that came back from the chain.
///
/// # Errors
/// [`Error::Decode`] when the bytes are not a CID.
pub fn cid_from_bytes(bytes: &[u8]) -> Result<Cid> {
    Cid::try_from(bytes).map_err(|e| Error::Decode {
        what: "CID",
        reason: e.to_string(),
    })
}

/// The hash the task manager keeps of an aggregate CID: `keccak256(cid bytes)`.
pub fn cid_hash(cid: &Cid) -> B256 {
    keccak256(cid.to_bytes())
}

/// The vote of an Evaluator that rejects a subgroup's sum as outside the task's bounds
/// (the contract's `REJECTED`: `keccak256` of the empty CID).
pub const REJECTED: B256 =
    alloy::primitives::b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

/// [`SubgroupResult::status`]: open (not finalized yet).
pub const STATUS_OPEN: u8 = 0;
/// [`SubgroupResult::status`]: an aggregate was accepted by a strict majority.
pub const STATUS_ACCEPTED: u8 = 1;
/// [`SubgroupResult::status`]: no aggregate had a strict majority; left out of the round.
pub const STATUS_FAILED: u8 = 2;
/// [`SubgroupResult::status`]: a strict majority rejected the sum as out of bounds; left
/// out of the round.
pub const STATUS_REJECTED: u8 = 3;

fn deploy_one<C: Chain + ?Sized>(
    chain: &C,
    from: Address,
    name: &'static str,
    code: &Bytes,
    args: Vec<u8>,
) -> Result<(Address, Receipt)> {
    let mut init = code.to_vec();
    init.extend_from_slice(&args);
    let r = chain.send(&TxRequest::deploy(from, init))?;
    let addr = r.contract_address.ok_or(Error::Deploy(name))?;
    Ok((addr, r))
}

/// Deploys token, registry and task manager (its scoring half first) from `deployer`,
/// and names the task manager in the registry. Returns the addresses and the five
/// receipts.
///
/// # Errors
/// Reverts and transport failures.
pub fn deploy<C: Chain + ?Sized>(
    chain: &C,
    deployer: Address,
    cfg: &DeployConfig,
) -> Result<(Deployment, Vec<Receipt>)> {
    use alloy::sol_types::SolValue;
    let (token, r1) = deploy_one(
        chain,
        deployer,
        "DinToken",
        &DinToken::BYTECODE,
        cfg.initial_supply.abi_encode(),
    )?;
    let (registry, r2) = deploy_one(
        chain,
        deployer,
        "EvaluatorRegistry",
        &EvaluatorRegistry::BYTECODE,
        (
            token,
            cfg.min_stake,
            cfg.slash_penalty,
            cfg.unstake_delay,
            cfg.treasury,
        )
            .abi_encode_params(),
    )?;
    let (scoring, r_scoring) = deploy_one(
        chain,
        deployer,
        "DinTaskScoring",
        &DinTaskScoring::BYTECODE,
        registry.abi_encode(),
    )?;
    let (manager, r3) = deploy_one(
        chain,
        deployer,
        "DinTaskManager",
        &DinTaskManager::BYTECODE,
        (registry, scoring).abi_encode_params(),
    )?;
    let r4 = chain.send(&TxRequest::call(
        deployer,
        registry,
        EvaluatorRegistry::setTaskManagerCall { manager }.abi_encode(),
    ))?;
    let block = r1.block_number;
    Ok((
        Deployment {
            token,
            registry,
            manager,
            block,
        },
        vec![r1, r2, r_scoring, r3, r4],
    ))
}

/// The DIN contracts of one deployment on one chain.
#[derive(Debug)]
pub struct Din<'c, C: Chain + ?Sized> {
    chain: &'c C,
    /// Where the contracts live.
    pub deployment: Deployment,
}

impl<C: Chain + ?Sized> Clone for Din<'_, C> {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain,
            deployment: self.deployment,
        }
    }
}

macro_rules! tx {
    ($(#[$doc:meta])* $name:ident => $contract:ident . $call:ident { $($arg:ident : $ty:ty),* }) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// The contract's named errors as [`Error::Revert`]; transport failures.
        #[allow(non_snake_case)]
        pub fn $name(&self, from: Address $(, $arg: $ty)*) -> Result<Receipt> {
            let to = self.address_of(stringify!($contract));
            self.send(from, to, $contract::$call { $($arg: $arg.into()),* })
        }
    };
}

impl<'c, C: Chain + ?Sized> Din<'c, C> {
    /// The contracts of `deployment` on `chain`.
    pub fn new(chain: &'c C, deployment: Deployment) -> Self {
        Self { chain, deployment }
    }

    /// The chain.
    pub fn chain(&self) -> &'c C {
        self.chain
    }

    fn address_of(&self, contract: &str) -> Address {
        match contract {
            "DinToken" => self.deployment.token,
            "EvaluatorRegistry" => self.deployment.registry,
            _ => self.deployment.manager,
        }
    }

    /// Sends `call` to `to` from `from`.
    ///
    /// # Errors
    /// Reverts and transport failures.
    pub fn send<T: SolCall>(&self, from: Address, to: Address, call: T) -> Result<Receipt> {
        self.chain
            .send(&TxRequest::call(from, to, call.abi_encode()))
    }

    /// Calls the view `call` on `to`.
    ///
    /// # Errors
    /// Reverts, transport failures, undecodable answers.
    pub fn view<T: SolCall>(&self, to: Address, call: T) -> Result<T::Return> {
        let out = self
            .chain
            .call(Address::ZERO, to, Bytes::from(call.abi_encode()))?;
        T::abi_decode_returns(&out).map_err(|e| Error::Decode {
            what: T::SIGNATURE,
            reason: e.to_string(),
        })
    }

    // ------------------------------------------------------------ token

    tx!(
        /// Approves `spender` to take `amount` of the DIN token from `from`.
        approve => DinToken.approveCall { spender: Address, value: U256 }
    );
    tx!(
        /// Transfers `value` DIN tokens from `from` to `to`.
        transfer => DinToken.transferCall { to: Address, value: U256 }
    );

    /// DIN token balance of `who`.
    ///
    /// # Errors
    /// Transport failures.
    pub fn token_balance(&self, who: Address) -> Result<U256> {
        self.view(
            self.deployment.token,
            DinToken::balanceOfCall { account: who },
        )
    }

    // ------------------------------------------------------------ registry

    tx!(
        /// Stakes `amount` (approve the registry first).
        stake => EvaluatorRegistry.stakeCall { amount: U256 }
    );
    tx!(
        /// Starts the unstake delay.
        request_unstake => EvaluatorRegistry.requestUnstakeCall {}
    );
    tx!(
        /// Withdraws the stake after the delay.
        withdraw => EvaluatorRegistry.withdrawCall {}
    );

    /// Evaluator: publishes its X25519 public key for sealed test-set keys.
    ///
    /// # Errors
    /// The registry's named errors (a zero key); transport failures.
    pub fn set_encryption_key(&self, from: Address, key: [u8; 32]) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.registry,
            EvaluatorRegistry::setEncryptionKeyCall {
                key: B256::from(key),
            },
        )
    }

    /// The X25519 public key `who` published (`None` if none).
    ///
    /// # Errors
    /// Transport failures.
    pub fn encryption_key(&self, who: Address) -> Result<Option<[u8; 32]>> {
        let k = self.view(
            self.deployment.registry,
            EvaluatorRegistry::encryptionKeyOfCall { evaluator: who },
        )?;
        Ok((k != B256::ZERO).then_some(k.0))
    }

    /// Stake of `who` in the registry.
    ///
    /// # Errors
    /// Transport failures.
    pub fn stake_of(&self, who: Address) -> Result<U256> {
        self.view(
            self.deployment.registry,
            EvaluatorRegistry::stakeOfCall { evaluator: who },
        )
    }

    // ------------------------------------------------------------ tasks

    /// Creates a task (approve the manager for the deposit first). Returns its id.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn create_task(
        &self,
        from: Address,
        params: &TaskParams,
        genesis: &Cid,
    ) -> Result<(u64, Receipt)> {
        let r = self.send(
            from,
            self.deployment.manager,
            DinTaskManager::createTaskCall {
                p: params.clone(),
                genesisModel: cid_bytes(genesis),
            },
        )?;
        let id = r
            .logs
            .iter()
            .find_map(|l| {
                DinTaskManager::TaskCreated::decode_raw_log(l.topics.iter().copied(), &l.data).ok()
            })
            .map(|e| e.taskId)
            .ok_or(Error::Decode {
                what: "TaskCreated",
                reason: "no TaskCreated event in the receipt".into(),
            })?;
        Ok((id, r))
    }

    tx!(
        /// Opts `from` in as a participant; `proof` goes to the task's gate.
        register => DinTaskManager.registerCall { taskId: u64, proof: Bytes }
    );
    tx!(
        /// Joins `from` as an evaluator (locks its stake).
        join_as_evaluator => DinTaskManager.joinAsEvaluatorCall { taskId: u64 }
    );
    tx!(
        /// Owner: closes registration and schedules round 1's seed.
        start_training => DinTaskManager.startTrainingCall { taskId: u64 }
    );
    tx!(
        /// Owner: cancels a task in registration.
        cancel => DinTaskManager.cancelCall { taskId: u64 }
    );
    tx!(
        /// Draws the current round's seed.
        draw_seed => DinTaskManager.drawSeedCall { taskId: u64 }
    );
    tx!(
        /// Anyone: abandons a task whose owner missed a deadline.
        abandon => DinTaskScoring.abandonCall { taskId: u64 }
    );
    tx!(
        /// Anyone: settles a scored or abandoned task.
        settle => DinTaskScoring.settleCall { taskId: u64 }
    );
    tx!(
        /// Pulls `from`'s reward or fee.
        claim => DinTaskScoring.claimCall { taskId: u64 }
    );
    tx!(
        /// Anyone: pays each of `accounts` what it is owed (skipping nothing-owed ones).
        claim_for => DinTaskScoring.claimForCall { taskId: u64, accounts: Vec<Address> }
    );
    tx!(
        /// Evaluator: unlocks its stake from a settled task (`claim` does it too).
        release_stake => DinTaskScoring.releaseStakeCall { taskId: u64 }
    );
    tx!(
        /// Owner: takes the refundable remainder.
        claim_refund => DinTaskScoring.claimRefundCall { taskId: u64 }
    );
    tx!(
        /// Assigned evaluator: disputes the release (test set, key bundle or final model
        /// unusable); a majority of a subgroup's evaluators abandons the task.
        dispute_release => DinTaskScoring.disputeReleaseCall { taskId: u64, subgroup: u32 }
    );
    tx!(
        /// Evaluator: commits to its scores of `subgroup`.
        commit_scores => DinTaskScoring.commitScoresCall { taskId: u64, subgroup: u32, commitment: B256 }
    );

    /// Participant: records a secure-aggregation message of `round` (stage 0..=3) by CID.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn submit_message(
        &self,
        from: Address,
        task: u64,
        round: u16,
        stage: u8,
        cid: &Cid,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskManager::submitMessageCall {
                taskId: task,
                round,
                stage,
                cid: cid_bytes(cid),
            },
        )
    }

    /// Participant: records its masked update of `round` by CID.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn submit_update(
        &self,
        from: Address,
        task: u64,
        round: u16,
        cid: &Cid,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskManager::submitUpdateCall {
                taskId: task,
                round,
                cid: cid_bytes(cid),
            },
        )
    }

    /// Participant, after the last round: publishes its sealed contribution by CID.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn submit_contribution(&self, from: Address, task: u64, cid: &Cid) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskManager::submitContributionCall {
                taskId: task,
                cid: cid_bytes(cid),
            },
        )
    }

    /// Evaluator: submits its aggregate of `subgroup` for `round`.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn submit_aggregate(
        &self,
        from: Address,
        task: u64,
        round: u16,
        subgroup: u32,
        cid: &Cid,
    ) -> Result<Receipt> {
        self.aggregate_vote(from, (task, round, subgroup), cid_bytes(cid))
    }

    /// `submitAggregate` with `cid` (empty: a rejection).
    fn aggregate_vote(
        &self,
        from: Address,
        (task, round, subgroup): (u64, u16, u32),
        cid: Bytes,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskManager::submitAggregateCall {
                taskId: task,
                round,
                subgroup,
                cid,
            },
        )
    }

    /// Evaluator: rejects `subgroup`'s unmasked sum of `round` as outside the task's
    /// bounds (an empty CID in `submitAggregate`; its vote is [`REJECTED`]).
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn reject_aggregate(
        &self,
        from: Address,
        task: u64,
        round: u16,
        subgroup: u32,
    ) -> Result<Receipt> {
        self.aggregate_vote(from, (task, round, subgroup), Bytes::new())
    }

    /// Finalizes `subgroup` of the current round; the hints repeat each slot's vote.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn finalize_subgroup(
        &self,
        from: Address,
        task: u64,
        subgroup: u32,
        voters: Vec<Address>,
        cid_hashes: Vec<B256>,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskManager::finalizeSubgroupCall {
                taskId: task,
                subgroup,
                voters,
                cidHashes: cid_hashes,
            },
        )
    }

    /// Owner: publishes the global model of `round`.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn publish_model(
        &self,
        from: Address,
        task: u64,
        round: u16,
        cid: &Cid,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskManager::publishModelCall {
                taskId: task,
                round,
                cid: cid_bytes(cid),
            },
        )
    }

    /// Owner: releases the encrypted test set and the wrapped keys.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn release_test_set(
        &self,
        from: Address,
        task: u64,
        test_set: &Cid,
        keys: &Cid,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskScoring::releaseTestSetCall {
                taskId: task,
                testSetCid: cid_bytes(test_set),
                keysCid: cid_bytes(keys),
            },
        )
    }

    /// Evaluator: reveals its scores of `subgroup` (its `slot` there, see
    /// [`Din::evaluator_slot`]).
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn reveal_scores(
        &self,
        from: Address,
        task: u64,
        subgroup: u32,
        slot: u32,
        scores: Vec<u32>,
        salt: B256,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskScoring::revealScoresCall {
                taskId: task,
                subgroup,
                slot: U256::from(slot),
                scores,
                salt,
            },
        )
    }

    /// Anyone: records `subgroup`'s medians after the reveal window.
    ///
    /// # Errors
    /// The contract's named errors; transport failures.
    pub fn finalize_scores(
        &self,
        from: Address,
        task: u64,
        subgroup: u32,
        members: Vec<u32>,
        medians: Vec<u32>,
    ) -> Result<Receipt> {
        self.send(
            from,
            self.deployment.manager,
            DinTaskScoring::finalizeScoresCall {
                taskId: task,
                subgroup,
                members,
                medians,
            },
        )
    }

    // ------------------------------------------------------------ views

    /// The hot state of a task.
    ///
    /// # Errors
    /// Transport failures.
    pub fn round_state(&self, task: u64) -> Result<RoundState> {
        self.view(
            self.deployment.manager,
            DinTaskManager::roundStateCall { taskId: task },
        )
    }

    /// The rest of a task's record.
    ///
    /// # Errors
    /// Transport failures.
    pub fn task(&self, task: u64) -> Result<Task> {
        self.view(
            self.deployment.manager,
            DinTaskManager::taskCall { taskId: task },
        )
    }

    /// The current round's derived participant and evaluator seeds.
    ///
    /// # Errors
    /// Transport failures.
    pub fn seeds(&self, task: u64) -> Result<(B256, B256)> {
        let s = self.view(
            self.deployment.manager,
            DinTaskManager::seedsCall { taskId: task },
        )?;
        Ok((s.participantSeed, s.evaluatorSeed))
    }

    /// The global model of `round` (0: genesis), if published.
    ///
    /// # Errors
    /// Transport failures; [`Error::Decode`] if the stored bytes are not a CID.
    pub fn model(&self, task: u64, round: u16) -> Result<Option<Cid>> {
        let b = self.view(
            self.deployment.manager,
            DinTaskManager::modelCall {
                taskId: task,
                round,
            },
        )?;
        if b.is_empty() {
            return Ok(None);
        }
        cid_from_bytes(&b).map(Some)
    }

    /// A subgroup's outcome in `round` (65535: its scoring).
    ///
    /// # Errors
    /// Transport failures.
    pub fn subgroup_result(&self, task: u64, round: u16, subgroup: u32) -> Result<SubgroupResult> {
        self.view(
            self.deployment.manager,
            DinTaskManager::subgroupResultCall {
                taskId: task,
                round,
                subgroup,
            },
        )
    }

    /// Registered participants (index = position).
    ///
    /// # Errors
    /// Transport failures.
    pub fn participants_of(&self, task: u64) -> Result<Vec<Address>> {
        self.view(
            self.deployment.manager,
            DinTaskManager::participantsOfCall { taskId: task },
        )
    }

    /// Joined evaluators (index = position).
    ///
    /// # Errors
    /// Transport failures.
    pub fn evaluators_of(&self, task: u64) -> Result<Vec<Address>> {
        self.view(
            self.deployment.manager,
            DinTaskManager::evaluatorsOfCall { taskId: task },
        )
    }

    /// What `who` may claim from a settled task.
    ///
    /// # Errors
    /// Transport failures.
    pub fn claimable(&self, task: u64, who: Address) -> Result<U256> {
        self.view(
            self.deployment.manager,
            DinTaskScoring::claimableCall {
                taskId: task,
                account: who,
            },
        )
    }

    /// din-core's `shuffled_index` run by the contracts' own code (exposed by the
    /// registry: the task manager is at the contract size limit).
    ///
    /// # Errors
    /// Transport failures; [`Error::Revert`] for an out-of-range index or count.
    pub fn shuffled_index(&self, index: u64, count: u64, seed: B256) -> Result<u64> {
        let r = self.view(
            self.deployment.registry,
            EvaluatorRegistry::shuffledIndexCall {
                index: U256::from(index),
                count: U256::from(count),
                seed,
            },
        )?;
        u64::try_from(r).map_err(|e| Error::Decode {
            what: "shuffledIndex",
            reason: e.to_string(),
        })
    }

    /// The slot of evaluator `index` among `evaluators` joined, in its subgroup (its
    /// shuffled position modulo `per_subgroup`), computed off-chain with din-core.
    ///
    /// # Errors
    /// [`Error::Core`] for out-of-range arguments.
    pub fn evaluator_slot(
        index: u64,
        evaluators: u64,
        per_subgroup: u8,
        evaluator_seed: B256,
    ) -> Result<(u32, u32)> {
        let seed = din_core::Digest32(evaluator_seed.0);
        let q = din_core::assignment::shuffled_index(index, evaluators, &seed)?;
        let per = u64::from(per_subgroup.max(1));
        Ok(((q / per) as u32, (q % per) as u32))
    }

    /// Logs of the task manager for `event` since the deployment.
    ///
    /// # Errors
    /// Transport failures.
    pub fn events<E: SolEvent>(&self) -> Result<Vec<E>> {
        self.events_until(None)
    }

    /// [`Din::events`] up to block `to_block` (`None`: the latest): the view pinned at a
    /// confirmed block, which a lagging node or a reorg above it cannot change.
    ///
    /// # Errors
    /// Transport failures; undecodable logs.
    pub fn events_until<E: SolEvent>(&self, to_block: Option<u64>) -> Result<Vec<E>> {
        let logs = self.chain.logs(&LogFilter {
            address: self.deployment.manager,
            from_block: self.deployment.block,
            to_block,
            event: Some(E::SIGNATURE_HASH),
        })?;
        logs.iter()
            .map(|l| {
                E::decode_raw_log(l.topics.iter().copied(), &l.data).map_err(|e| Error::Decode {
                    what: E::SIGNATURE,
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}
