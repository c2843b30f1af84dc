//! The embedded chain: revm in-process.
//!
//! Every transaction is mined in its own block (like anvil's automine). Block `n` has
//! timestamp `GENESIS_TIMESTAMP + 12 n` plus whatever [`DevChain::advance_time`] added,
//! and `blockhash(n)` is revm's deterministic `keccak256(decimal(n))`: a simulation, not a
//! source of unpredictable randomness. The hard fork is Prague, like the anvil the tests
//! run, so gas figures agree between the two.

use std::collections::BTreeSet;
use std::sync::Mutex;

use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{Context, DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};

use super::{BlockInfo, Chain, DevChain, LogEntry, LogFilter, Receipt, TxRequest};
use crate::{Error, Result};

/// Timestamp of block 0 (2024-01-01T00:00:00Z).
pub const GENESIS_TIMESTAMP: u64 = 1_704_067_200;
/// Seconds between consecutive blocks.
pub const BLOCK_TIME: u64 = 12;
/// Block gas limit (and the gas limit of every transaction).
pub const BLOCK_GAS_LIMIT: u64 = 30_000_000;
/// Chain id of the embedded chain (anvil's default, so signatures would carry over).
pub const CHAIN_ID: u64 = 31_337;

type Db = CacheDB<EmptyDB>;

struct State {
    db: Db,
    number: u64,
    timestamp: u64,
    logs: Vec<LogEntry>,
    accounts: BTreeSet<Address>,
    /// `(first block, its timestamp)` of each run of blocks `BLOCK_TIME` apart.
    runs: Vec<(u64, u64)>,
}

/// An in-process EVM chain (see the module docs).
pub struct EmbeddedChain {
    state: Mutex<State>,
}

impl Default for EmbeddedChain {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let block = self.block().ok();
        f.debug_struct("EmbeddedChain")
            .field("block", &block)
            .finish()
    }
}

impl EmbeddedChain {
    /// An empty chain at block 0.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                db: CacheDB::new(EmptyDB::default()),
                number: 0,
                timestamp: GENESIS_TIMESTAMP,
                logs: Vec::new(),
                accounts: BTreeSet::new(),
                runs: vec![(0, GENESIS_TIMESTAMP)],
            }),
        }
    }

    /// Lets `signer`'s address send transactions. The embedded chain checks no
    /// signatures (gas is free here), but keeps the same account discipline as a node.
    pub fn add_signer(&self, signer: &PrivateKeySigner) -> Address {
        self.add_account(signer.address())
    }

    /// Lets `who` send transactions.
    pub fn add_account(&self, who: Address) -> Address {
        if let Ok(mut s) = self.state.lock() {
            s.accounts.insert(who);
        }
        who
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::Backend("embedded chain state poisoned by a panic".into()))
    }

    fn cfg() -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(SpecId::PRAGUE);
        cfg.chain_id = CHAIN_ID;
        cfg
    }

    fn block_env(number: u64, timestamp: u64) -> BlockEnv {
        BlockEnv {
            number: U256::from(number),
            timestamp: U256::from(timestamp),
            gas_limit: BLOCK_GAS_LIMIT,
            basefee: 0,
            prevrandao: Some(keccak256(number.to_be_bytes())),
            ..BlockEnv::default()
        }
    }

    fn tx_env(s: &State, tx: &TxRequest) -> Result<TxEnv> {
        let nonce =
            s.db.basic_ref(tx.from)
                .map_err(|e| Error::Backend(e.to_string()))?
                .map_or(0, |a| a.nonce);
        TxEnv::builder()
            .caller(tx.from)
            .kind(tx.to.map_or(TxKind::Create, TxKind::Call))
            .data(tx.data.clone())
            .value(tx.value)
            .gas_limit(BLOCK_GAS_LIMIT)
            .gas_price(0)
            .nonce(nonce)
            .chain_id(Some(CHAIN_ID))
            .build()
            .map_err(|e| Error::Backend(format!("{e:?}")))
    }
}

fn tx_hash(number: u64, tx: &TxRequest) -> B256 {
    let mut input = Vec::with_capacity(8 + 20 + tx.data.len());
    input.extend_from_slice(&number.to_be_bytes());
    input.extend_from_slice(tx.from.as_slice());
    input.extend_from_slice(&tx.data);
    keccak256(input)
}

impl Chain for EmbeddedChain {
    fn chain_id(&self) -> Result<u64> {
        Ok(CHAIN_ID)
    }

    fn block(&self) -> Result<BlockInfo> {
        let s = self.lock()?;
        Ok(BlockInfo {
            number: s.number,
            timestamp: s.timestamp,
        })
    }

    fn call(&self, from: Address, to: Address, data: Bytes) -> Result<Bytes> {
        let mut s = self.lock()?;
        let tx = Self::tx_env(&s, &TxRequest::call(from, to, data))?;
        // A call runs in a block after the latest, as eth_call on a pending block would.
        let block = Self::block_env(s.number + 1, s.timestamp + BLOCK_TIME);
        let db = &mut s.db;
        let mut evm = Context::mainnet()
            .with_db(db)
            .with_cfg(Self::cfg())
            .with_block(block)
            .build_mainnet();
        let out = evm
            .transact(tx)
            .map_err(|e| Error::Backend(format!("{e:?}")))?;
        match out.result {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(Error::Revert { data: output }),
            ExecutionResult::Halt { reason, .. } => Err(Error::Halt(format!("{reason:?}"))),
        }
    }

    fn send(&self, tx: &TxRequest) -> Result<Receipt> {
        let mut s = self.lock()?;
        if !s.accounts.contains(&tx.from) {
            return Err(Error::UnknownAccount(tx.from));
        }
        let env = Self::tx_env(&s, tx)?;
        let number = s.number + 1;
        let timestamp = s.timestamp + BLOCK_TIME;
        // Execute without committing; commit only a success. A reverting transaction is
        // not mined (as a node's gas estimation would refuse it): it changes nothing, not
        // even the sender's nonce.
        let result = {
            let db = &mut s.db;
            let mut evm = Context::mainnet()
                .with_db(db)
                .with_cfg(Self::cfg())
                .with_block(Self::block_env(number, timestamp))
                .build_mainnet();
            let out = evm
                .transact(env)
                .map_err(|e| Error::Backend(format!("{e:?}")))?;
            match out.result {
                ExecutionResult::Revert { output, .. } => {
                    return Err(Error::Revert { data: output });
                }
                ExecutionResult::Halt { reason, .. } => {
                    return Err(Error::Halt(format!("{reason:?}")));
                }
                ExecutionResult::Success { .. } => {}
            }
            evm.commit(out.state);
            out.result
        };
        s.number = number;
        s.timestamp = timestamp;
        s.runs.push((number, timestamp));
        match result {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => {
                let logs: Vec<LogEntry> = logs
                    .into_iter()
                    .map(|l| LogEntry {
                        address: l.address,
                        topics: l.data.topics().to_vec(),
                        data: l.data.data.clone(),
                        block_number: number,
                    })
                    .collect();
                s.logs.extend(logs.iter().cloned());
                let contract_address = match output {
                    Output::Create(_, addr) => addr,
                    Output::Call(_) => None,
                };
                Ok(Receipt {
                    tx_hash: tx_hash(number, tx),
                    gas_used: gas.tx_gas_used(),
                    block_number: number,
                    contract_address,
                    logs,
                })
            }
            ExecutionResult::Revert { output, .. } => Err(Error::Revert { data: output }),
            ExecutionResult::Halt { reason, .. } => Err(Error::Halt(format!("{reason:?}"))),
        }
    }

    fn block_at(&self, number: u64) -> Result<BlockInfo> {
        let s = self.lock()?;
        if number > s.number {
            return Err(Error::Backend(format!(
                "block {number} is beyond the latest, {}",
                s.number
            )));
        }
        let (first, t) = s
            .runs
            .iter()
            .rev()
            .find(|(n, _)| *n <= number)
            .copied()
            .unwrap_or((0, GENESIS_TIMESTAMP));
        Ok(BlockInfo {
            number,
            timestamp: t + (number - first) * BLOCK_TIME,
        })
    }

    fn logs(&self, filter: &LogFilter) -> Result<Vec<LogEntry>> {
        let s = self.lock()?;
        Ok(s.logs
            .iter()
            .filter(|l| {
                l.address == filter.address
                    && l.block_number >= filter.from_block
                    && filter.to_block.is_none_or(|to| l.block_number <= to)
                    && filter
                        .event
                        .is_none_or(|e| l.topics.first().is_some_and(|t| *t == e))
            })
            .cloned()
            .collect())
    }

    fn balance(&self, who: Address) -> Result<U256> {
        let s = self.lock()?;
        Ok(s.db
            .basic_ref(who)
            .map_err(|e| Error::Backend(e.to_string()))?
            .map_or(U256::ZERO, |a| a.balance))
    }

    fn accounts(&self) -> Vec<Address> {
        self.lock()
            .map(|s| s.accounts.iter().copied().collect())
            .unwrap_or_default()
    }
}

impl DevChain for EmbeddedChain {
    fn advance_time(&self, seconds: u64) -> Result<()> {
        let mut s = self.lock()?;
        s.timestamp += seconds;
        s.number += 1;
        let run = (s.number, s.timestamp);
        s.runs.push(run);
        Ok(())
    }

    fn mine(&self, blocks: u64) -> Result<()> {
        let mut s = self.lock()?;
        if blocks > 0 {
            let run = (s.number + 1, s.timestamp + BLOCK_TIME);
            s.runs.push(run);
        }
        s.number += blocks;
        s.timestamp += blocks * BLOCK_TIME;
        Ok(())
    }

    fn set_balance(&self, who: Address, wei: U256) -> Result<()> {
        let mut s = self.lock()?;
        let info =
            s.db.basic_ref(who)
                .map_err(|e| Error::Backend(e.to_string()))?
                .unwrap_or_default();
        s.db.insert_account_info(
            who,
            AccountInfo {
                balance: wei,
                ..info
            },
        );
        Ok(())
    }
}
